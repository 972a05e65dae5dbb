import { MetricName } from '../contract/metric-names.js';
import { connectionSecretName } from '../contract/names.js';
import { VERSION_UNCHECKED } from '../contract/on-demand.js';
import {
  activeBackoff,
  BACKING_OFF_CLASSES,
  lostAnswerBackoff,
  nextBackoff,
  PERSISTENT_TRANSIENT_RUNS,
} from './backoff.js';
import type { Budget } from './budget.js';
import type { Classified } from './classify.js';
import { type ConnectionResult, type FailedResult, failedResult } from './connection-result.js';
import { decideDue, dueFactsOf } from './due.js';
import { checkEndpointAndBinding, reportEndpointRefusal } from './endpoint-refusal.js';
import { type EngineDeps, emit, flushMetrics } from './engine.js';
import { describeError, failureClassOf, InvalidRecordError, SecretNotFoundError } from './errors.js';
import type { Ciphertext, IssuedTokens, SecretVersion } from './ports.js';
import { ENGINE_DEFAULT_EXPIRES_IN_SECONDS } from './provider-behaviour.js';
import { reportReauthRequired, unreportedReauthCommit } from './reauth-report.js';
import {
  behaviourOf,
  type ConnectedRecord,
  type ConnectionRecord,
  isConnected,
  parseRecord,
  refreshTokenContext,
  serializeRecord,
} from './record.js';
import { refuseSpentToken, rescueTokenSet, restoreRescue, reviewOtherRescue } from './recovery.js';
import { refreshTokenExpiresAt } from './refresh-token-expiry.js';
import { commitStatus } from './status-commit.js';
import { exchangeRefreshToken } from './token-exchange.js';
import { checkTokenEndpoint } from './token-origin.js';
import { mayResendUncertain, type VersionAccess } from './version-access.js';
import { type ConnectionLease, takeConnectionLease } from './write-protocol.js';

export type { ConnectionResult } from './connection-result.js';

export interface RefreshRequest {
  connection: string;
  budget: Budget;
  /** Operator override: refresh even when not due or within the minimum interval. */
  force?: boolean;
  /**
   * Refresh only if AWSCURRENT is still this version (on-demand requests from consumers).
   * Knowing it is the caller's authorization: it is checked before the lease is taken, and
   * a caller that names another version learns nothing (a `version_changed` skip without
   * a version id).
   */
  ifVersionId?: string;
  /** The listing's hint did not describe AWSCURRENT: rewrite it after reading. */
  rewriteHint?: boolean;
}

/** Time the steps before the token request (lease, read, credentials, decrypt) may take. */
const PRE_REQUEST_RESERVE_MS = 2_000;

