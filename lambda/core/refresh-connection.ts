import { MetricName } from '../contract/metric-names.js';
import { type Budget, backoffDelayMs } from './budget.js';
import { type Classified, classifyFailure } from './classify.js';
import { decideDue } from './due.js';
import { type EngineDeps, emit, emitFailure } from './engine.js';
import {
  describeError,
  type FailureClass,
  failureClassOf,
  InvalidRecordError,
  SecretNotFoundError,
} from './errors.js';
import { encodeHint } from './hint.js';
import type {
  Ciphertext,
  IssuedTokens,
  LeaseOutcome,
  LeaseState,
  RescuedTokenSet,
  SecretVersion,
} from './ports.js';
import {
  type ConnectedRecord,
  type ConnectionRecord,
  isConnected,
  parseRecord,
  refreshTokenContext,
  rescueAccessTokenContext,
  serializeRecord,
} from './record.js';
import { takeLease } from './take-lease.js';
import { clientRequestTokenFor } from './version-token.js';

export interface RefreshRequest {
  connection: string;
  budget: Budget;
  /** Operator override: refresh even when not due or within the minimum interval. */
  force?: boolean;
  /** Refresh only if AWSCURRENT is still this version (on-demand requests from consumers). */
  ifVersionId?: string;
  /** The listing's hint did not describe AWSCURRENT: rewrite it after reading. */
  rewriteHint?: boolean;
}

export type ConnectionResult =
  | { connection: string; status: 'refreshed'; versionId: string; expiresAt: number }
  | { connection: string; status: 'restored'; versionId: string; expiresAt?: number }
  | {
      connection: string;
      status: 'skipped';
      reason: string;
      versionId?: string;
      expiresAt?: number;
      recordStatus?: ConnectionRecord['status'];
    }
  | {
      connection: string;
      status: 'failed';
      failureClass: FailureClass;
      message: string;
      versionId?: string;
      expiresAt?: number;
    };

/** Time kept back, within the commit reserve, for rescuing a token set whose commit failed. */
const RESCUE_RESERVE_MS = 3_000;
/** Time the steps before the token request (lease, read, credentials, decrypt) may take. */
const PRE_REQUEST_RESERVE_MS = 2_000;
/** A hint no run can use, so the next run reads the record (and restores the rescue). */
const RESCUE_PENDING_HINT = 'rescue-pending';
/** KMS Encrypt accepts at most 4 KiB of plaintext. */
const KMS_MAX_PLAINTEXT_BYTES = 4096;

/**
 * One connection's refresh transaction (docs/refresh-transaction.md):
 * lease → read AWSCURRENT → decide → mark sending → token request → one commit → release.
 *
 * Never throws: every outcome, including unexpected errors, becomes a result, so one
 * connection's failure cannot stop another's refresh.
 */
export async function refreshConnection(
  deps: EngineDeps,
  request: RefreshRequest,
): Promise<ConnectionResult> {
  const { connection, budget } = request;
  const { settings } = deps;

  // Room for the lease, the read and the decrypt too, so a started refresh reaches its request.
  if (!budget.fits(settings.minRequestTimeoutMs + PRE_REQUEST_RESERVE_MS, settings.commitReserveMs)) {
    return { connection, status: 'skipped', reason: 'no_time' };
  }

  const lease = await takeLease(deps, connection, budget);
  if (!lease.taken && !lease.held) return fail(deps, connection, 'transient', lease.message);
  if (!lease.taken) {
    // Single flight: another invocation is refreshing this connection right now.
    emit(deps, MetricName.LeaseContended, 'Count', 1);
    deps.logger.info('connection is being refreshed by another invocation; skipped', { connection });
    return { connection, status: 'skipped', reason: 'in_progress' };
  }

  const transaction = new Transaction(deps, request, lease.owner, lease.previous);
  return transaction.run();
}

/** The state of one leased attempt; every path ends in exactly one release. */
class Transaction {
  private readonly secretName: string;
  /** Whether the refresh token of the current version may have been consumed without an answer. */
  private tokenMaybeConsumed = false;
  /** Whether the provider answered this version's refresh token and the answer is not stored. */
  private tokenSpent = false;
  private released = false;
  private clearRescue = false;

  constructor(
    private readonly deps: EngineDeps,
    private readonly request: RefreshRequest,
    private readonly owner: string,
    private readonly previous: LeaseState | undefined,
  ) {
    this.secretName = deps.settings.prefix + request.connection;
  }

