import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import { describeConnection, requireConnection } from '../connections.js';
import type { Deployment } from '../deployment.js';
import { CliError } from '../errors.js';
import { formatDuration, formatExpiresIn, shortVersion } from '../format.js';
import { invokerFor, type LocalInvokerOptions } from '../invoker.js';
import type { CliIo } from '../io.js';
import { progress } from '../progress.js';
import { type ConnectionStatusRow, connectionStatus } from './status.js';

/**
 * Asks the refresher to refresh one connection now if it is due (or whatever its state
 * with `--force`). A forced refresh rotates the refresh token and spends a secret version.
 *
 * Exit status 0 when the connection was refreshed, changed meanwhile, or was declined
 * because it needs no refresh yet (`fresh`, `min_interval`, `version_quota`); 1 when the
 * refresh failed, or was declined because the connection cannot be refreshed now
 * (`backoff`, `not_active`, `no_time`, in progress). `--json` prints the refresher's answer
 * (plus `expiresAt`, and for a backoff the record's last error and the failure streak)
 * on stdout either way.
 */
export async function refreshCommand(
  name: string,
  options: { force?: boolean; json?: boolean },
  deployment: Deployment,
  io: CliIo,
  invokerOptions: LocalInvokerOptions = {},
): Promise<void> {
  await deployment.checkEnvironment();
  await requireConnection(deployment, name);
  const invoker = await invokerFor(deployment, io.stderr, invokerOptions);
  const spinner = options.json ? undefined : progress(io.stderr, `Refreshing "${name}"…`);
  let response: OnDemandResponse;
  try {
    response = (await invoker.invoke({
      action: 'refresh',
      connection: name,
      ...(options.force ? { force: true } : {}),
    })) as OnDemandResponse;
  } finally {
    spinner?.stop();
  }
  const now = Date.now();
  const expiresAt = (await describeConnection(deployment, name))?.hint?.expiresAt;
  const backoff = response.outcome === 'declined' && response.reason === 'backoff';
  const row = backoff ? await connectionStatus(deployment, name, now).catch(() => undefined) : undefined;
  const answer = explain(name, response, { now, expiresAt, row });
  if (options.json) {
    const json = {
      ...response,
      ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
      ...(backoff
        ? {
            failureStreak: row?.lease?.backoff?.failureStreak ?? null,
            lastError: row?.lastErrorClass
              ? { class: row.lastErrorClass, message: row.lastErrorMessage, at: row.lastErrorAt }
              : null,
          }
        : {}),
    };
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else if (answer.ok) {
    io.stdout.write(`${answer.text}\n`);
  }
  if (!answer.ok) throw new CliError(answer.text);
}

/** The refresher's answer in words: what happened, when it can happen, what to do. */
function explain(
  name: string,
  response: OnDemandResponse,
  facts: {
    now: number;
    expiresAt?: number;
    row?: ConnectionStatusRow;
  },
): { ok: boolean; text: string } {
  const { now } = facts;
  const expiry =
    facts.expiresAt !== undefined ? `access token expires in ${formatExpiresIn(facts.expiresAt, now)}` : '';
  /** `, access token expires in 12m` and ` (access token expires in 12m)`, or nothing. */
  const [comma, paren] = expiry ? [`, ${expiry}`, ` (${expiry})`] : ['', ''];
  const at = response.nextAttemptAt ? Date.parse(response.nextAttemptAt) : undefined;
  const when =
    at !== undefined
      ? `${at > now ? `in ${formatDuration(at - now)}` : 'now'} (${response.nextAttemptAt})`
      : undefined;
  switch (response.outcome) {
    case 'refreshed':
      return {
        ok: true,
        text: `refreshed "${name}": version ${shortVersion(response.versionId)}${comma}`,
      };
    case 'current':
      return {
        ok: true,
        text: `"${name}" changed meanwhile: version ${shortVersion(response.versionId)}${comma}`,
      };
    case 'in_progress':
      return {
        ok: false,
        text: `"${name}" is being refreshed by another invocation right now; check again shortly`,
      };
    case 'failed':
      return {
        ok: false,
        text: `refreshing "${name}" failed (${response.failureClass ?? 'unknown'}): ${response.message ?? 'no detail'}`,
      };
    case 'declined':
      break;
  }
  switch (response.reason) {
    case 'fresh':
      return {
        ok: true,
        text: `not refreshed: it is not due${paren}; pass --force to refresh now`,
      };
    case 'min_interval':
      return {
        ok: true,
        text:
          `not refreshed: it was refreshed less than the minimum interval ago${paren}` +
          `${when ? `; it may refresh again ${when}` : ''}; pass --force to refresh now`,
      };
    case 'version_quota':
      return {
        ok: true,
        text:
          `not refreshed: "${name}" changed less than the version floor ago (each refresh or recorded error ` +
          `is a new secret version; the floor keeps them within the version quota)` +
          `${when ? `; it can refresh again ${when}` : ''}${paren}. --force refreshes now anyway, ` +
          'spending one more version inside the floor',
      };
    case 'backoff':
      return { ok: false, text: backoffText(name, when, facts.row) };
    case 'not_active':
      return {
        ok: false,
        text:
          response.recordStatus === 'disabled'
            ? `"${name}" is disabled: token-refresher enable ${name}`
            : `"${name}" needs re-authentication: token-refresher connect ${name}`,
      };
    case 'no_time':
      return {
        ok: false,
        text: `the refresher ran out of invocation time before it could refresh "${name}" safely; nothing was sent: try again`,
      };
    default:
      return {
        ok: false,
        text: `the refresher declined to refresh "${name}" (${response.reason ?? 'no reason'})`,
      };
  }
}

/**
 * A backoff: the connection's refreshes keep failing, so the refresher waits before the
 * next request (lambda/core/backoff.ts). An operator's `--force` is not held back by it
 * (the engine lets a forced refresh through at once), so the advice is to fix the cause first.
 */
function backoffText(name: string, when: string | undefined, row: ConnectionStatusRow | undefined): string {
  const streak = row?.lease?.backoff?.failureStreak;
  const runs =
    streak !== undefined
      ? `its last ${streak === 1 ? 'run' : `${streak} runs`} failed`
      : 'its refreshes keep failing';
  const why = row?.lastErrorClass
    ? `last error: ${row.lastErrorClass}: ${row.lastErrorMessage ?? ''}`.trimEnd()
    : 'the record holds no error yet (a transient failure is written to it once it lasts 3 runs; the refresher log has each one)';
  return (
    `not refreshed: "${name}" is backing off because ${runs} (${why}); ` +
    `the refresher tries again ${when ?? 'after its backoff'}. ` +
    '--force sends a request now anyway (a forced refresh is not held back by the backoff): ' +
    `fix the cause first, or it fails again and waits longer (token-refresher status shows "${name}")`
  );
}