/**
 * One connection's refresh transaction (docs/refresh-transaction.md), over the write
 * protocol (`write-protocol.ts`): lease → read AWSCURRENT → decide → mark sending →
 * token request → one commit → release.
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

  if (request.ifVersionId !== undefined && !request.force) {
    // Before the lease and without it: a flood of requests naming old or made-up versions
    // (or unknown connections) never holds a lease a scheduled run needs.
    const known = await namesCurrentVersion(deps, connection, request.ifVersionId);
    if (known !== true) return known;
  }

  const attempt = await takeConnectionLease(deps, connection, budget);
  if (attempt.kind === 'unavailable') {
    // An on-demand caller's version is not confirmed yet: a fixed answer, the error to the log.
    if (request.ifVersionId !== undefined) return versionUnchecked(deps, connection, attempt.message);
    return failedResult(deps, connection, 'transient', attempt.message);
  }
  if (attempt.kind === 'held') {
    // Single flight: another invocation is refreshing this connection right now.
    emit(deps, MetricName.LeaseContended, 'Count', 1);
    deps.logger.info('connection is being refreshed by another invocation; skipped', { connection });
    return { connection, status: 'skipped', reason: 'in_progress' };
  }
  const { lease } = attempt;
  try {
    return await refreshUnderLease(deps, request, lease);
  } catch (error) {
    return failedResult(deps, connection, failureClassOf(error), describeError(error));
  } finally {
    // Every path ends in exactly one release (a no-op when a step already released).
    await lease.release();
  }
}

async function refreshUnderLease(
  deps: EngineDeps,
  request: RefreshRequest,
  lease: ConnectionLease,
): Promise<ConnectionResult> {
  const { connection } = request;
  const onDemand = request.ifVersionId !== undefined;
  let read: { current: SecretVersion; access: VersionAccess };
  try {
    read = await lease.readCurrent();
  } catch (error) {
    if (onDemand) {
      // Not yet known to name the current version (the check before the lease may have read
      // a stale one): the caller hears what it would have heard then, and nothing more.
      if (error instanceof SecretNotFoundError) return versionChanged(connection);
      return versionUnchecked(deps, connection, describeError(error));
    }
    if (error instanceof SecretNotFoundError) {
      return failedResult(deps, connection, 'invalid_record', `connection "${connection}" has no secret`);
    }
    throw error;
  }
  const { current, access } = read;
  if (onDemand && (request.ifVersionId !== current.versionId || access.kind === 'stale')) {
    // It changed since the check before the lease, or that check (and this read) saw a version
    // a commit had already replaced: the caller did not name the current version. It learns
    // nothing, whatever this version's state (a rescue, a spent token, a stale read).
    return versionChanged(connection);
  }
  const record = parseRecord(connection, current.value);
  const expiresAt = record.expiresAt ? Date.parse(record.expiresAt) : undefined;

  switch (access.kind) {
    case 'stale':
      return failedResult(
        deps,
        connection,
        'transient',
        `AWSCURRENT was read as version ${current.versionId}, which version ${access.replacedBy} already ` +
          'replaced (a stale read, repeated); nothing was sent, and the next run reads again',
        { versionId: current.versionId, expiresAt },
      );
    case 'restore':
      return restoreRescue(deps, lease, current, record, access.rescue);
    case 'spent':
      return refuseSpentToken(deps, lease, current, record, expiresAt);
    case 'uncertain':
      if (access.interrupted) {
        emit(deps, MetricName.InterruptedRefresh, 'Count', 1);
        deps.logger.warn(
          'a previous invocation was interrupted after sending this refresh token; its answer is unknown',
          { connection, versionId: current.versionId },
        );
      }
      break;
    case 'free':
      break;
  }
  // A move to reauth_required that landed without being reported (its holder died, or lost
  // the answer to its write): reported now, before the hint that would let runs skip it.
  const unreported = unreportedReauthCommit(lease.previous, lease.secretName, current.versionId, record);
  if (unreported) {
    await reportReauthRequired(deps, connection, current.versionId, {
      replacedVersionId: unreported.fromVersionId,
    });
    lease.recordLandedCommit(unreported);
  }
  const otherRescue = lease.previous?.rescue;
  if (otherRescue) reviewOtherRescue(deps, lease, record, otherRescue);

  // Pinned token endpoints: refused before anything secret is read, whether due or not (an
  // edited record is reported by the first run that reads it, before the hint is rewritten).
  if (record.status === 'active' && record.provider) {
    const allowed = checkTokenEndpoint(record.provider.tokenEndpoint, deps.settings);
    if (!allowed.ok) return refuseEndpoint(deps, lease, current, record, allowed.message, expiresAt);
  }

  if (request.rewriteHint) await lease.writeHint(current.versionId, record);

  const trigger = request.force ? 'forced' : request.ifVersionId !== undefined ? 'on_demand' : 'schedule';
  const now = deps.clock.now();
  const decision = decideDue(dueFactsOf(record), now, deps.settings, trigger);
  if (!decision.due) {
    if (decision.reason === 'min_interval') emit(deps, MetricName.MinIntervalSkipped, 'Count', 1);
    return {
      ...skipped(connection, decision.reason, current.versionId, record, expiresAt),
      ...(decision.until !== undefined ? { nextAttemptAt: decision.until } : {}),
    };
  }
  // No hammering: a connection whose refreshes keep failing waits out its backoff (only an
  // operator's force goes through).
  const backoff = request.force ? undefined : activeBackoff(lease.previous, current.versionId, now);
  if (backoff !== undefined) {
    // A scheduled run read it because its hint did not say so: the hint says so from now on.
    if (trigger === 'schedule' && !request.rewriteHint) await lease.writeHint(current.versionId, record);
    return {
      ...skipped(connection, 'backoff', current.versionId, record, expiresAt),
      nextAttemptAt: backoff.nextAttemptAt,
    };
  }

  if (!isConnected(record))
    throw new InvalidRecordError(connection, 'an active connection needs provider and refreshToken');
  const credentialsSecretId = record.provider.clientCredentialsSecretId;
  const credentials = await deps.credentials(credentialsSecretId);
  deps.logger.registerSecret(credentials.clientSecret);
  // The client secret goes only where its secret is bound to; checked before the decrypt.
  const bound = checkEndpointAndBinding(
    deps,
    record.provider.tokenEndpoint,
    credentials,
    credentialsSecretId,
  );
  if (!bound.ok) return refuseEndpoint(deps, lease, current, record, bound.message, expiresAt);
  const refreshToken = await deps.keys.decrypt(record.refreshToken, refreshTokenContext(lease.secretName));
  deps.logger.registerSecret(refreshToken);

  const behaviour = behaviourOf(record.provider);
  if (
    access.kind === 'uncertain' &&
    !mayResendUncertain(access, behaviour.rotation, now, deps.settings.requestTimeoutMs)
  ) {
    return giveUpLostAnswer(deps, lease, current, record, behaviour.rotation.reuseWindowSeconds, expiresAt);
  }

  await lease.markSending(current.versionId);
  const exchange = await exchangeRefreshToken(
    deps,
    lease,
    record,
    refreshToken,
    credentials,
    access.kind === 'uncertain' ? current.versionId : undefined,
  );
  if ('tokens' in exchange) return commitTokens(deps, request, lease, current, record, exchange);
  if (exchange.salvaged !== undefined) {
    return commitSalvagedRefreshToken(deps, lease, current, record, exchange.failure, exchange.salvaged);
  }
  const sentBefore = access.kind === 'uncertain' || lease.transactionState === 'maybe_consumed';
  return handleFailure(deps, lease, current, record, exchange.failure, sentBefore, expiresAt);
}

async function commitTokens(
  deps: EngineDeps,
  request: RefreshRequest,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectedRecord,
  answer: { tokens: IssuedTokens; sentAt: number },
): Promise<ConnectionResult> {
  const { tokens, sentAt } = answer;
  const { connection } = lease;
  // From here on the old refresh token is spent (the lease's state says so): whatever
  // happens, it is never sent again.
  deps.logger.registerSecret(tokens.accessToken);
  if (tokens.refreshToken) deps.logger.registerSecret(tokens.refreshToken);

  // Expiry counts from when the request was sent: never later than the provider's clock.
  const expiresAt = sentAt + tokens.expiresIn * 1000;
  const refreshedAt = new Date(deps.clock.now()).toISOString();
  const lifetimeSeconds = Math.max(1, Math.round(tokens.expiresIn));
  if (tokens.expiresInDefault !== undefined) warnDefaultLifetime(deps, record, tokens, lifetimeSeconds);
  const facts = tokenSetFacts(record, tokens, sentAt);
  let encryptedRefreshToken: Ciphertext | undefined;
  const next = (refreshTokenCiphertext: Ciphertext): ConnectionRecord => {
    const updated: ConnectionRecord = {
      ...record,
      status: 'active',
      accessToken: tokens.accessToken,
      expiresAt: new Date(expiresAt).toISOString(),
      refreshToken: refreshTokenCiphertext,
      refreshedAt,
      tokenLifetimeSeconds: lifetimeSeconds,
      ...facts,
      lastError: null,
    };
    // Stored as sent: absent when the provider sent none (consumers read that as Bearer).
    if (tokens.tokenType !== undefined) updated.tokenType = tokens.tokenType;
    else delete updated.tokenType;
    if (tokens.providerFields !== undefined) updated.providerFields = tokens.providerFields;
    if (facts.refreshTokenExpiresAt === undefined) delete updated.refreshTokenExpiresAt;
    return updated;
  };

  const committed = await lease.commit(current.versionId, async () => {
    if (tokens.refreshToken && encryptedRefreshToken === undefined) {
      encryptedRefreshToken = await deps.keys.encrypt(
        tokens.refreshToken,
        refreshTokenContext(lease.secretName),
      );
    }
    return serializeRecord(next(encryptedRefreshToken ?? record.refreshToken));
  });

  if (committed.ok) {
    const newRecord = next(encryptedRefreshToken ?? record.refreshToken);
    await lease.release();
    await lease.writeHint(committed.versionId, newRecord);
    emit(deps, MetricName.RefreshSucceeded, 'Count', 1);
    if (request.force || request.ifVersionId !== undefined) {
      // Before the schedule would have: an operator or a consumer's 401 asked for it.
      emit(deps, MetricName.EarlyRefresh, 'Count', 1);
    }
    deps.logger.info('connection refreshed', {
      connection,
      versionId: committed.versionId,
      expiresAt: newRecord.expiresAt,
      rotated: Boolean(tokens.refreshToken),
    });
    return {
      connection,
      status: 'refreshed',
      versionId: committed.versionId,
      expiresAt,
      ...expiryOf(newRecord),
    };
  }

  // The provider answered but the commit failed: nothing may be lost silently.
  emit(deps, MetricName.CommitFailed, 'Count', 1);
  if (!tokens.refreshToken) {
    // The provider does not rotate: the stored refresh token stays valid for the next run.
    lease.tokenStillValid();
    return failedResult(
      deps,
      connection,
      'commit_failed',
      `the new access token could not be committed: ${committed.error}`,
    );
  }
  if (encryptedRefreshToken === undefined) {
    // Nothing can hold the new refresh token unencrypted; the old one is spent all the same.
    deps.logger.error(
      'CRITICAL: the provider issued a new token set but its refresh token could not be encrypted; ' +
        'the connection will need re-authentication',
      { connection, error: committed.error },
    );
    return failedResult(deps, connection, 'commit_failed', 'the new refresh token could not be encrypted');
  }
  return rescueTokenSet(
    deps,
    lease,
    current,
    {
      tokens,
      refreshToken: encryptedRefreshToken,
      expiresAt,
      refreshedAt,
      refreshTokenExpiresAt: facts.refreshTokenExpiresAt,
    },
    committed.error,
  );
}

/**
 * What a token set tells besides its tokens: the granted scope, the refresh token's expiry
 * and when the grant was authorized (its absolute lifetime's anchor).
 */
