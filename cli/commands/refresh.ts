import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import { describeConnection, requireConnection } from '../connections.js';
import type { Deployment } from '../deployment.js';
import { CliError, type ErrorCode } from '../errors.js';
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
    const guarded = response.outcome === 'declined' && (backoff || response.reason! in GUARDS);
    const json = {
      ...response,
      ...(guarded
        ? {
            guard: {
              name: response.reason,
              liftsAt: response.nextAttemptAt ?? null,
              override: `token-refresher refresh ${name} --force`,
            },
          }
        : {}),
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
  if (!answer.ok) throw new CliError(answer.text, answer.code ?? 'failed');
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
): { ok: boolean; text: string; code?: ErrorCode } {
  const { now } = facts;
  const expiry =
    facts.expiresAt !== undefined ? `access token expires in ${formatExpiresIn(facts.expiresAt, now)}` : '';
  /** `, access token expires in 12m` and ` (access token expires in 12m)`, or nothing. */
  const [comma, paren] = expiry ? [`, ${expiry}`, ` (${expiry})`] : ['', ''];
  const when = whenText(response.nextAttemptAt, now);
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
        code: 'refused',
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
    case 'version_quota':
      return { ok: true, text: `not refreshed: ${guardText(name, response.reason, when)}${paren}` };
    case 'backoff':
      return { ok: false, code: 'refused', text: backoffText(name, when, facts.row) };
    case 'not_active':
      return {
        ok: false,
        code: 'refused',
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
    `the guard (backoff) lifts ${when ?? 'after its backoff'}. ` +
    `Override: token-refresher refresh ${name} --force (a forced refresh is not held back by the backoff): ` +
    `fix the cause first, or it fails again and waits longer (token-refresher status shows "${name}")`
  );
}

/** The guards that hold a refresh back, by the reason the refresher names them with. */
export const GUARDS = {
  version_quota: {
    guard: 'the version floor',
    why: 'changed less than the version floor ago (each refresh or recorded error is a new secret version; the floor keeps them within the version quota)',
    cost: 'spends one more secret version inside the floor',
  },
  min_interval: {
    guard: 'the minimum interval',
    why: 'was refreshed less than the minimum interval ago',
    cost: 'rotates the refresh token and spends a secret version',
  },
} as const;

/**
 * A guard's refusal in words: the guard by name, why it holds, when it lifts, and the
 * command that overrides it. `when` is `in 12m (ISO)`, or undefined when unknown.
 */
export function guardText(name: string, reason: keyof typeof GUARDS, when: string | undefined): string {
  const guard = GUARDS[reason];
  return (
    `${guard.guard} (${reason}) holds "${name}" back: it ${guard.why}; ` +
    `the guard lifts ${when ?? 'at its next scheduled run'}. ` +
    `Override: token-refresher refresh ${name} --force (${guard.cost})`
  );
}

/** `in 12m (2026-…Z)`, `now (…)`, or undefined. */
export function whenText(nextAttemptAt: string | undefined, now: number): string | undefined {
  const at = nextAttemptAt ? Date.parse(nextAttemptAt) : undefined;
  return at !== undefined
    ? `${at > now ? `in ${formatDuration(at - now)}` : 'now'} (${nextAttemptAt})`
    : undefined;
}
