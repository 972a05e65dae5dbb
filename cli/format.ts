import Table from 'cli-table3';
import type { OutputStream } from './io.js';

/** `42s`, `12m`, `3h 5m`, `2d 4h`: a short, human duration. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  if (seconds < 90) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Time until `at` ("in 12m", "expired 3m ago"), or "-" without one. */
export function formatExpiresIn(at: number | undefined, now: number): string {
  if (at === undefined) return '-';
  return at > now ? formatDuration(at - now) : `expired ${formatDuration(now - at)} ago`;
}

/** Time since `at` ("5m ago"), or "never". */
export function formatAgo(at: number | undefined, now: number): string {
  if (at === undefined) return 'never';
  return `${formatDuration(Math.max(0, now - at))} ago`;
}

/** A table for `stream`: colours and Unicode borders only on a terminal. */
export function newTable(head: string[], stream: OutputStream): Table.Table {
  const fancy = Boolean(stream.isTTY) && !process.env.NO_COLOR && !process.env.CI;
  // No rule between body rows: compact, and one line per connection for grep.
  const noRowRules = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
  return new Table({
    head,
    style: fancy ? { head: ['cyan'] } : { head: [], border: [] },
    ...(fancy
      ? { chars: noRowRules }
      : {
          chars: {
            top: '-',
            'top-mid': '+',
            'top-left': '+',
            'top-right': '+',
            bottom: '-',
            'bottom-mid': '+',
            'bottom-left': '+',
            'bottom-right': '+',
            left: '|',
            right: '|',
            middle: '|',
            ...noRowRules,
          },
        }),
  });
}

/** The first 8 characters of a version id: enough to tell versions apart. */
export function shortVersion(versionId: string | undefined): string {
  return versionId ? versionId.slice(0, 8) : '-';
}
