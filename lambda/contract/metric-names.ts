/**
 * Every metric the engine emits (namespace set by the metrics adapter). Alarms, the
 * dashboard and the runbook refer to these names.
 */
export const MetricName = {
  /** A connection got a new token set committed. */
  RefreshSucceeded: 'RefreshSucceeded',
  /** A refresh failed: emitted without dimensions (the total) and with `FailureClass`. */
  RefreshFailed: 'RefreshFailed',
  /** A connection moved to `reauth_required`. */
  ReauthRequired: 'ReauthRequired',
  /** A new token set could not be committed after the provider rotated (critical). */
  CommitFailed: 'CommitFailed',
  /** A token set that could not be committed was stored for restore. */
  RescueStored: 'RescueStored',
  /** A rescued token set was committed by a later run. */
  RescueRestored: 'RescueRestored',
  /** A rescued token set no longer matches the current version; an operator must look. */
  RescueStale: 'RescueStale',
  /**
   * A run found AWSCURRENT's refresh token spent (answered, its token set neither committed
   * nor rescued) and sent nothing; the connection needs an operator.
   */
  SpentTokenRefused: 'SpentTokenRefused',
  /** A token request was sent but its answer was lost. */
  AmbiguousRefresh: 'AmbiguousRefresh',
  /** A previous invocation died after sending a refresh token and before recording the outcome. */
  InterruptedRefresh: 'InterruptedRefresh',
  /** Token request round trip. */
  RefreshLatency: 'RefreshLatency',
  /** Connections in `reauth_required` seen by a run (a gauge: stays up until they are reconnected). */
  ConnectionsNeedingReauth: 'ConnectionsNeedingReauth',
  /**
   * The smallest seconds until an active connection's AWSCURRENT access token expires, over
   * a run (what the near-expiry alarm watches). Metrics carry no per-connection dimension
   * (each would be a custom metric billed per month): which connection it is, is in the
   * run's `CONNECTION_STATE_LOG` lines.
   */
  MinSecondsToExpiry: 'MinSecondsToExpiry',
  /** Active connections whose access token expires within `nearExpiryMs` (a gauge, every run). */
  ConnectionsNearExpiry: 'ConnectionsNearExpiry',
  /**
   * The smallest days until an active connection's refresh token expires (re-authentication
   * needed after: from the provider's answer or its documented lifetimes), over a run (what
   * `ReauthenticationDue` watches).
   */
  MinDaysToReauthentication: 'MinDaysToReauthentication',
  /** Active connections whose refresh token expires within `reauthDueWithin` (a gauge, every run). */
  ConnectionsReauthDueSoon: 'ConnectionsReauthDueSoon',
  /** A connection was not attempted because its failure backoff holds (core/backoff.ts). */
  BackoffSkipped: 'BackoffSkipped',
  /**
   * Connections a run saw failing: its refresh failed in this run, or it waits out the
   * backoff of earlier failures (a gauge, every run): what `RefreshFailuresPersisting`
   * watches, since a backing-off connection fails only once per backoff step.
   */
  ConnectionsFailing: 'ConnectionsFailing',
  /** A refresh before the schedule would have made it (forced, or a consumer's on-demand request after a 401). */
  EarlyRefresh: 'EarlyRefresh',
  /** A run finished (heartbeat). */
  RunCompleted: 'RunCompleted',
  /** Connections listed by a run. */
  ConnectionsScanned: 'ConnectionsScanned',
  /** Connection records read by a run (the rest were skipped on their hint). */
  ConnectionsRead: 'ConnectionsRead',
  /** A connection was skipped because another invocation held its lease. */
  LeaseContended: 'LeaseContended',
  /** Due, but refreshed less than the minimum interval ago: skipped. */
  MinIntervalSkipped: 'MinIntervalSkipped',
  /**
   * A read of AWSCURRENT returned a version a commit had already replaced (a stale read);
   * it was read again, and if it stayed stale nothing was sent.
   */
  StaleRead: 'StaleRead',
  /**
   * A record or a connect/import named a token endpoint outside the allowed origins (the
   * deployment's `allowedTokenOrigins`, or the origins its client-credentials secret is bound
   * to); nothing was sent.
   */
  EndpointRefused: 'EndpointRefused',
  /**
   * A run could not read the scheduling hints from the lease table, and read every record
   * instead (costs reads, not refreshes).
   */
  HintsUnavailable: 'HintsUnavailable',
} as const;

export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/**
 * The message of the one log line a run writes per connection, with fields `connection`,
 * `outcome` (refreshed, restored, skipped, failed), `reason` or `failureClass`,
 * `connectionStatus`, `secondsToExpiry` and `daysToReauthentication` (when known): the
 * per-connection detail the metrics leave out. The dashboard's Logs Insights widget and the
 * runbook query it (`CONNECTION_STATE_QUERY`).
 */
export const CONNECTION_STATE_LOG = 'connection state';

/** The Logs Insights query over a run's `CONNECTION_STATE_LOG` lines: the soonest to expire first. */
export const CONNECTION_STATE_QUERY = [
  `filter message = "${CONNECTION_STATE_LOG}"`,
  'stats min(secondsToExpiry) as secondsToExpiry, latest(connectionStatus) as status, ' +
    'latest(outcome) as lastOutcome, min(daysToReauthentication) as daysToReauth by connection',
  'sort secondsToExpiry asc',
  'limit 100',
].join(' | ');