function tokenSetFacts(
  record: ConnectedRecord,
  tokens: Pick<IssuedTokens, 'scope' | 'refreshToken' | 'refreshTokenExpiresIn'>,
  sentAt: number,
): Pick<ConnectionRecord, 'grantedScope' | 'refreshTokenExpiresAt' | 'grantedAt'> {
  const behaviour = behaviourOf(record.provider);
  // Set by connect (the code exchange) and import; a record connected before either did is
  // anchored on its connect's refreshedAt, else on this refresh.
  const grantedAt = record.grantedAt ?? record.refreshedAt ?? new Date(sentAt).toISOString();
  // RFC 6749 §5.1: an absent scope is the one requested; with none sent, it is unchanged.
  const sentScope = behaviour.scope.sendOnRefresh ? record.provider.scope : undefined;
  const grantedScope = tokens.scope ?? sentScope ?? record.grantedScope;
  const rtExpiry = refreshTokenExpiresAt({
    behaviour,
    sentAt,
    refreshTokenExpiresIn: tokens.refreshTokenExpiresIn,
    grantedAt: Date.parse(grantedAt),
    rotated: tokens.refreshToken !== undefined,
    previous: record.refreshTokenExpiresAt,
  });
  return {
    grantedAt,
    ...(grantedScope !== undefined ? { grantedScope } : {}),
    ...(rtExpiry !== undefined ? { refreshTokenExpiresAt: rtExpiry } : {}),
  };
}

