import { type CompositeAlarm, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  type SecretVersionsListEntry,
} from '@aws-sdk/client-secrets-manager';
import { createLogUpdate } from 'log-update';
import pLimit from 'p-limit';
import { DynamoDbLeaseStore } from '../../lambda/adapters/dynamodb-lease-store.js';
import { SecretsManagerStore } from '../../lambda/adapters/secrets-manager-store.js';
import { connectionSecretName } from '../../lambda/contract/names.js';
import { activeBackoff } from '../../lambda/core/backoff.js';
import { describeError } from '../../lambda/core/errors.js';
import type { LeaseState } from '../../lambda/core/ports.js';
import { type ConnectionRecord, parseRecord } from '../../lambda/core/record.js';
import { type VersionAccess, versionAccess } from '../../lambda/core/version-access.js';
import type { Deployment } from '../deployment.js';
import { formatAgo, formatExpiresIn, newTable } from '../format.js';
import type { CliIo } from '../io.js';

/** One connection as `status` shows it. Built field by field: a record's tokens never get in. */
export interface ConnectionStatusRow {
  connection: string;
  /** The record's status, or `invalid` when the record cannot be read. */
  status: string;
  expiresAt: string | null;
  expiresInSeconds: number | null;
  lastRefreshAt: string | null;
  /** Refreshes committed in the last 24 hours (a connect counts as one): distinct `refreshedAt` among the day's versions. */
  refreshes24h: number | null;
  /**
   * Secret versions created in the last 24 hours: refreshes, plus placeholders, recorded
   * errors and operator changes (disable, enable). Secrets Manager keeps about
   * {@link VERSION_QUOTA} and deletes none younger than a day: this is what the version floor guards.
   */
  versions24h: number | null;
  versionQuota: number;
  /** What the operator does next, when the connection waits for them (e.g. a connect never finished). */
  action: string | null;
  /** The class of the last error: the record's `lastError`, or a lease outcome that needs attention. */
  lastErrorClass: string | null;
  lastErrorAt: string | null;
  lastErrorMessage: string | null;
  /** When the refresh token expires (re-authentication needed after), when the provider or its profile tells. */
  refreshTokenExpiresAt: string | null;
  /** Days until then (negative once past); null when unknown. */
  reauthDueInDays: number | null;
  lease: {
    held: boolean;
    outcome: string | null;
    rescuePending: boolean;
    /**
     * What the lease item says of the current version's refresh token, as the refresher
     * will act on it (lambda/core/version-access.ts): `usable`, `maybe_consumed` (an answer
     * was lost), `interrupted` (the sender died), `spent` (answered, the set not stored),
     * `rescue_pending`, or `stale` (the read version was already replaced).
     */
    refreshToken: RefreshTokenView;
    /** The failure backoff (lambda/core/backoff.ts), while it holds for the current version. */
    backoff: { failureStreak: number; nextAttemptAt: string } | null;
  } | null;
}

type RefreshTokenView = 'usable' | 'maybe_consumed' | 'interrupted' | 'spent' | 'rescue_pending' | 'stale';

function refreshTokenView(access: VersionAccess): RefreshTokenView {
  switch (access.kind) {
    case 'free':
      return 'usable';
    case 'uncertain':
      return access.interrupted ? 'interrupted' : 'maybe_consumed';
    case 'spent':
      return 'spent';
    case 'restore':
      return 'rescue_pending';
    case 'stale':
      return 'stale';
  }
}

export interface AlarmRow {
  name: string;
  state: string;
  since: string | null;
  reason: string | null;
}

export interface StatusReport {
  stack: string;
  region: string;
  connections: ConnectionStatusRow[];
  alarms: AlarmRow[];
  alarmPrefix: string;
  alarmsError?: string;
}

/** What the last error column says for a refresh token that needs attention. */
const ATTENTION: Partial<Record<RefreshTokenView, string>> = {
  maybe_consumed: 'ambiguous (lease)',
  interrupted: 'interrupted (lease)',
  spent: 'commit_failed (refresh token spent)',
};

export async function statusCommand(
  deployment: Deployment,
  io: CliIo,
  options: { json?: boolean; watch?: number | true },
): Promise<void> {
  await deployment.checkEnvironment();
  if (options.watch === undefined) {
    const report = await collectStatus(deployment);
    io.stdout.write(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, io, Date.now()),
    );
    return;
  }
  await watchStatus(deployment, io, options.watch === true ? 5 : options.watch, Boolean(options.json));
}

