import type { EngineSettings } from '../contract/settings.js';
import type { ConnectionStatus } from './connection-status.js';
import type { ConnectionRecord } from './record.js';

export type DueDecision =
  | { due: true; reason: 'forced' | 'on_demand' | 'expired' | 'expiring' | 'max_age' | 'no_access_token' }
  | {
      due: false;
      reason: 'not_active' | 'fresh' | 'min_interval' | 'version_quota';
      /** With `version_quota` and `min_interval`: epoch ms the guard ends (a refresh is allowed again). */
      until?: number;
    };

/** The facts a due decision rests on: from a record, or from a scheduling hint. */
export interface DueFacts {
  status: ConnectionStatus;
  /** Epoch ms the access token expires; absent when there is no usable access token. */
  expiresAt?: number;
  /** Epoch ms of the last refresh; absent when never refreshed. */
  refreshedAt?: number;
  /**
   * Epoch ms of the last status or last-error commit (the record's `lastError.at` while it
   * is `active`): the version floor counts it like a refresh, so a flapping error cannot
   * alternate with refreshes faster than the floor. Absent in hints (they only make a
   * connection look due sooner, which costs a read).
   */
  lastErrorAt?: number;
}

/** A record's due facts. */
export function dueFactsOf(
  record: Pick<ConnectionRecord, 'status' | 'expiresAt' | 'refreshedAt' | 'accessToken' | 'lastError'>,
): DueFacts {
  return {
    status: record.status,
    ...(record.accessToken !== undefined && record.expiresAt
      ? { expiresAt: Date.parse(record.expiresAt) }
      : {}),
    ...(record.refreshedAt ? { refreshedAt: Date.parse(record.refreshedAt) } : {}),
    ...(record.lastError ? { lastErrorAt: Date.parse(record.lastError.at) } : {}),
  };
}

/**
 * When the engine last committed a version of this record, as far as the record tells:
 * the later of its last refresh and its last status or last-error commit. Undefined when
 * it tells neither (a record just connected by an import).
 */
export function lastCommitAtOf(
  record: Pick<ConnectionRecord, 'refreshedAt' | 'lastError'>,
): number | undefined {
  const times = [record.refreshedAt, record.lastError?.at]
    .map((iso) => (iso ? Date.parse(iso) : Number.NaN))
    .filter((ms) => Number.isFinite(ms));
  return times.length > 0 ? Math.max(...times) : undefined;
}

/**
 * Decides whether a connection needs a refresh now (docs/refresh-transaction.md, steps 3-4).
 * `on_demand` is a consumer's request after a 401 on the current version: due whatever the
 * expiry, within the minimum interval. `forced` is an operator's. Pure: the caller passes the time.
 */
export function decideDue(
  facts: DueFacts,
  now: number,
  settings: Pick<EngineSettings, 'refreshWindowMs' | 'minIntervalMs' | 'maxAgeMs' | 'versionFloorMs'>,
  trigger: 'schedule' | 'on_demand' | 'forced' = 'schedule',
): DueDecision {
  if (facts.status !== 'active') return { due: false, reason: 'not_active' };
  if (trigger === 'forced') return { due: true, reason: 'forced' };

  const { expiresAt, refreshedAt, lastErrorAt } = facts;
  // A status or last-error commit counts against the floor like a refresh (the version quota).
  if (lastErrorAt !== undefined && now - lastErrorAt < settings.versionFloorMs) {
    return { due: false, reason: 'version_quota', until: lastErrorAt + settings.versionFloorMs };
  }
  if (expiresAt === undefined) return { due: true, reason: 'no_access_token' };
  const sinceRefresh = refreshedAt === undefined ? Number.POSITIVE_INFINITY : now - refreshedAt;
  if (expiresAt <= now) {
    // Even an expired token waits for the floor: a version per run would exhaust the quota.
    if (sinceRefresh < settings.versionFloorMs) {
      return { due: false, reason: 'version_quota', until: now - sinceRefresh + settings.versionFloorMs };
    }
    return { due: true, reason: 'expired' };
  }
  if (trigger === 'on_demand') {
    // A consumer saw a 401 on this version: refresh now, but never faster than the guard allows.
    if (sinceRefresh < settings.minIntervalMs) {
      return { due: false, reason: 'min_interval', until: now - sinceRefresh + settings.minIntervalMs };
    }
    return { due: true, reason: 'on_demand' };
  }
  const expiring = expiresAt - now <= settings.refreshWindowMs;
  const tooOld = sinceRefresh >= settings.maxAgeMs;
  if (!expiring && !tooOld) return { due: false, reason: 'fresh' };

  // The guard: a token still valid is not refreshed again within the minimum interval.
  if (sinceRefresh < settings.minIntervalMs) {
    return { due: false, reason: 'min_interval', until: now - sinceRefresh + settings.minIntervalMs };
  }
  return { due: true, reason: expiring ? 'expiring' : 'max_age' };
}
