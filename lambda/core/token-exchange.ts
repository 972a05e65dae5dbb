import { MetricName } from '../contract/metric-names.js';
import { backoffDelayMs } from './budget.js';
import { type Classified, classifyFailure } from './classify.js';
import { type EngineDeps, emit } from './engine.js';
import type { ClientCredentials, IssuedTokens } from './ports.js';
import { behaviourOf, type ConnectedRecord } from './record.js';
import { mayResendUncertain } from './version-access.js';
import type { ConnectionLease } from './write-protocol.js';

export type ExchangeResult =
  | { tokens: IssuedTokens; sentAt: number }
  | {
      failure: Classified;
      /**
       * A new refresh token an invalid 2xx response still carried: the old one is spent, and
       * this one must be committed (or rescued), never dropped.
       */
      salvaged?: { refreshToken: string; sentAt: number };
    };

/**
 * Sends the refresh grant, retrying only what is safe to retry, within the budget. Each
 * request's ending is reported to the lease, whose state then says whether the token may
 * have been consumed (docs/refresh-transaction.md, "Failure classes").
 */
export async function exchangeRefreshToken(
  deps: EngineDeps,
  lease: ConnectionLease,
  record: ConnectedRecord,
  refreshToken: string,
  credentials: ClientCredentials,
  /** The version whose token this is, when its earlier answer is unknown: re-checked before each retry. */
  uncertainVersionId?: string,
): Promise<ExchangeResult> {
  const { settings, clock } = deps;
  const { budget } = lease;
  const behaviour = behaviourOf(record.provider);
  let transientAttempts = 0;
  let ambiguousRetried = false;
  let attempts = 0;
  let lastFailure: Classified | undefined;
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
    if (
      attempts > 0 &&
      uncertainVersionId !== undefined &&
      (await lease.replacedByLandedCommit(uncertainVersionId))
    ) {
      return {
        failure: {
          failureClass: 'transient',
          message:
            'a commit from this version landed while its refresh token was being retried (a holder that died ' +
            'had its write land late); nothing more was sent, and the next run reads the new version',
          mayHaveConsumedToken: false,
        },
      };
    }
    // A retry after a request that may have used the token: its count is recorded first.
    if (lastFailure !== undefined && !(await lease.recordNextRequest())) return { failure: lastFailure };
    attempts += 1;
    const sentAt = clock.now();
    lease.beginRequest();
    const outcome = await deps.tokenEndpoint.refresh({
      tokenEndpoint: record.provider.tokenEndpoint,
      dialect: record.provider.dialect,
      clientAuth: record.provider.clientAuth,
      credentials,
      refreshToken,
      ...(behaviour.scope.sendOnRefresh && record.provider.scope !== undefined
        ? { scope: record.provider.scope }
        : {}),
      timeoutMs,
      allowInsecureLoopback: settings.allowInsecureLoopback,
      behaviour,
    });
    emit(deps, MetricName.RefreshLatency, 'Milliseconds', clock.now() - sentAt);
    if (outcome.kind === 'tokens') {
      lease.endRequest('answered');
      return { tokens: outcome.tokens, sentAt };
    }

    const failure = classifyFailure(outcome, behaviour);
    if (outcome.kind === 'invalid_response' && outcome.refreshToken !== undefined) {
      // The provider rotated although its answer is unusable: the old token is spent.
      lease.endRequest('answered');
      return { failure, salvaged: { refreshToken: outcome.refreshToken, sentAt } };
    }
    lease.endRequest(failure.mayHaveConsumedToken ? 'maybe_consumed' : 'not_consumed');
    lastFailure = failure;
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
      // Deliberate: one prompt retry with the same token, if the policy allows one more
      // (version-access.ts: the documented retry, within the provider's reuse window, or a
      // provider that never rotates).
      // If the provider did not process the lost request (or keeps a reuse grace window) it
      // succeeds; if it did rotate, the new token set is unrecoverable anyway and a strict
      // provider answers invalid_grant (re-auth).
      const allowed = mayResendUncertain(
        lease.markerNow(),
        behaviour.rotation,
        clock.now(),
        settings.requestTimeoutMs,
      );
      if (ambiguousRetried || !allowed) return { failure };
      ambiguousRetried = true;
      delayMs = backoffDelayMs(0, settings.backoffBaseMs, settings.backoffCapMs, deps.random);
    } else {
      return { failure };
    }
    if (!budget.fits(delayMs + settings.minRequestTimeoutMs, settings.commitReserveMs)) return { failure };
    deps.logger.info('token request failed; retrying', {
      connection: lease.connection,
      failureClass: failure.failureClass,
      reason: failure.message,
      delayMs,
    });
    await clock.sleep(delayMs);
  }
}