/**
 * `status --watch`: the table redrawn in place every `seconds` (on a terminal; elsewhere
 * one table after another), or one JSON document per line with `--json`, until Ctrl-C.
 */
async function watchStatus(deployment: Deployment, io: CliIo, seconds: number, json: boolean): Promise<void> {
  const stopped = new AbortController();
  const onSignal = () => stopped.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const redraw = io.stdout.isTTY && !json ? createLogUpdate(io.stdout as NodeJS.WriteStream) : undefined;
  try {
    while (!stopped.signal.aborted) {
      const report = await collectStatus(deployment);
      const now = Date.now();
      if (json) io.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        const footer = `Every ${seconds} s, at ${new Date(now).toISOString().slice(11, 19)} UTC (Ctrl-C to stop)`;
        const text = `${renderStatus(report, io, now)}${footer}`;
        if (redraw) redraw(text);
        else io.stdout.write(`${text}\n\n`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        stopped.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  } finally {
    redraw?.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function collectStatus(deployment: Deployment, now = Date.now()): Promise<StatusReport> {
  const [prefix, tableName, region] = await Promise.all([
    deployment.value('ConnectionPrefix'),
    deployment.value('LeaseTableName'),
    deployment.regionName(),
  ]);
  const { secretsManager, dynamodb } = deployment.clients;
  const store = new SecretsManagerStore(secretsManager);
  const leases = new DynamoDbLeaseStore({ client: dynamodb, tableName });

  const names: string[] = [];
  for await (const summary of store.list(prefix)) {
    const connection = summary.name.slice(prefix.length);
    if (connection !== '') names.push(connection);
  }
  names.sort();
  const limit = pLimit(8);
  const [connections, alarms] = await Promise.all([
    Promise.all(
      names.map((name) => limit(() => connectionRow(name, prefix, store, leases, deployment, now))),
    ),
    readAlarms(deployment),
  ]);
  return {
    stack: deployment.stackName,
    region,
    connections,
    alarms: alarms.rows,
    alarmPrefix: deployment.alarmPrefix,
    ...(alarms.error ? { alarmsError: alarms.error } : {}),
  };
}

/** One connection's row, as `status` shows it (for `refresh`, which explains a backoff with it). */
export async function connectionStatus(
  deployment: Deployment,
  connection: string,
  now = Date.now(),
): Promise<ConnectionStatusRow> {
  const [prefix, tableName] = await Promise.all([
    deployment.value('ConnectionPrefix'),
    deployment.value('LeaseTableName'),
  ]);
  const { secretsManager, dynamodb } = deployment.clients;
  return connectionRow(
    connection,
    prefix,
    new SecretsManagerStore(secretsManager),
    new DynamoDbLeaseStore({ client: dynamodb, tableName }),
    deployment,
    now,
  );
}

async function connectionRow(
  connection: string,
  prefix: string,
  store: SecretsManagerStore,
  leases: DynamoDbLeaseStore,
  deployment: Deployment,
  now: number,
): Promise<ConnectionStatusRow> {
  const secretName = connectionSecretName(prefix, connection);
  const [record, lease, versions] = await Promise.all([
    store.getCurrent(secretName).then(
      (current) => {
        try {
          return {
            ok: true as const,
            record: parseRecord(connection, current.value),
            versionId: current.versionId,
          };
        } catch (error) {
          return { ok: false as const, error: describeError(error) };
        }
      },
      (error: unknown) => ({ ok: false as const, error: describeError(error) }),
    ),
    leases.get(connection).catch(() => undefined as LeaseState | undefined),
    listVersions(deployment, secretName).catch(() => undefined),
  ]);
  const dayAgo = now - 24 * 60 * 60 * 1000;
  const today = versions?.filter((v) => v.CreatedDate !== undefined && v.CreatedDate.getTime() >= dayAgo);
  const versions24h = today ? today.length : null;
  const refreshes24h = today
    ? await refreshesAmong(deployment, secretName, today, dayAgo).catch(() => null)
    : null;
  const counts = { refreshes24h, versions24h, versionQuota: VERSION_QUOTA };
  const leaseView = lease
    ? {
        held: lease.outcome === undefined && lease.leaseUntil > now,
        outcome: lease.outcome ?? null,
        rescuePending: lease.rescue !== undefined,
        refreshToken: record.ok
          ? refreshTokenView(versionAccess(lease, record.versionId))
          : ('usable' as const),
        backoff: backoffView(record.ok ? activeBackoff(lease, record.versionId, now) : undefined),
      }
    : null;
  if (!record.ok) {
    return {
      connection,
      status: 'invalid',
      expiresAt: null,
      expiresInSeconds: null,
      lastRefreshAt: null,
      ...counts,
      action: `fix or remove it: token-refresher remove ${connection}`,
      lastErrorClass: 'invalid_record',
      lastErrorAt: null,
      lastErrorMessage: record.error,
      refreshTokenExpiresAt: null,
      reauthDueInDays: null,
      lease: leaseView,
    };
  }
  const r: ConnectionRecord = record.record;
  const expiresAt = r.accessToken && r.expiresAt ? Date.parse(r.expiresAt) : undefined;
  let lastErrorClass = r.lastError?.class ?? null;
  if (leaseView?.rescuePending) lastErrorClass = 'commit_failed (rescue pending)';
  else if (
    leaseView &&
    ATTENTION[leaseView.refreshToken] &&
    (!lastErrorClass || leaseView.refreshToken === 'spent')
  ) {
    lastErrorClass = ATTENTION[leaseView.refreshToken] ?? null;
  }
  // A placeholder never connected (a connect that did not finish, or one the stack created).
  const pending = r.status === 'reauth_required' && r.lastError?.class === 'not_connected' && !r.refreshedAt;
  return {
    connection,
    status: pending ? 'pending' : r.status,
    expiresAt: expiresAt !== undefined ? new Date(expiresAt).toISOString() : null,
    expiresInSeconds: expiresAt !== undefined ? Math.round((expiresAt - now) / 1000) : null,
    lastRefreshAt: r.refreshedAt ?? null,
    ...counts,
    action: pending
      ? `finish it: token-refresher connect ${connection} ...; or remove it: token-refresher remove ${connection} --force-delete`
      : r.status === 'reauth_required'
        ? `reconnect it: token-refresher connect ${connection} ...`
        : r.status === 'disabled'
          ? `token-refresher enable ${connection}`
          : null,
    lastErrorClass,
    lastErrorAt: r.lastError?.at ?? null,
    lastErrorMessage: r.lastError?.message ?? null,
    refreshTokenExpiresAt: r.refreshTokenExpiresAt ?? null,
    reauthDueInDays:
      r.refreshTokenExpiresAt !== undefined
        ? Math.floor(((Date.parse(r.refreshTokenExpiresAt) - now) / 86_400_000) * 10) / 10
        : null,
    lease: leaseView,
  };
}

function backoffView(
  backoff: ReturnType<typeof activeBackoff>,
): { failureStreak: number; nextAttemptAt: string } | null {
  return backoff
    ? { failureStreak: backoff.failureStreak, nextAttemptAt: new Date(backoff.nextAttemptAt).toISOString() }
    : null;
}

/** About how many versions of a secret Secrets Manager keeps (it deletes none younger than a day). */
export const VERSION_QUOTA = 100;

/**
 * Refreshes among a day's versions: each refresh (and a connect) sets a new `refreshedAt`;
 * placeholders, recorded errors and operator changes carry the last one over. Reads only
 * that field of each version's value (never a token).
 */
async function refreshesAmong(
  deployment: Deployment,
  secretId: string,
  versions: SecretVersionsListEntry[],
  since: number,
): Promise<number> {
  const limit = pLimit(4);
  const times = await Promise.all(
    versions.map((version) =>
      limit(async () => {
        if (!version.VersionId) return undefined;
        const { SecretString } = await deployment.clients.secretsManager.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionId: version.VersionId }),
        );
        try {
          const refreshedAt = (JSON.parse(SecretString ?? '{}') as { refreshedAt?: unknown }).refreshedAt;
          return typeof refreshedAt === 'string' ? refreshedAt : undefined;
        } catch {
          return undefined;
        }
      }),
    ),
  );
  return new Set(times.filter((t): t is string => t !== undefined && Date.parse(t) >= since)).size;
}

async function listVersions(deployment: Deployment, secretId: string): Promise<SecretVersionsListEntry[]> {
  const versions: SecretVersionsListEntry[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deployment.clients.secretsManager.send(
      new ListSecretVersionIdsCommand({
        SecretId: secretId,
        IncludeDeprecated: true,
        MaxResults: 100,
        NextToken: nextToken,
      }),
    );
    versions.push(...(page.Versions ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return versions;
}

/** The stack's alarms: every metric and composite alarm whose name starts with the prefix. */
async function readAlarms(deployment: Deployment): Promise<{ rows: AlarmRow[]; error?: string }> {
  const rows: AlarmRow[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await deployment.clients.cloudWatch.send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: deployment.alarmPrefix,
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          NextToken: nextToken,
        }),
      );
      const all: (MetricAlarm | CompositeAlarm)[] = [
        ...(page.MetricAlarms ?? []),
        ...(page.CompositeAlarms ?? []),
      ];
      for (const alarm of all) {
        rows.push({
          name: alarm.AlarmName ?? '?',
          state: alarm.StateValue ?? 'UNKNOWN',
          since: alarm.StateUpdatedTimestamp?.toISOString() ?? null,
          reason: alarm.StateReason ?? null,
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    return { rows, error: describeError(error).split('\n')[0] ?? 'unknown error' };
  }
  rows.sort((a, b) => stateRank(a.state) - stateRank(b.state) || a.name.localeCompare(b.name));
  return { rows };
}

function stateRank(state: string): number {
  return state === 'ALARM' ? 0 : state === 'INSUFFICIENT_DATA' ? 1 : 2;
}

export function renderStatus(report: StatusReport, io: Pick<CliIo, 'stdout'>, now: number): string {
  const out: string[] = [];
  out.push(`Stack ${report.stack} (${report.region})`);
  if (report.connections.length === 0) {
    out.push('No connections yet: token-refresher connect <name> adds one.');
  } else {
    const table = newTable(
      [
        'Connection',
        'Status',
        'Expires in',
        'Last refresh',
        'Refreshes 24h',
        'Versions 24h',
        'Re-auth by',
        'Last error',
      ],
      io.stdout,
    );
    for (const row of report.connections) {
      table.push([
        row.connection,
        row.lease?.held
          ? `${row.status} (refreshing)`
          : row.lease?.backoff
            ? `${row.status} (backoff, next ${formatExpiresIn(Date.parse(row.lease.backoff.nextAttemptAt), now)})`
            : row.status,
        row.expiresAt ? formatExpiresIn(Date.parse(row.expiresAt), now) : '-',
        row.lastRefreshAt ? formatAgo(Date.parse(row.lastRefreshAt), now) : 'never',
        row.refreshes24h === null ? '?' : String(row.refreshes24h),
        row.versions24h === null ? '?' : `${row.versions24h}/${row.versionQuota}`,
        row.refreshTokenExpiresAt && row.reauthDueInDays !== null
          ? `${row.refreshTokenExpiresAt.slice(0, 10)} (${Math.floor(row.reauthDueInDays)} d)`
          : '-',
        row.lastErrorClass ?? '-',
      ]);
    }
    out.push(table.toString());
    const next = report.connections.filter((row) => row.action && row.status !== 'active');
    for (const row of next) out.push(`${row.connection} (${row.status}): ${row.action}`);
  }
  if (report.alarmsError) {
    out.push(`Alarms: could not be read (${report.alarmsError})`);
  } else if (report.alarms.length === 0) {
    out.push(
      `Alarms: none named ${report.alarmPrefix}* (pass --alarm-prefix if the stack names them otherwise)`,
    );
  } else {
    const counts = new Map<string, number>();
    for (const alarm of report.alarms) counts.set(alarm.state, (counts.get(alarm.state) ?? 0) + 1);
    const table = newTable(['Alarm', 'State', 'Since'], io.stdout);
    for (const alarm of report.alarms) {
      table.push([
        alarm.name.startsWith(report.alarmPrefix) ? alarm.name.slice(report.alarmPrefix.length) : alarm.name,
        alarm.state,
        alarm.since ? formatAgo(Date.parse(alarm.since), now) : '-',
      ]);
    }
    out.push(`Alarms (${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}):`, table.toString());
  }
  return `${out.join('\n')}\n`;
}