  get connection(): string {
    return this.request.connection;
  }

  async run(): Promise<ConnectionResult> {
    try {
      return await this.attempt();
    } catch (error) {
      return this.finishFailed(failureClassOf(error), describeError(error));
    } finally {
      if (!this.released) {
        await this.release(this.tokenSpent ? 'unsaved' : this.tokenMaybeConsumed ? 'ambiguous' : 'not_sent');
      }
    }
  }

  private async attempt(): Promise<ConnectionResult> {
    const { deps, request } = this;
    let current: SecretVersion;
    try {
      current = await deps.store.getCurrent(this.secretName);
    } catch (error) {
      if (error instanceof SecretNotFoundError) {
        return this.finishFailed('invalid_record', `connection "${this.connection}" has no secret`);
      }
      throw error;
    }
    const record = parseRecord(this.connection, current.value);
    const expiresAt = record.expiresAt ? Date.parse(record.expiresAt) : undefined;

    const rescue = this.previous?.rescue;
    if (rescue) {
      if (rescue.fromVersionId === current.versionId) return this.restore(current, record, rescue);
      this.handleStaleRescue(record, rescue);
    }

    const previous = this.previous;
    if (previous?.outcome === 'unsaved' && previous.sentFromVersionId === current.versionId) {
      return this.refuseSpentToken(current, record, expiresAt);
    }
    const priorAttemptUncertain =
      previous?.sentFromVersionId === current.versionId &&
      (previous.outcome === undefined || previous.outcome === 'ambiguous');
    if (priorAttemptUncertain && previous?.outcome === undefined) {
      emit(deps, MetricName.InterruptedRefresh, 'Count', 1);
      deps.logger.warn(
        'a previous invocation was interrupted after sending this refresh token; its answer is unknown',
        { connection: this.connection, versionId: current.versionId },
      );
    }

    if (request.rewriteHint) await this.writeHint(current.versionId, record);

    if (request.ifVersionId !== undefined && request.ifVersionId !== current.versionId) {
      return this.finishSkipped('version_changed', current.versionId, record, expiresAt);
    }
    const trigger = request.force ? 'forced' : request.ifVersionId !== undefined ? 'on_demand' : 'schedule';
    const decision = decideDue(record, deps.clock.now(), deps.settings, trigger);
    if (!decision.due) {
      if (decision.reason === 'min_interval') emit(deps, MetricName.MinIntervalSkipped, 'Count', 1);
      return this.finishSkipped(decision.reason, current.versionId, record, expiresAt);
    }

    if (!isConnected(record))
      throw new InvalidRecordError(this.connection, 'an active connection needs provider and refreshToken');
    const credentials = await deps.credentials(record.provider.clientCredentialsSecretId);
    deps.logger.registerSecret(credentials.clientSecret);
    const refreshToken = await deps.keys.decrypt(record.refreshToken, refreshTokenContext(this.secretName));
    deps.logger.registerSecret(refreshToken);

    await deps.leases.markSending(this.connection, this.owner, current.versionId);
    const exchange = await this.exchange(record, refreshToken, credentials);
    if ('tokens' in exchange) return this.commitTokens(current, record, exchange.tokens, exchange.sentAt);
    return this.handleFailure(current, record, exchange.failure, priorAttemptUncertain, expiresAt);
  }

