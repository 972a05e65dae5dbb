import { describeError, TokenRefresherError, TransientDependencyError } from '../core/errors.js';

/**
 * AWS errors, turned into the core's domain errors at the edge: the core never matches
 * an AWS error name. AWS error messages name resources and request ids, never secret values.
 */

/** The AWS error name (`ResourceNotFoundException`, ...), if any. */
export function awsErrorName(error: unknown): string | undefined {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

/** AWS error names that mean "try again later" (the SDK has already retried them). */
const TRANSIENT_AWS_ERRORS = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServiceError',
  'InternalServerError',
  'InternalFailure',
  'KMSInternalException',
  'DependencyTimeoutException',
  'RequestTimeout',
  'TimeoutError',
]);

/** Whether an AWS error (or one it wraps) is a throttle or outage rather than a fault of ours. */
export function isTransientAwsError(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (TRANSIENT_AWS_ERRORS.has(current.name)) return true;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The domain error for a failed AWS call: `TransientDependencyError` for throttles and
 * outages, a plain `TokenRefresherError` otherwise. `what` names the call and resource,
 * e.g. `Secrets Manager PutSecretValue on "token-refresher/a"`; `reason` replaces the
 * AWS message where even that says more than an operator needs.
 */
export function dependencyFailure(what: string, error: unknown, reason?: string): TokenRefresherError {
  const message = `${what} failed: ${reason ?? describeError(error)}`;
  return isTransientAwsError(error)
    ? new TransientDependencyError(message, { cause: error })
    : new TokenRefresherError(message, { cause: error });
}
