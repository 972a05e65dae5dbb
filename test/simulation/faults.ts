import type { Prng } from './prng.js';

/**
 * Every kind of fault the simulator injects. `scope` says whom a fault makes "unhealthy"
 * for invariants 2 and 4 (see README.md in this folder): one connection, one provider's
 * connections, everything, or nobody (benign stress such as duplicate deliveries, which
 * the engine must absorb without any visible effect).
 */
export const FAULT_KINDS = {
  // The token endpoint, per request.
  provider_5xx: 'provider answered 5xx (not processed)',
  provider_429: 'provider answered 429 with Retry-After (not processed)',
  provider_refused: 'connection refused (request provably not sent)',
  provider_timeout: 'provider processed, answer slower than the request timeout',
  provider_slow: 'provider slow (answer within the timeout)',
  provider_answer_lost: 'provider processed, answer lost in transit',
  provider_request_lost: 'request lost in transit (never processed; the engine sees a timeout)',
  provider_malformed_rotated: 'malformed 2xx after the provider rotated',
  provider_malformed_unprocessed: 'malformed 2xx from a proxy (not processed)',
  provider_unusable_rotated:
    'unusable 2xx read in full after rotating (bad expires_in; the new refresh token salvaged)',
  grant_revoked: 'grant revoked at the provider (user or admin)',
  access_token_revoked: 'access token revoked early (consumer sees 401)',
  // Episodes (windows of minutes).
  provider_outage: 'provider outage episode (5xx)',
  provider_brownout: 'provider brownout episode (slow, timeouts)',
  provider_rate_limited: 'provider rate-limit episode (429 + Retry-After)',
  sm_outage: 'Secrets Manager outage episode',
  sm_throttle_storm: 'Secrets Manager write-throttling episode',
  kms_throttle_storm: 'KMS throttling episode',
  ddb_outage: 'DynamoDB outage episode',
  // AWS, per call.
  sm_error: 'Secrets Manager error (InternalServiceError)',
  sm_answer_lost: 'Secrets Manager answer lost after the call took effect',
  sm_write_delayed: 'PutSecretValue held in flight 30 s-15 min',
  sm_throttled: 'Secrets Manager throttled at 50 writes/s (after SDK retries)',
  sm_version_quota: 'Secrets Manager version quota reached (LimitExceededException)',
  sm_stale_read: 'GetSecretValue(AWSCURRENT) served the replaced version (label not yet moved)',
  sm_stale_episode: 'AWSCURRENT label lagging 1-15 min after a PutSecretValue (no effect until a read)',
  sm_secret_unwritable: 'one secret refused PutSecretValue for 2-8 min (per-secret outage)',
  sm_put_refused_after_unsaved: 'first PutSecretValue after an unsaved marker: 4-8 min write outage',
  // Records edited by an insider with PutSecretValue (per connection).
  record_endpoint_unlisted: 'record edited to name an unlisted token endpoint (credentials bound to it)',
  record_endpoint_unbound: "record edited to name another provider's endpoint (credentials bound elsewhere)",
  kms_error: 'KMS error or throttling',
  ddb_error: 'DynamoDB error (before taking effect)',
  ddb_answer_lost: 'DynamoDB answer lost after the write took effect',
  ddb_rescue_refused: 'lease table refused every rescue write of one invocation (throttled item)',
  // Processes and time.
  crash: 'process died between two steps',
  lambda_timeout: 'Lambda timeout killed an invocation',
  clock_skew: 'invocation clock skewed (up to ±20 s)',
  clock_jump: 'clock jumped during an invocation (up to ±20 s)',
  schedule_delay: 'scheduled run delayed 1-4 min',
  schedule_dropped: 'scheduled run dropped (max event age)',
  // Benign stress: must have no visible effect.
  duplicate_delivery: 'duplicate (overlapping) scheduled invocation',
  operator_run: 'operator run overlapping the schedule',
} as const;

export type FaultKind = keyof typeof FAULT_KINDS;

export type FaultScope =
  | { connection: string }
  | { provider: string }
  | { global: true }
  /** Counted, but no one's health is affected. */
  | { benign: true };