  /** Sends the refresh grant, retrying only what is safe to retry, within the budget. */
  private async exchange(
    record: ConnectedRecord,
    refreshToken: string,
    credentials: { clientId: string; clientSecret: string },
  ): Promise<{ tokens: IssuedTokens; sentAt: number } | { failure: Classified }> {
    const { deps } = this;
    const { settings, clock } = deps;
    const { budget } = this.request;
    let transientAttempts = 0;
    let ambiguousRetried = false;
    for (;;) {
      const timeoutMs = Math.min(settings.requestTimeoutMs, budget.remainingMs() - settings.commitReserveMs);
      if (timeoutMs < settings.minRequestTimeoutMs) {
        return {
          failure: {
            failureClass: 'no_time',
            message: 'not enough invocation time left for another token request',
            mayHaveConsumedToken: false,
          },
        };
      }
      const sentAt = clock.now();
      const outcome = await deps.tokenEndpoint.refresh({
        tokenEndpoint: record.provider.tokenEndpoint,
        dialect: record.provider.dialect,
        clientAuth: record.provider.clientAuth,
        credentials,
        refreshToken,
        scope: record.provider.scope,
        timeoutMs,
      });
      emit(deps, MetricName.RefreshLatency, 'Milliseconds', clock.now() - sentAt);
      if (outcome.kind === 'tokens') return { tokens: outcome.tokens, sentAt };

      const failure = classifyFailure(outcome);
      if (failure.mayHaveConsumedToken) this.tokenMaybeConsumed = true;
      let delayMs: number;
      if (failure.failureClass === 'transient') {
        transientAttempts += 1;
        if (transientAttempts >= settings.maxTransientAttempts) return { failure };
        delayMs = Math.max(
          failure.retryAfterMs ?? 0,
          backoffDelayMs(transientAttempts - 1, settings.backoffBaseMs, settings.backoffCapMs, deps.random),
        );
      } else if (failure.failureClass === 'ambiguous') {
        emit(deps, MetricName.AmbiguousRefresh, 'Count', 1);
        // Deliberate: one prompt retry with the same token. If the provider did not process
        // the lost request (or keeps a reuse grace window) it succeeds; if it did rotate, the
        // new token set is unrecoverable anyway and the answer is invalid_grant (re-auth).
        if (ambiguousRetried) return { failure };
        ambiguousRetried = true;
        delayMs = backoffDelayMs(0, settings.backoffBaseMs, settings.backoffCapMs, deps.random);
      } else {
        return { failure };
      }
      if (!budget.fits(delayMs + settings.minRequestTimeoutMs, settings.commitReserveMs)) return { failure };
      deps.logger.info('token request failed; retrying', {
        connection: this.connection,
        failureClass: failure.failureClass,
        reason: failure.message,
        delayMs,
      });
      await clock.sleep(delayMs);
    }
  }

  private async commitTokens(
    current: SecretVersion,
    record: ConnectedRecord,
    tokens: IssuedTokens,
    sentAt: number,
  ): Promise<ConnectionResult> {
    const { deps } = this;
    // From here on the old refresh token is spent: whatever happens, it is never sent again
    // (an unexpected error below releases the lease as `unsaved`).
    this.tokenSpent = true;
    deps.logger.registerSecret(tokens.accessToken);
    if (tokens.refreshToken) deps.logger.registerSecret(tokens.refreshToken);

    // Expiry counts from when the request was sent: never later than the provider's clock.
    const expiresAt = sentAt + tokens.expiresIn * 1000;
    const refreshedAt = new Date(deps.clock.now()).toISOString();
    let encryptedRefreshToken: Ciphertext | undefined = record.refreshToken;
    const next = (refreshTokenCiphertext: Ciphertext): ConnectionRecord => ({
      ...record,
      status: 'active',
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      expiresAt: new Date(expiresAt).toISOString(),
      refreshToken: refreshTokenCiphertext,
      refreshedAt,
      tokenLifetimeSeconds: Math.round(tokens.expiresIn),
      lastError: null,
    });

    const committed = await this.withCommitRetries(async () => {
      if (tokens.refreshToken && encryptedRefreshToken === record.refreshToken) {
        encryptedRefreshToken = await deps.keys.encrypt(
          tokens.refreshToken,
          refreshTokenContext(this.secretName),
        );
      }
      return this.put(current.versionId, next(encryptedRefreshToken as Ciphertext));
    });

    if (committed.ok) {
      const newRecord = next(encryptedRefreshToken as Ciphertext);
      await this.release('committed', { clearRescue: this.clearRescue });
      await this.writeHint(committed.versionId, newRecord);
      emit(deps, MetricName.RefreshSucceeded, 'Count', 1);
      if (this.request.force || this.request.ifVersionId !== undefined) {
        // Before the schedule would have: an operator or a consumer's 401 asked for it.
        emit(deps, MetricName.EarlyRefresh, 'Count', 1);
      }
      deps.logger.info('connection refreshed', {
        connection: this.connection,
        versionId: committed.versionId,
        expiresAt: newRecord.expiresAt,
        rotated: Boolean(tokens.refreshToken),
      });
      return { connection: this.connection, status: 'refreshed', versionId: committed.versionId, expiresAt };
    }

    // The provider rotated but the commit failed: nothing may be lost silently.
    emit(deps, MetricName.CommitFailed, 'Count', 1);
    const rotated = Boolean(tokens.refreshToken);
    if (!rotated) {
      // The provider does not rotate: the stored refresh token stays valid for the next run.
      this.tokenSpent = false;
      return this.finishFailed(
        'commit_failed',
        `the new access token could not be committed: ${committed.error}`,
      );
    }
    if (encryptedRefreshToken === record.refreshToken) {
      // Nothing can hold the new refresh token unencrypted; the old one is spent all the same.
      this.tokenSpent = true;
      deps.logger.error(
        'CRITICAL: the provider issued a new token set but its refresh token could not be encrypted; ' +
          'the connection will need re-authentication',
        { connection: this.connection, error: committed.error },
      );
      return this.finishFailed('commit_failed', 'the new refresh token could not be encrypted');
    }
    return this.rescue(current, tokens, encryptedRefreshToken, expiresAt, refreshedAt, committed.error);
  }

