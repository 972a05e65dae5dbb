import { createHash } from 'node:crypto';
import { MetricName } from '../contract/metric-names.js';
import { connectionSecretName } from '../contract/names.js';
import type { EngineSettings } from '../contract/settings.js';
import { type Budget, backoffDelayMs } from './budget.js';
import { emit } from './engine.js';
import { describeError, SecretNotFoundError, VersionConflictError, VersionQuotaError } from './errors.js';
import { encodeHint } from './hint.js';
import { randomHex } from './ids.js';
import type {
  BackoffState,
  Clock,
  CommittedVersion,
  LeaseState,
  LeaseStore,
  Logger,
  Metrics,
  RecoveryWindow,
  RescuedTokenSet,
  SecretCreator,
  SecretRemover,
  SecretStore,
  SecretVersion,
} from './ports.js';
import type { WriteLimiter } from './rate-limiter.js';
import type { ConnectionRecord } from './record.js';
import { LEASE_OUTCOME_OF, type TransactionState } from './transaction-state.js';
import { type VersionAccess, versionAccess } from './version-access.js';

/**
 * The write protocol: the one place that changes a connection record. Every writer —
 * refresh, connect and import, disable and enable, remove — goes through it:
 *
 *   take the lease → read AWSCURRENT (stale reads re-read) → [mark sending] →
 *   commit one version (deterministic ClientRequestToken) → release with an outcome and
 *   the scheduling hint (one write)
 *
 * and it keeps what must outlive a lease (docs/refresh-transaction.md): the spent-token
 * marker survives every acquisition and release that does not send again, and the release
 * records the version it committed so a later stale read of the replaced one is caught.
 */

/** What the protocol works through. `EngineDeps` provides all of it. */
export interface ProtocolDeps {
  store: SecretStore;
  leases: LeaseStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  settings: Pick<EngineSettings, 'prefix' | 'leaseMarginMs' | 'backoffBaseMs' | 'backoffCapMs'>;
  /** Identifies the invocation (or operator) in lease owners. */
  invocationId: string;
  random?: () => number;
  /** Creates a connection's secret when it does not exist yet (tests and local sandboxes; in AWS the CLI does). */
  secretCreator?: SecretCreator;
  /** Paces this invocation's Secrets Manager writes (see `rate-limiter.ts`). */
  writeLimiter?: WriteLimiter;
}

/**
 * The `ClientRequestToken` of any version written to replace `fromVersionId`. Derived only
 * from the secret and the replaced version, so a retried write is idempotent (same token,
 * same value) and two writers that started from the same version cannot both land:
 * Secrets Manager refuses a second value under a token it already holds.
 */