/**
 * A successful response without `expires_in`, given a default lifetime: logged, at `warn`
 * for the engine's own default (a custom provider) the first time it applies to the
 * connection (its last lifetime was another), else at `debug`.
 */
function warnDefaultLifetime(
  deps: EngineDeps,
  record: ConnectedRecord,
  tokens: IssuedTokens,
  lifetimeSeconds: number,
): void {
  const fields = { connection: record.connection, lifetimeSeconds, source: tokens.expiresInDefault };
  if (
    tokens.expiresInDefault === 'engine' &&
    record.tokenLifetimeSeconds !== ENGINE_DEFAULT_EXPIRES_IN_SECONDS
  ) {
    deps.logger.warn(
      'the token response had no expires_in and the provider behaviour gives no default lifetime: ' +
        'the access token is assumed to live one hour (a consumer 401 asks for an earlier refresh)',
      fields,
    );
  } else {
    deps.logger.debug('the token response had no expires_in: a default lifetime applies', fields);
  }
}

/**
 * An invalid 2xx that still carried a new refresh token (a success without an access
 * token, a token type the behaviour refuses, a malformed `expires_in`): the old token is
 * spent, so the new one is committed — with the failure as `lastError`, whatever the version
 * floor, the old access token kept until it expires — or rescued, never dropped. The failure
 * then backs off like any invalid response.
 */