  /** Stores a token set whose commit failed where the next run restores it from. */
  private async rescue(
    current: SecretVersion,
    tokens: IssuedTokens,
    refreshToken: Ciphertext,
    expiresAt: number,
    refreshedAt: string,
    commitError: string,
  ): Promise<ConnectionResult> {
    const { deps } = this;
    const rescue: RescuedTokenSet = {
      fromVersionId: current.versionId,
      // The very `refreshedAt` of the record the commit tried to write: if that commit landed
      // after all (its answer lost), the next run sees the record is not older and discards this.
      issuedAt: refreshedAt,
      expiresAt: new Date(expiresAt).toISOString(),
      tokenType: tokens.tokenType,
      expiresIn: tokens.expiresIn,
      scope: tokens.scope,
      refreshToken,
    };
    if (Buffer.byteLength(tokens.accessToken, 'utf8') <= KMS_MAX_PLAINTEXT_BYTES) {
      try {
        rescue.accessToken = await deps.keys.encrypt(
          tokens.accessToken,
          rescueAccessTokenContext(this.secretName),
        );
      } catch {
        // The refresh token is what matters; the next run refreshes for a new access token.
      }
    }
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await deps.leases.storeRescue(this.connection, this.owner, rescue);
        emit(deps, MetricName.RescueStored, 'Count', 1);
        // An unreadable hint makes the next run read the record, and so restore at once.
        await this.writeRawHint(RESCUE_PENDING_HINT);
        deps.logger.error(
          'CRITICAL: the new token set could not be committed; it is stored encrypted in the lease table ' +
            'and the next run restores it (docs/refresh-transaction.md#restore)',
          { connection: this.connection, fromVersionId: current.versionId, error: commitError },
        );
        await this.release('rescued');
        return this.finishFailed('commit_failed', `the new token set could not be committed: ${commitError}`);
      } catch {
        await deps.clock.sleep(backoffDelayMs(attempt, 200, 1000, deps.random));
      }
    }
    // Last resort: the log, with ciphertext only (decryptable solely with the refresh-token key).
    deps.logger.error(
      'CRITICAL: the new token set could be neither committed nor stored in the lease table; ' +
        'restore it from this entry (ciphertext under the refresh-token key, docs/refresh-transaction.md#restore)',
      { connection: this.connection, rescue, error: commitError },
    );
    // The old refresh token is spent: the lease says so, and no later run sends it again.
    this.tokenSpent = true;
    await this.release('unsaved');
    return this.finishFailed('commit_failed', `the new token set could not be committed: ${commitError}`);
  }

  /** Commits a token set a previous invocation rescued, instead of refreshing again. */
  private async restore(
    current: SecretVersion,
    record: ConnectionRecord,
    rescue: RescuedTokenSet,
  ): Promise<ConnectionResult> {
    const { deps } = this;
    // The rescued refresh token is the live one; the stored one was spent.
    this.tokenMaybeConsumed = true;
    const accessToken = rescue.accessToken
      ? await deps.keys.decrypt(rescue.accessToken, rescueAccessTokenContext(this.secretName))
      : undefined;
    if (accessToken) deps.logger.registerSecret(accessToken);
    const restored: ConnectionRecord = {
      ...record,
      status: 'active',
      accessToken,
      tokenType: rescue.tokenType,
      expiresAt: accessToken ? rescue.expiresAt : undefined,
      refreshToken: rescue.refreshToken,
      refreshedAt: rescue.issuedAt,
      tokenLifetimeSeconds: Math.round(rescue.expiresIn),
      lastError: null,
    };
    const committed = await this.withCommitRetries(() => this.put(current.versionId, restored));
    if (!committed.ok) {
      emit(deps, MetricName.CommitFailed, 'Count', 1);
      await this.release('rescued');
      return this.finishFailed(
        'commit_failed',
        `the rescued token set could not be restored: ${committed.error}`,
      );
    }
    await this.release('committed', { clearRescue: true });
    await this.writeHint(committed.versionId, restored);
    emit(deps, MetricName.RescueRestored, 'Count', 1);
    deps.logger.info('restored a rescued token set', {
      connection: this.connection,
      versionId: committed.versionId,
    });
    return {
      connection: this.connection,
      status: 'restored',
      versionId: committed.versionId,
      expiresAt: restored.expiresAt ? Date.parse(restored.expiresAt) : undefined,
    };
  }

  /**
   * The provider answered this version's refresh token, but the token set it issued was
   * only logged (as ciphertext). Sending the token again would be a reuse: instead the
   * connection waits for an operator to restore that set or reconnect.
   */
  private async refuseSpentToken(
    current: SecretVersion,
    record: ConnectionRecord,
    expiresAt: number | undefined,
  ): Promise<ConnectionResult> {
    const message =
      'the provider issued a new token set that could be neither committed nor stored, so the stored refresh ' +
      'token is spent; restore the set from the CRITICAL log entry (docs/refresh-transaction.md#restore) or reconnect';
    this.tokenSpent = true;
    await this.commitStatus(current, record, 'reauth_required', 'commit_failed', message);
    emit(this.deps, MetricName.ReauthRequired, 'Count', 1);
    return this.finishFailed('commit_failed', message, current.versionId, expiresAt);
  }

  private handleStaleRescue(record: ConnectionRecord, rescue: RescuedTokenSet): void {
    const superseded =
      record.refreshedAt !== undefined && Date.parse(record.refreshedAt) >= Date.parse(rescue.issuedAt);
    if (superseded) {
      // The record moved past the rescue (it landed after all, or an operator reconnected).
      this.clearRescue = true;
      this.deps.logger.info('discarding a rescued token set the record has moved past', {
        connection: this.connection,
      });
      return;
    }
    emit(this.deps, MetricName.RescueStale, 'Count', 1);
    this.deps.logger.error(
      'a rescued token set does not match the current version; an operator must decide (docs/refresh-transaction.md#restore)',
      { connection: this.connection, rescueFromVersionId: rescue.fromVersionId },
    );
  }

  private async handleFailure(
    current: SecretVersion,
    record: ConnectionRecord,
    failure: Classified,
    priorAttemptUncertain: boolean,
    expiresAt: number | undefined,
  ): Promise<ConnectionResult> {
    const { deps } = this;
    if (failure.failureClass === 'reauth_required') {
      const sentBefore = priorAttemptUncertain || this.tokenMaybeConsumed;
      const why = sentBefore
        ? 'This refresh token had been sent before in a request whose answer was lost: the provider probably ' +
          'rotated it then, and it treats the reuse as theft and revokes the grant.'
        : 'token-refresher had not used this refresh token before: it was revoked or expired, or it was used ' +
          'by someone else, which may mean theft; review the provider’s security log.';
      const message = `${failure.message}. ${why}`;
      await this.commitStatus(current, record, 'reauth_required', 'reauth_required', message);
      emit(deps, MetricName.ReauthRequired, 'Count', 1);
      deps.logger.error(
        `connection needs re-authentication: run the authorization code flow again (token-refresher connect ${this.connection}). ${why}`,
        { connection: this.connection, failureClass: 'reauth_required', reason: failure.message },
      );
      return this.finishFailed('reauth_required', message, current.versionId, expiresAt, {
        alreadyLogged: true,
      });
    }
    if (failure.failureClass === 'configuration' && record.lastError?.class !== 'configuration') {
      // Written once per episode, not per run: a version per run would exhaust the version quota.
      await this.commitStatus(current, record, 'active', 'configuration', failure.message);
    }
    return this.finishFailed(failure.failureClass, failure.message, current.versionId, expiresAt);
  }

  /** Commits a status or last-error change, keeping the tokens as they are. */
  private async commitStatus(
    current: SecretVersion,
    record: ConnectionRecord,
    status: ConnectionRecord['status'],
    errorClass: FailureClass,
    message: string,
  ): Promise<void> {
    const updated: ConnectionRecord = {
      ...record,
      status,
      lastError: { class: errorClass, message, at: new Date(this.deps.clock.now()).toISOString() },
    };
    const committed = await this.withCommitRetries(() => this.put(current.versionId, updated));
    if (committed.ok) {
      await this.release('committed', { clearRescue: this.clearRescue });
      await this.writeHint(committed.versionId, updated);
    } else {
      this.deps.logger.error('the connection status could not be recorded', {
        connection: this.connection,
        status,
        error: committed.error,
      });
    }
  }

  private async put(fromVersionId: string, record: ConnectionRecord): Promise<string> {
    const token = clientRequestTokenFor(this.secretName, fromVersionId);
    const { versionId } = await this.deps.store.putVersion(this.secretName, serializeRecord(record), token);
    return versionId;
  }

  /** Retries a commit with backoff for the rest of the budget, keeping time to rescue. */
  private async withCommitRetries(
    commit: () => Promise<string>,
  ): Promise<{ ok: true; versionId: string } | { ok: false; error: string }> {
    const { deps } = this;
    let lastError = 'no attempt fitted in the remaining time';
    for (let attempt = 0; ; attempt += 1) {
      try {
        return { ok: true, versionId: await commit() };
      } catch (error) {
        lastError = describeError(error);
        // Retrying cannot help: another writer won, or the secret is at its version quota.
        if (isPermanentCommitError(error)) break;
      }
      const delayMs = backoffDelayMs(
        attempt,
        deps.settings.backoffBaseMs,
        deps.settings.backoffCapMs,
        deps.random,
      );
      if (!this.request.budget.fits(delayMs + 1_000, RESCUE_RESERVE_MS)) break;
      await deps.clock.sleep(delayMs);
    }
    return { ok: false, error: lastError };
  }

  private async writeHint(versionId: string, record: ConnectionRecord): Promise<void> {
    await this.writeRawHint(encodeHint(versionId, record));
  }

  private async writeRawHint(hint: string): Promise<void> {
    try {
      await this.deps.store.setHint(this.secretName, hint);
    } catch (error) {
      emit(this.deps, MetricName.HintUpdateFailed, 'Count', 1);
      this.deps.logger.warn(
        'the scheduling hint could not be written; the next run reads the record instead',
        {
          connection: this.connection,
          error: describeError(error),
        },
      );
    }
  }

  private async release(outcome: LeaseOutcome, opts: { clearRescue?: boolean } = {}): Promise<void> {
    this.released = true;
    try {
      const stillHeld = await this.deps.leases.release(this.connection, this.owner, outcome, opts);
      if (!stillHeld) {
        this.deps.logger.warn('the lease had been taken over before release', {
          connection: this.connection,
        });
      }
    } catch (error) {
      // An unreleased lease expires on its own; the next run then treats the attempt by its marker.
      this.deps.logger.warn('the lease could not be released', {
        connection: this.connection,
        error: describeError(error),
      });
    }
  }

  private async finishSkipped(
    reason: string,
    versionId: string,
    record: ConnectionRecord,
    expiresAt: number | undefined,
  ): Promise<ConnectionResult> {
    await this.release('not_sent', { clearRescue: this.clearRescue });
    return {
      connection: this.connection,
      status: 'skipped',
      reason,
      versionId,
      expiresAt,
      recordStatus: record.status,
    };
  }

  private finishFailed(
    failureClass: FailureClass,
    message: string,
    versionId?: string,
    expiresAt?: number,
    opts: { alreadyLogged?: boolean } = {},
  ): ConnectionResult {
    return fail(this.deps, this.connection, failureClass, message, versionId, expiresAt, opts);
  }
}

function fail(
  deps: EngineDeps,
  connection: string,
  failureClass: FailureClass,
  message: string,
  versionId?: string,
  expiresAt?: number,
  opts: { alreadyLogged?: boolean } = {},
): ConnectionResult {
  emitFailure(deps, failureClass);
  if (!opts.alreadyLogged)
    deps.logger.error('connection refresh failed', { connection, failureClass, reason: message });
  return { connection, status: 'failed', failureClass, message, versionId, expiresAt };
}

/** Commit errors that retrying cannot fix: go straight to the rescue. */
function isPermanentCommitError(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (current.name === 'VersionConflictError' || current.name === 'LimitExceededException') return true;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return false;
}
