import type { FailureClass } from './errors.js';
import type { TokenEndpointOutcome } from './ports.js';
import {
  DEFAULT_BEHAVIOUR,
  isDeadTokenCode,
  isTransientCode,
  type ProviderBehaviour,
} from './provider-behaviour.js';

type FailedOutcome = Exclude<TokenEndpointOutcome, { kind: 'tokens' }>;

export interface Classified {
  failureClass: FailureClass;
  /**
   * Safe to log and to record in the consumer-readable record: the status, the OAuth error
   * code (printable ASCII, bounded) and a fixed explanation. Never a body, a token, or the
   * provider's own words.
   */
  message: string;
  /**
   * The provider's `error_description`, as the adapter sanitized it (secrets redacted,
   * control characters stripped, length capped): for the operator's log only, never the record.
   */
  providerDescription?: string;
  /** Whether the refresh token may have been consumed by this request. */
  mayHaveConsumedToken: boolean;
  /** For transient failures: the provider's Retry-After, if any. */
  retryAfterMs?: number;
  /**
   * An invalid 2xx whose body was not read as a whole: a rotated refresh token may have
   * been in it ("our request may have consumed the token"), unlike a body read in full
   * that carried none ("the provider answered something we cannot use").
   */
  unreadable?: boolean;
}

/**
 * An error code as the record may repeat it: RFC 6749 §5.2's charset (printable ASCII
 * without `"` and `\`), less the space — codes are words, not sentences — at most 64
 * characters. Anything else is not repeated.
 */
const OAUTH_ERROR_CODE = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/** The provider's error code, if it looks like one, else a fixed word. */
export function oauthErrorCode(error: string): string {
  return OAUTH_ERROR_CODE.test(error) ? error : 'unrecognized_error';
}

/**
 * Maps a failed token-endpoint outcome to its failure class (docs/refresh-transaction.md),
 * as the connection's provider behaves: a code that says the refresh token is dead
 * (`invalid_grant`, or one of `errors.deadTokenCodes`, in a 4xx or inside a 2xx) is
 * `reauth_required`; one the provider documents as temporary (`errors.transientCodes`) is
 * `transient`, whatever its status.
 */
export function classifyFailure(
  outcome: FailedOutcome,
  behaviour: ProviderBehaviour = DEFAULT_BEHAVIOUR,
): Classified {
  switch (outcome.kind) {
    case 'oauth_error': {
      const code = oauthErrorCode(outcome.error);
      const described = outcome.description ? { providerDescription: outcome.description } : {};
      if (isDeadTokenCode(outcome.error, behaviour)) {
        return {
          failureClass: 'reauth_required',
          message: `the provider rejected the refresh token: ${code}`,
          mayHaveConsumedToken: false,
          ...described,
        };
      }
      if (
        outcome.status === 429 ||
        outcome.status >= 500 ||
        outcome.error === 'temporarily_unavailable' ||
        isTransientCode(outcome.error, behaviour)
      ) {
        return {
          failureClass: 'transient',
          message: `the token endpoint answered HTTP ${outcome.status} ${code}`,
          mayHaveConsumedToken: false,
          ...described,
        };
      }
      if (outcome.status === 0) {
        // Refused before sending (an insecure or malformed endpoint): nothing reached the provider.
        // The description is the adapter's own fixed text, never the provider's.
        const why = outcome.description ? ` (${outcome.description})` : '';
        return {
          failureClass: 'configuration',
          message: `the token request was not sent: ${code}${why}; fix the connection's token endpoint`,
          mayHaveConsumedToken: false,
        };
      }
      return {
        failureClass: 'configuration',
        message:
          `the token endpoint refused the client: ${code} (HTTP ${outcome.status}); ` +
          'check the client credentials secret, the client authentication method and the token endpoint',
        mayHaveConsumedToken: false,
        ...described,
      };
    }
    case 'http_error':
      return {
        failureClass: 'transient',
        message: `the token endpoint answered HTTP ${outcome.status}`,
        mayHaveConsumedToken: false,
        retryAfterMs: outcome.retryAfterMs,
      };
    case 'network':
      return outcome.requestSent
        ? {
            failureClass: 'ambiguous',
            message: `the token request was sent but its answer was lost (${outcome.reason})`,
            mayHaveConsumedToken: true,
          }
        : {
            failureClass: 'transient',
            message: `the token request did not reach the provider (${outcome.reason})`,
            mayHaveConsumedToken: false,
          };
    case 'invalid_response': {
      const success = outcome.status >= 200 && outcome.status < 300;
      // A 2xx may mean the provider rotated the token even though the body is unusable,
      // unless the body was read in full: then a new refresh token would have been seen (and
      // is committed by the engine: `refreshToken`).
      const unreadable = success && outcome.readBody !== true;
      return {
        failureClass: 'invalid_response',
        message: `the token endpoint answered HTTP ${outcome.status} with an invalid token response (${outcome.code}): ${outcome.reason}`,
        mayHaveConsumedToken: unreadable || outcome.refreshToken !== undefined,
        ...(unreadable ? { unreadable } : {}),
      };
    }
  }
}
