import type { EngineSettings } from '../contract/settings.js';
import { type ConnectionStatus, isConnectionStatus } from './connection-status.js';
import { decideDue } from './due.js';
import type { SecretSummary } from './ports.js';
import type { ConnectionRecord } from './record.js';

/**
 * The scheduling hint: what a run needs to skip a connection without reading its record,
 * kept in the connection's lease item and written by the lease release the write protocol
 * makes anyway (no call of its own). A run reads `ListSecrets` (discovery, and each
 * secret's AWSCURRENT version) and the lease store's hint pages, so an idle run reads no
 * secret value. A hint names the version it describes; when that is not AWSCURRENT the
 * hint is stale and the record is read. A stale or missing hint costs one read, never a
 * missed refresh. The record stays the source of truth. (Hints used to be a secret tag,
 * which anyone allowed to tag could forge; such tags are ignored.)
 *
 * Format:
 * `1/<versionId>/<status>/<expiresAt epoch s or ->/<refreshedAt epoch s or ->`, followed,
 * when either is known, by `/<notBefore epoch s or ->/<refreshTokenExpiresAt epoch s or ->`:
 * the failure backoff's next attempt (core/backoff.ts) and the refresh token's expiry (for
 * the re-authentication metrics of runs that read nothing).
 */
export interface Hint {
  versionId: string;
  status: ConnectionStatus;
  expiresAt?: number;
  refreshedAt?: number;
  /** Epoch ms before which the connection is not attempted (a failure backoff). */
  notBefore?: number;
  /** Epoch ms the refresh token expires. */
  refreshTokenExpiresAt?: number;
}

export function encodeHint(
  versionId: string,
  record: ConnectionRecord,
  extra: { notBefore?: number } = {},
): string {
  const seconds = (iso: string | undefined) => (iso ? String(Math.floor(Date.parse(iso) / 1000)) : '-');
  const parts = ['1', versionId, record.status, seconds(record.expiresAt), seconds(record.refreshedAt)];
  if (extra.notBefore !== undefined || record.refreshTokenExpiresAt !== undefined) {
    // Rounded up: a backoff is never cut short by the rounding.
    parts.push(extra.notBefore !== undefined ? String(Math.ceil(extra.notBefore / 1000)) : '-');
    parts.push(seconds(record.refreshTokenExpiresAt));
  }
  return parts.join('/');
}

export function decodeHint(value: string | undefined): Hint | undefined {
  if (!value) return undefined;
  const parts = value.split('/');
  if ((parts.length !== 5 && parts.length !== 7) || parts[0] !== '1') return undefined;
  const [, versionId, status, expiresAt, refreshedAt, notBefore, refreshTokenExpiresAt] = parts as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  if (!versionId || !isConnectionStatus(status)) return undefined;
  const millis = (s: string | undefined) =>
    s !== undefined && /^\d+$/.test(s) ? Number(s) * 1000 : undefined;
  const hint: Hint = {
    versionId,
    status,
    expiresAt: millis(expiresAt),
    refreshedAt: millis(refreshedAt),
  };
  const after = millis(notBefore);
  if (after !== undefined) hint.notBefore = after;
  const rtExpiry = millis(refreshTokenExpiresAt);
  if (rtExpiry !== undefined) hint.refreshTokenExpiresAt = rtExpiry;
  return hint;
}

/** A listed secret with the hint the lease store holds for its connection, if any. */
export interface HintedSummary extends SecretSummary {
  hint?: string;
}

/** The hint when it still describes the AWSCURRENT version, else undefined. */
export function currentHint(summary: HintedSummary): Hint | undefined {
  const hint = decodeHint(summary.hint);
  if (!hint || !summary.currentVersionId || hint.versionId !== summary.currentVersionId) return undefined;
  return hint;
}

/**
 * Whether a run must read this connection's record. Hint times are rounded down to whole
 * seconds, which only makes a connection look due a little earlier; a backoff's next
 * attempt is rounded up, which only keeps it waiting a second longer.
 */
export function mustRead(summary: HintedSummary, now: number, settings: EngineSettings): boolean {
  const hint = currentHint(summary);
  if (!hint) return true;
  if (hint.notBefore !== undefined && now < hint.notBefore) return false;
  // A hint carries exactly the facts a due decision rests on.
  return decideDue(hint, now, settings).due;
}