export function clientRequestTokenFor(secretName: string, fromVersionId: string): string {
  const hex = createHash('sha256')
    .update(`token-refresher/v1\n${secretName}\n${fromVersionId}`)
    .digest('hex');
  // UUID layout (36 characters) keeps version ids looking like the ones Secrets Manager makes.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Creates a connection's secret with its first version. The token is derived from a fresh
 * nonce, so a secret created again under the same name (after a removal) never reuses a
 * version id that an old lease item still describes; retries within one creation reuse it.
 */
export async function createConnectionSecret(
  creator: SecretCreator,
  secretName: string,
  value: string,
  nonce: string,
): Promise<{ versionId: string }> {
  return creator.createSecret(secretName, value, clientRequestTokenFor(secretName, `created/${nonce}`));
}

/** Why a commit did not land. `conflict` and `quota` are final; `failed` ran out of retries. */
export type CommitFailure = { reason: 'conflict' | 'quota' | 'not_found' | 'failed'; error: string };
export type CommitResult = ({ ok: true } & CommittedVersion) | ({ ok: false } & CommitFailure);

export type LeaseAttempt =
  | { kind: 'taken'; lease: ConnectionLease }
  /** Another invocation holds it: single flight, do nothing. */
  | { kind: 'held'; holder: LeaseState }
  | { kind: 'unavailable'; message: string };

/** Stale AWSCURRENT reads are re-read this many times in all before the holder gives up. */
const STALE_READS = 3;
/** Time kept back, after commit retries, for rescuing a token set whose commit failed. */
export const RESCUE_RESERVE_MS = 3_000;

/**
 * Takes a connection's lease for the rest of the budget (plus the margin that outlives
 * clock skew between invocations). `purpose` names the writer in the lease owner.
 */
export async function takeConnectionLease(
  deps: ProtocolDeps,
  connection: string,
  budget: Budget,
  purpose?: string,
): Promise<LeaseAttempt> {
  const owner = [deps.invocationId, purpose, randomHex(deps.random ?? Math.random, 16)]
    .filter(Boolean)
    .join('/');
  try {
    const acquired = await deps.leases.acquire(connection, {
      owner,
      leaseUntil: budget.deadline + deps.settings.leaseMarginMs,
    });
    if (!acquired.acquired) return { kind: 'held', holder: acquired.holder };
    return { kind: 'taken', lease: new ConnectionLease(deps, connection, owner, budget, acquired.previous) };
  } catch (error) {
    return {
      kind: 'unavailable',
      message: `the connection's lease could not be taken: ${describeError(error)}`,
    };
  }
}

/** A held lease on one connection: every step of the protocol, and exactly one release. */
export class ConnectionLease {
  readonly secretName: string;
  /** What this attempt knows of the refresh token it read; the release records it. */
  private state: TransactionState = 'unsent';
  private stateBeforeRequest: TransactionState = 'unsent';
  private sent = false;
  private committed?: CommittedVersion;
  /** A commit this lease found landed although no release recorded it (see `readCurrent`). */
  private observedCommit?: CommittedVersion;
  /**
   * Whether this lease read the version `observedCommit` created. Only then is it recorded
   * at release: a holder that read it has reported it if it needed reporting (a move to
   * `reauth_required`, reauth-report.ts); one that only learned it exists has not.
   */
  private observedCommitRead = false;
  private clearRescue = false;
  private released = false;
  /** The AWSCURRENT version this lease last read. */
  private readVersionId?: string;
  /** The marker this lease wrote (`markSending`): first send time and requests before this lease's. */
  private marker?: { versionId: string; sentAt: number; attemptsBefore: number };
  /** Requests this lease sent that may have reached the provider. */
  private requests = 0;
  /** The request count the lease item holds for the marker (`markSending`, `recordNextRequest`). */
  private recordedAttempts = 0;
  /** The backoff to record at release (its version resolved then); `null`: clear it. */
  private pendingBackoff?: Omit<BackoffState, 'versionId'>;
  /** What the scheduling hint recorded at release describes (`setHint`). */
  private hintOf?: { versionId: string; record: ConnectionRecord };

  constructor(
    private readonly deps: ProtocolDeps,
    readonly connection: string,
    readonly owner: string,
    readonly budget: Budget,
    /** The lease item as the previous holder left it. */
    readonly previous: LeaseState | undefined,
  ) {
    this.secretName = connectionSecretName(deps.settings.prefix, connection);
  }

  get transactionState(): TransactionState {
    return this.state;
  }

  /**
   * Reads AWSCURRENT and what this lease may do with it. A read of a version a commit
   * already replaced is re-read (bounded); if it stays stale, `access` says `stale`.
   * Throws `SecretNotFoundError` when the secret does not exist.
   */
  async readCurrent(): Promise<{ current: SecretVersion; access: VersionAccess }> {
    for (let read = 1; ; read += 1) {
      const current = await this.deps.store.getCurrent(this.secretName);
      this.readVersionId = current.versionId;
      const access = await this.accessTo(current.versionId);
      if (this.observedCommit?.versionId === current.versionId) this.observedCommitRead = true;
      if (access.kind !== 'stale') return { current, access };
      emit(this.deps, MetricName.StaleRead, 'Count', 1);
      this.deps.logger.warn('AWSCURRENT was read stale: a commit already replaced that version', {
        connection: this.connection,
        readVersionId: current.versionId,
        replacedBy: access.replacedBy,
        read,
      });
      if (read >= STALE_READS) return { current, access };
      const delayMs = this.backoff(read - 1);
      if (!this.budget.fits(delayMs + 1_000, RESCUE_RESERVE_MS)) return { current, access };
      await this.deps.clock.sleep(delayMs);
    }
  }

  /**
   * What the lease allows on `versionId`. When its token's answer is unknown, first asks
   * Secrets Manager whether the one version a commit from it would have created exists: a
   * holder that died (or could not release) after its commit landed leaves the marker
   * "interrupted", and resending would then be a reuse. Found, it is the last commit.
   */
  private async accessTo(versionId: string): Promise<VersionAccess> {
    const previous = this.previous && {
      ...this.previous,
      lastCommit: this.observedCommit ?? this.previous.lastCommit,
    };
    const access = versionAccess(previous, versionId);
    if (access.kind !== 'uncertain' || !(await this.replacedByLandedCommit(versionId))) return access;
    return { kind: 'stale', replacedBy: this.observedCommit!.versionId };
  }

  /**
   * Whether a commit from `versionId` has landed (the version its deterministic token names
   * exists). Asked again before each retry of an uncertain token: a dead holder's write may
   * land late. Found, it is remembered, and recorded as the last commit at release if this
   * lease then reads that version.
   */
  async replacedByLandedCommit(versionId: string): Promise<boolean> {
    const successor = clientRequestTokenFor(this.secretName, versionId);
    if (!(await this.deps.store.versionExists(this.secretName, successor))) return false;
    this.observedCommit = { fromVersionId: versionId, versionId: successor };
    this.deps.logger.warn('a commit from this version landed without its holder recording it', {
      connection: this.connection,
      versionId,
      landedVersionId: successor,
    });
    return true;
  }

  /**
   * A commit that created the version this lease read, found landed although no release
   * recorded it (reauth-report.ts): recorded as the last commit at release.
   */
  recordLandedCommit(commit: CommittedVersion): void {
    this.observedCommit = commit;
    this.observedCommitRead = true;
  }

  /**
   * Records, before the first request, that the refresh token of `versionId` is about to be
   * sent. When the marker already names this version with an unknown answer, its first
   * send time and request count go on (the reuse window counts from the first send);
   * otherwise they start now.
   *
   * A token whose earlier answer is unknown may already be consumed, whatever this lease's
   * requests then learn: it starts `maybe_consumed`, so a request the provider provably did
   * not process (a 5xx, a refused connection) leaves it so, and the release keeps the doubt
   * (`ambiguous`) instead of recording `not_sent`, which would make the next holder read the
   * token as never sent and start its count again.
   */
  async markSending(versionId: string): Promise<void> {
    const previous = this.previous;
    const continues =
      previous?.sentFromVersionId === versionId &&
      (previous.sentOutcome === undefined || previous.sentOutcome === 'ambiguous');
    const now = this.deps.clock.now();
    const marker = {
      versionId,
      sentAt: continues ? (previous.sentAt ?? now) : now,
      attemptsBefore: continues ? (previous.sentAttempts ?? 1) : 0,
    };
    await this.deps.leases.markSending(this.connection, this.owner, versionId, {
      sentAt: marker.sentAt,
      sentAttempts: marker.attemptsBefore + 1,
    });
    this.marker = marker;
    this.recordedAttempts = marker.attemptsBefore + 1;
    this.sent = true;
    if (continues) this.state = 'maybe_consumed';
  }

  /**
   * Before a request that would carry the marked token more times than the lease item
   * records (a retry after a request whose answer was lost), writes the higher count
   * there first: a holder that dies (or cannot release) during the retry then leaves the
   * true count, and the next holder does not take the retry for the first request.
   * Returns false, and nothing more may be sent, when that write fails.
   */
  async recordNextRequest(): Promise<boolean> {
    if (this.marker === undefined) return true;
    const sentAttempts = this.marker.attemptsBefore + this.requests + 1;
    if (sentAttempts <= this.recordedAttempts) return true;
    try {
      await this.deps.leases.markSending(this.connection, this.owner, this.marker.versionId, {
        sentAt: this.marker.sentAt,
        sentAttempts,
      });
    } catch (error) {
      this.deps.logger.warn('the retry could not be recorded in the lease table; it is not sent', {
        connection: this.connection,
        error: describeError(error),
      });
      return false;
    }
    this.recordedAttempts = sentAttempts;
    return true;
  }

  /** The marker as it stands now: first send time, and requests so far (this lease's included). */
  markerNow(): { sentAt?: number; sentAttempts?: number } {
    if (this.marker === undefined) return {};
    return { sentAt: this.marker.sentAt, sentAttempts: this.marker.attemptsBefore + this.requests };
  }

  /** A request is going out: until its answer is known, the token may be consumed. */
  beginRequest(): void {
    this.stateBeforeRequest = this.state;
    this.state = 'maybe_consumed';
    this.requests += 1;
  }

  /**
   * The request's ending: `answered` (a new token set arrived: the old token is spent),
   * `not_consumed` (provably not processed), or `maybe_consumed` (the answer was lost).
   */
  endRequest(ending: 'answered' | 'not_consumed' | 'maybe_consumed'): void {
    if (ending === 'answered') this.state = 'spent';
    else if (ending === 'not_consumed') {
      this.state = this.stateBeforeRequest;
      this.requests -= 1;
    } else this.state = 'maybe_consumed';
  }

  /** Record this backoff at release, for the version committed by then (else the one read). */
  backOff(backoff: Omit<BackoffState, 'versionId'>): void {
    this.pendingBackoff = backoff;
  }

  /** The next attempt of the backoff this lease records, if any. */
  nextAttemptAt(): number | undefined {
    return this.pendingBackoff?.nextAttemptAt;
  }

  /** The backoff this lease will record, with its version, if any. */
  private backoffToRecord(): BackoffState | null | undefined {
    if (this.pendingBackoff === undefined) {
      // Any commit of this lease without a new backoff (a refresh, a restore, reauth_required)
      // ends the previous one.
      return this.previous?.backoff !== undefined && this.state === 'committed' ? null : undefined;
    }
    const versionId = this.committed?.versionId ?? this.readVersionId;
    return versionId === undefined ? undefined : { ...this.pendingBackoff, versionId };
  }

  /** The provider answered without rotating: the stored refresh token stays valid. */
  tokenStillValid(): void {
    if (this.state === 'spent') this.state = 'unsent';
  }

  /** The answered token set is stored in the lease table (`storeRescue` succeeded). */
  private markRescued(): void {
    this.state = 'rescued';
  }

  /** Drop the rescue at release (restored, superseded by the record, or replaced by a new grant). */
  discardRescueOnRelease(): void {
    this.clearRescue = true;
  }

  /**
   * Commits one version replacing `fromVersionId` (or creates the secret when there is
   * none), with the deterministic token. `value` is produced inside each attempt (it may
   * encrypt). Retried with jittered backoff while the budget keeps `RESCUE_RESERVE_MS`;
   * another writer having won, the version quota or a missing secret end it at once.
   */
  async commit(fromVersionId: string | undefined, value: () => Promise<string>): Promise<CommitResult> {
    const nonce = randomHex(this.deps.random ?? Math.random, 16);
    let failure: CommitFailure = { reason: 'failed', error: 'no attempt fitted in the remaining time' };
    for (let attempt = 0; ; attempt += 1) {
      try {
        const versionId = await this.put(fromVersionId, await value(), nonce);
        const committed = { fromVersionId: fromVersionId ?? '', versionId };
        this.committed = committed;
        this.state = 'committed';
        return { ok: true, ...committed };
      } catch (error) {
        failure = { reason: commitFailureReason(error), error: describeError(error) };
        if (failure.reason !== 'failed') break;
      }
      const delayMs = this.backoff(attempt);
      if (!this.budget.fits(delayMs + 1_000, RESCUE_RESERVE_MS)) break;
      await this.deps.clock.sleep(delayMs);
    }
    return { ok: false, ...failure };
  }

  private async put(fromVersionId: string | undefined, value: string, nonce: string): Promise<string> {
    if (fromVersionId === undefined && !this.deps.secretCreator)
      throw new SecretNotFoundError(this.secretName);
    await this.deps.writeLimiter?.beforePut();
    if (fromVersionId !== undefined) {
      const token = clientRequestTokenFor(this.secretName, fromVersionId);
      return (await this.deps.store.putVersion(this.secretName, value, token)).versionId;
    }
    return (await createConnectionSecret(this.deps.secretCreator!, this.secretName, value, nonce)).versionId;
  }

  /** Stores a token set whose commit failed; a few quick attempts. Returns whether it is stored. */
  async storeRescue(rescue: RescuedTokenSet): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await this.deps.leases.storeRescue(this.connection, this.owner, rescue);
        this.markRescued();
        return true;
      } catch {
        await this.deps.clock.sleep(backoffDelayMs(attempt, 200, 1000, this.deps.random));
      }
    }
    return false;
  }

  /** Schedules the secret's deletion (the lease item, with its marker and rescue, stays). */
  async deleteSecret(
    remover: SecretRemover,
    recoveryWindowDays: RecoveryWindow,
  ): Promise<{ deletionDate?: Date }> {
    return remover.deleteSecret(this.secretName, recoveryWindowDays);
  }

  /**
   * Ends the lease, once, recording the outcome of this attempt's state, the marker's
   * outcome when this attempt sent, and the version it committed. Never throws: an
   * unreleased lease expires on its own, and the next holder reads its marker as interrupted.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      const backoff = this.backoffToRecord();
      const hint = this.hintToRecord();
      const stillHeld = await this.deps.leases.release(
        this.connection,
        this.owner,
        LEASE_OUTCOME_OF[this.state],
        {
          sent: this.sent,
          committed: this.committed ?? (this.observedCommitRead ? this.observedCommit : undefined),
          clearRescue: this.clearRescue,
          ...(this.sent && this.marker ? { sentAttempts: this.marker.attemptsBefore + this.requests } : {}),
          ...(backoff !== undefined ? { backoff } : {}),
          ...(hint !== undefined ? { hint } : {}),
        },
      );
      if (!stillHeld) {
        this.deps.logger.warn('the lease had been taken over before release', {
          connection: this.connection,
        });
      }
    } catch (error) {
      this.deps.logger.warn('the lease could not be released', {
        connection: this.connection,
        error: describeError(error),
      });
    }
  }

  /**
   * The scheduling hint this lease's release records: what `versionId` (the version read, or
   * the one this lease committed) says of when the connection is due, with the backoff this
   * lease records for it, so idle runs skip the connection without reading it. Written by
   * the release itself (no call of its own); a later call replaces an earlier one. Call it
   * before the release: after it, it changes nothing (a missing hint costs a read).
   */
  setHint(versionId: string, record: ConnectionRecord): void {
    if (this.released) {
      this.deps.logger.warn('a scheduling hint came after the release; the next run reads the record', {
        connection: this.connection,
      });
      return;
    }
    this.hintOf = { versionId, record };
  }

  /**
   * The hint the release records: `null` (removed) when the token of the version it would
   * describe may be consumed with nothing committed, or a rescue waits: the next run must
   * read the record.
   */
  private hintToRecord(): string | null | undefined {
    if (this.state === 'maybe_consumed' || this.state === 'spent' || this.state === 'rescued') return null;
    if (this.hintOf === undefined) return undefined;
    const { versionId, record } = this.hintOf;
    const recorded = this.backoffToRecord();
    // Untouched by this lease, the previous backoff still holds for its version.
    const backoff = recorded === undefined ? this.previous?.backoff : recorded;
    const notBefore = backoff && backoff.versionId === versionId ? backoff.nextAttemptAt : undefined;
    return encodeHint(versionId, record, { notBefore });
  }

  private backoff(attempt: number): number {
    const { backoffBaseMs, backoffCapMs } = this.deps.settings;
    return backoffDelayMs(attempt, backoffBaseMs, backoffCapMs, this.deps.random);
  }
}

function commitFailureReason(error: unknown): CommitFailure['reason'] {
  if (error instanceof VersionConflictError) return 'conflict';
  if (error instanceof VersionQuotaError) return 'quota';
  if (error instanceof SecretNotFoundError) return 'not_found';
  // Transient dependency failures and anything unexpected are retried within the budget.
  return 'failed';
}