async function commitSalvagedRefreshToken(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectedRecord,
  failure: Classified,
  salvaged: { refreshToken: string; sentAt: number },
): Promise<FailedResult> {
  const { connection } = lease;
  deps.logger.registerSecret(salvaged.refreshToken);
  const now = deps.clock.now();
  const facts = tokenSetFacts(record, { refreshToken: salvaged.refreshToken }, salvaged.sentAt);
  const expiresAt = record.expiresAt && record.accessToken ? Date.parse(record.expiresAt) : undefined;
  lease.backOff(nextBackoff(lease.previous, { versionId: current.versionId, expiresAt }, now, deps.settings));
  let encrypted: Ciphertext | undefined;
  try {
    encrypted = await deps.keys.encrypt(salvaged.refreshToken, refreshTokenContext(lease.secretName));
  } catch (error) {
    deps.logger.error(
      'CRITICAL: the provider rotated the refresh token in an unusable answer, and the new refresh token ' +
        'could not be encrypted; the connection will need re-authentication',
      { connection, error: describeError(error) },
    );
    return failedResult(deps, connection, 'commit_failed', 'the new refresh token could not be encrypted');
  }
  const updated: ConnectionRecord = {
    ...record,
    refreshToken: encrypted,
    ...facts,
    lastError: { class: failure.failureClass, message: failure.message, at: new Date(now).toISOString() },
  };
  if (facts.refreshTokenExpiresAt === undefined) delete updated.refreshTokenExpiresAt;
  const committed = await lease.commit(current.versionId, async () => serializeRecord(updated));
  deps.logger.warn(
    'the token endpoint rotated the refresh token in an unusable answer; the new one is kept',
    {
      connection,
      failureClass: failure.failureClass,
      reason: failure.message,
      committed: committed.ok,
    },
  );
  if (!committed.ok) {
    emit(deps, MetricName.CommitFailed, 'Count', 1);
    return rescueTokenSet(
      deps,
      lease,
      current,
      {
        refreshToken: encrypted,
        expiresIn: record.tokenLifetimeSeconds ?? ENGINE_DEFAULT_EXPIRES_IN_SECONDS,
        expiresAt: now,
        refreshedAt: new Date(now).toISOString(),
        refreshTokenExpiresAt: facts.refreshTokenExpiresAt,
      },
      committed.error,
    );
  }
  await lease.release();
  await lease.writeHint(committed.versionId, updated);
  return failedResult(deps, connection, failure.failureClass, failure.message, {
    versionId: committed.versionId,
    expiresAt,
    nextAttemptAt: lease.nextAttemptAt(),
    ...expiryOf(updated),
  });
}

/**
 * The answer to AWSCURRENT's refresh token is unknown, and the ambiguous-answer policy
 * allows no more requests with it (version-access.ts): the documented retry is spent and
 * the provider's reuse window, if any, is over. It was probably rotated with the answer
 * lost; sending it again blindly would be a reuse. The connection needs re-authentication.
 */