/** Per-call probabilities and per-day rates. `--faults <x>` multiplies all of them. */
export interface FaultRates {
  provider5xx: number;
  provider429: number;
  providerRefused: number;
  providerTimeout: number;
  providerSlow: number;
  providerAnswerLost: number;
  providerRequestLost: number;
  providerMalformedRotated: number;
  providerMalformedUnprocessed: number;
  /** A 2xx read in full whose `expires_in` is unusable, carrying the new refresh token. */
  providerUnusableRotated: number;
  smError: number;
  smAnswerLost: number;
  smWriteDelayed: number;
  /**
   * Per GetSecretValue(AWSCURRENT) inside a secret's lag window: the read returns the version
   * the last PutSecretValue replaced. Every PutSecretValue that moves AWSCURRENT opens a
   * window of 0-2 s; `smStaleEpisode` of them (per put) open one of 1-15 min instead.
   */
  smStaleRead: number;
  smStaleEpisode: number;
  /** Per PutSecretValue: the secret refuses writes for 2-8 min (InternalServiceError). */
  smSecretUnwritable: number;
  /**
   * Per unsaved spent-token marker: the first PutSecretValue of that connection afterwards
   * (the refusing run's status commit) opens a 4-8 min write outage of the secret.
   */
  smPutRefusedAfterUnsaved: number;
  kmsError: number;
  ddbError: number;
  ddbAnswerLost: number;
  /** Per rescue (one invocation, one connection): every rescue write is refused (throttled). */
  ddbRescueRefused: number;
  /** Per step boundary (before or after each port call) of an invocation. */
  crashPerBoundary: number;
  /** Per connection per day. */
  grantRevokedPerDay: number;
  /**
   * Per connection per day: an insider rewrites the record's token endpoint (half of them to
   * an unlisted origin, half to another provider's); the operator fixes it after the alarm.
   */
  recordEndpointEditedPerDay: number;
  accessTokenRevokedPerDay: number;
  /** Per schedule tick. */
  scheduleDelay: number;
  scheduleDrop: number;
  duplicateDelivery: number;
  operatorRun: number;
  /** Per invocation. */
  clockSkew: number;
  clockJump: number;
  /** Episodes per simulated day, over all kinds. */
  episodesPerDay: number;
}

export const DEFAULT_RATES: FaultRates = {
  provider5xx: 0.01,
  provider429: 0.005,
  providerRefused: 0.004,
  providerTimeout: 0.003,
  providerSlow: 0.01,
  providerAnswerLost: 0.002,
  providerRequestLost: 0.002,
  providerMalformedRotated: 0.001,
  providerMalformedUnprocessed: 0.002,
  providerUnusableRotated: 0.0005,
  smError: 0.002,
  smAnswerLost: 0.002,
  smWriteDelayed: 0.0005,
  smStaleRead: 0.3,
  smStaleEpisode: 0.002,
  smSecretUnwritable: 0.001,
  smPutRefusedAfterUnsaved: 0.5,
  kmsError: 0.002,
  ddbError: 0.001,
  ddbAnswerLost: 0.001,
  ddbRescueRefused: 0.3,
  crashPerBoundary: 0.00005,
  grantRevokedPerDay: 0.003,
  recordEndpointEditedPerDay: 0.01,
  accessTokenRevokedPerDay: 0.03,
  scheduleDelay: 0.01,
  scheduleDrop: 0.003,
  duplicateDelivery: 0.03,
  operatorRun: 0.003,
  clockSkew: 0.03,
  clockJump: 0.01,
  episodesPerDay: 1.5,
};

export function scaleRates(rates: FaultRates, factor: number): FaultRates {
  const scaled = { ...rates };
  for (const key of Object.keys(scaled) as (keyof FaultRates)[]) scaled[key] = rates[key] * factor;
  return scaled;
}

/** What the engine-facing side of an episode does while it lasts. */
export interface Episode {
  kind: Extract<
    FaultKind,
    | 'provider_outage'
    | 'provider_brownout'
    | 'provider_rate_limited'
    | 'sm_outage'
    | 'sm_throttle_storm'
    | 'kms_throttle_storm'
    | 'ddb_outage'
  >;
  /** For provider episodes. */
  provider?: string;
  start: number;
  end: number;
}

/**
 * Fault bookkeeping: counts by kind, and the last time each connection, provider or
 * everything was affected (what "healthy" is computed from).
 */
export class Faults {
  readonly counts = new Map<FaultKind, number>();
  readonly lastByConnection = new Map<string, number>();
  readonly lastByProvider = new Map<string, number>();
  lastGlobal = Number.NEGATIVE_INFINITY;
  episodes: Episode[] = [];

  constructor(
    readonly rates: FaultRates,
    readonly rng: Prng,
  ) {}

  /** Records an injected fault at virtual time `now`. */
  note(kind: FaultKind, scope: FaultScope, now: number): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.touch(scope, now);
  }

  /** Marks a scope as affected at `now` without counting a new fault (an ongoing episode). */
  touch(scope: FaultScope, now: number): void {
    if ('connection' in scope) this.lastByConnection.set(scope.connection, now);
    else if ('provider' in scope) this.lastByProvider.set(scope.provider, now);
    else if ('global' in scope) this.lastGlobal = Math.max(this.lastGlobal, now);
  }

  /** The latest time anything that affects this connection happened (−∞ if never). */
  lastAffecting(connection: string, provider: string): number {
    return Math.max(
      this.lastGlobal,
      this.lastByConnection.get(connection) ?? Number.NEGATIVE_INFINITY,
      this.lastByProvider.get(provider) ?? Number.NEGATIVE_INFINITY,
    );
  }

  /** Episodes in progress (maintained by the simulation's start and end events). */
  readonly current: Episode[] = [];

  active(kind: Episode['kind'], now: number, provider?: string): Episode | undefined {
    for (const episode of this.current) {
      if (episode.kind !== kind || now < episode.start || now >= episode.end) continue;
      if (provider !== undefined && episode.provider !== undefined && episode.provider !== provider) continue;
      return episode;
    }
    return undefined;
  }
}
