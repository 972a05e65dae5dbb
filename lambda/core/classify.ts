import type { FailureClass } from './errors.js';
import type { TokenEndpointOutcome } from './ports.js';

type FailedOutcome = Exclude<TokenEndpointOutcome, { kind: 'tokens' }>;

export interface Classified {
  failureClass: FailureClass;
  /** Safe to log: names the status and OAuth error code, never a body or token. */
  message: string;
  /** Whether the refresh token may have been consumed by this request. */
  mayHaveConsumedToken: boolean;
  /** For transient failures: the provider's Retry-After, if any. */
  retryAfterMs?: number;
}

/** Maps a failed token-endpoint outcome to its failure class (docs/refresh-transaction.md). */
export function classifyFailure(outcome: FailedOutcome): Classified {
  switch (outcome.kind) {
    case 'oauth_error': {
      const described = outcome.description ? ` (${outcome.description})` : '';
      if (outcome.error === 'invalid_grant') {
        return {
          failureClass: 'reauth_required',
          message: `the provider rejected the refresh token: invalid_grant${described}`,
          mayHaveConsumedToken: false,
        };
      }
      if (outcome.status === 429 || outcome.status >= 500 || outcome.error === 'temporarily_unavailable') {
        return {
          failureClass: 'transient',
          message: `the token endpoint answered HTTP ${outcome.status} ${outcome.error}`,
          mayHaveConsumedToken: false,
        };
      }
      if (outcome.status === 0) {
        // Refused before sending (an insecure or malformed endpoint): nothing reached the provider.
        return {
          failureClass: 'configuration',
          message: `the token request was not sent: ${outcome.error}${described}; fix the connection's token endpoint`,
          mayHaveConsumedToken: false,
        };
      }
      return {
        failureClass: 'configuration',
        message:
          `the token endpoint refused the client: ${outcome.error}${described} (HTTP ${outcome.status}); ` +
          'check the client credentials secret, the client authentication method and the token endpoint',
        mayHaveConsumedToken: false,
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
    case 'invalid_response':
      return {
        failureClass: 'invalid_response',
        message: `the token endpoint answered HTTP ${outcome.status} with an invalid token response (${outcome.code}): ${outcome.reason}`,
        // A 2xx may mean the provider rotated the token even though the body is unusable.
        mayHaveConsumedToken: outcome.status >= 200 && outcome.status < 300,
      };
  }
}