async function giveUpLostAnswer(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  reuseWindowSeconds: number,
  expiresAt: number | undefined,
): Promise<FailedResult> {
  const { connection } = lease;
  const window =
    reuseWindowSeconds > 0
      ? `its reuse window (${reuseWindowSeconds} s) is over`
      : 'the provider keeps no reuse window';
  const message =
    'the answer to this refresh token was lost after its one retry and ' +
    `${window}: the provider probably rotated it, so it is not sent again blindly; ` +
    `reconnect (token-refresher connect ${connection})`;
  // Reported (ReauthRequired) by the commit, if it lands; else by the run that finds it landed.
  await commitStatus(deps, lease, current, record, 'reauth_required', 'reauth_required', message);
  deps.logger.error(`connection needs re-authentication: ${message}`, {
    connection,
    failureClass: 'reauth_required',
  });
  return failedResult(
    deps,
    connection,
    'reauth_required',
    message,
    { versionId: current.versionId, expiresAt },
    { alreadyLogged: true },
  );
}

/** The refresh token's expiry of a record, for results (and the run's re-authentication metrics). */
function expiryOf(record: ConnectionRecord): { refreshTokenExpiresAt?: number } {
  return record.refreshTokenExpiresAt !== undefined
    ? { refreshTokenExpiresAt: Date.parse(record.refreshTokenExpiresAt) }
    : {};
}

async function handleFailure(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  failure: Classified,
  sentBefore: boolean,
  expiresAt: number | undefined,
): Promise<FailedResult> {
  const { connection } = lease;
  const at = { versionId: current.versionId, expiresAt };
  if (failure.failureClass === 'reauth_required') {
    const why = sentBefore
      ? 'This refresh token had been sent before in a request whose answer was lost: the provider probably ' +
        'rotated it then, and it treats the reuse as theft and revokes the grant.'
      : 'token-refresher had not used this refresh token before: it was revoked or expired, or it was used ' +
        'by someone else, which may mean theft; review the provider’s security log.';
    const message = `${failure.message}. ${why}`;
    // Reported (ReauthRequired) by the commit, if it lands; else by the run that finds it landed.
    await commitStatus(deps, lease, current, record, 'reauth_required', 'reauth_required', message);
    deps.logger.error(
      `connection needs re-authentication: run the authorization code flow again (token-refresher connect ${connection}). ${why}`,
      { connection, failureClass: 'reauth_required', reason: failure.message },
    );
    return failedResult(deps, connection, 'reauth_required', message, at, { alreadyLogged: true });
  }
  if (failure.providerDescription !== undefined) {
    // The provider's own words go to the operator's log only, never into the record.
    deps.logger.warn('the token endpoint described its error', {
      connection,
      failureClass: failure.failureClass,
      providerDescription: failure.providerDescription,
    });
  }
  const lost =
    failure.failureClass === 'ambiguous'
      ? lostAnswerBackoff(lease.markerNow(), behaviourOf(record.provider!).rotation, deps.settings)
      : undefined;
  if (!BACKING_OFF_CLASSES.includes(failure.failureClass) && !lost?.backsOff) {
    return failedResult(deps, connection, failure.failureClass, failure.message, {
      ...at,
      ...expiryOf(record),
    });
  }
  // No hammering: the next attempt waits (core/backoff.ts), recorded with the release and
  // mirrored in the hint, so the runs in between read nothing.
  const backoff = nextBackoff(
    lease.previous,
    {
      versionId: current.versionId,
      retryAfterMs: failure.retryAfterMs,
      expiresAt,
      ...(lost?.backsOff && lost.notAfter !== undefined ? { notAfter: lost.notAfter } : {}),
    },
    deps.clock.now(),
    deps.settings,
  );
  lease.backOff(backoff);
  // A token that may have been consumed (an unreadable 2xx) keeps its record version, so the
  // marker still says so to the next holder: a status commit would make it look unsent.
  const written =
    lease.transactionState !== 'maybe_consumed' &&
    (await recordFailure(deps, lease, current, record, failure, backoff.failureStreak));
  if (!written) {
    await lease.release();
    await lease.writeHint(current.versionId, record);
  }
  deps.logger.warn('the connection backs off: no request before its next attempt', {
    connection,
    failureClass: failure.failureClass,
    failureStreak: backoff.failureStreak,
    nextAttemptAt: new Date(backoff.nextAttemptAt).toISOString(),
  });
  return failedResult(deps, connection, failure.failureClass, failure.message, {
    ...at,
    nextAttemptAt: backoff.nextAttemptAt,
    ...expiryOf(record),
  });
}

/**
 * Writes a failure that backs off to the record's `lastError`, once per episode: a
 * configuration error or an invalid response when its class and message are not already
 * the last error's, a transient failure once it has lasted `PERSISTENT_TRANSIENT_RUNS` runs
 * (and is not the last error's class already). A version per run would exhaust the version
 * quota; `commitStatus` also holds it back within the version floor. Returns whether a
 * version was committed.
 */
async function recordFailure(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  failure: Classified,
  failureStreak: number,
): Promise<boolean> {
  const { lastError } = record;
  const { failureClass } = failure;
  if (failureClass === 'transient') {
    if (failureStreak < PERSISTENT_TRANSIENT_RUNS || lastError?.class === 'transient') return false;
    const message = `the token endpoint keeps failing (${failureStreak} runs in a row; last: ${failure.message}); retrying with backoff`;
    return commitStatus(deps, lease, current, record, 'active', 'transient', message);
  }
  if (lastError?.class === failureClass && lastError.message === failure.message) return false;
  return commitStatus(deps, lease, current, record, 'active', failureClass, failure.message);
}

/**
 * Writes a configuration error to the record's `lastError`, once per episode (the same
 * class and message as the last error). For refusals, which do not back off.
 */
async function recordConfigurationError(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  message: string,
): Promise<void> {
  const { lastError } = record;
  if (lastError?.class === 'configuration' && lastError.message === message) return;
  await commitStatus(deps, lease, current, record, 'active', 'configuration', message);
}

/**
 * A token endpoint outside the allowed origins, or one the client credentials are not
 * bound to: nothing is sent and nothing secret is decrypted. The refusal is a metric
 * (`EndpointRefused`, alarmed), an error line, and the record's `lastError` (once per episode).
 */
async function refuseEndpoint(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  message: string,
  expiresAt: number | undefined,
): Promise<FailedResult> {
  reportEndpointRefusal(deps, lease.connection, message);
  // Published before anything else is written: a run that dies later still reported it.
  await flushMetrics(deps);
  await recordConfigurationError(deps, lease, current, record, message);
  return failedResult(
    deps,
    lease.connection,
    'configuration',
    message,
    { versionId: current.versionId, expiresAt },
    { alreadyLogged: true },
  );
}

/**
 * Whether `ifVersionId` is AWSCURRENT, read without the lease. `true`, or the result to
 * answer with: a `version_changed` skip that says nothing (also for a connection that does
 * not exist), or a transient failure with a fixed message.
 */
async function namesCurrentVersion(
  deps: EngineDeps,
  connection: string,
  ifVersionId: string,
): Promise<true | ConnectionResult> {
  let versionId: string;
  try {
    versionId = (await deps.store.getCurrent(connectionSecretName(deps.settings.prefix, connection)))
      .versionId;
  } catch (error) {
    if (error instanceof SecretNotFoundError) return versionChanged(connection);
    return versionUnchecked(deps, connection, describeError(error));
  }
  return versionId === ifVersionId ? true : versionChanged(connection);
}

/** The answer to an on-demand caller that did not name the current version: nothing more. */
function versionChanged(connection: string): ConnectionResult {
  return { connection, status: 'skipped', reason: 'version_changed' };
}

/** An on-demand caller's version could not be checked: a fixed answer; the error goes to the log. */
function versionUnchecked(deps: EngineDeps, connection: string, error: string): ConnectionResult {
  deps.logger.warn('the version an on-demand request named could not be checked', { connection, error });
  return { connection, status: 'failed', failureClass: 'transient', message: VERSION_UNCHECKED };
}

function skipped(
  connection: string,
  reason: string,
  versionId: string,
  record: ConnectionRecord,
  expiresAt: number | undefined,
): Extract<ConnectionResult, { status: 'skipped' }> {
  return {
    connection,
    status: 'skipped',
    reason,
    versionId,
    expiresAt,
    recordStatus: record.status,
    ...expiryOf(record),
  };
}
