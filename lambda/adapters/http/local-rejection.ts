import type { TokenEndpointOutcome } from '../../core/ports.js';

/**
 * Status of an `oauth_error` the adapter produced itself. It is fetch's "no HTTP
 * response": the request was never sent.
 */
export const LOCAL_REJECTION_STATUS = 0;

/** Error codes of locally refused requests (`oauth_error` with status 0). */
export const LOCAL_ERROR = {
  /**
   * Plain http: to a host that is not loopback (`insecure_http` in core/endpoint-url.ts), or
   * to loopback without the engine's test-only `allowInsecureLoopback`.
   */
  insecureEndpoint: 'insecure_endpoint',
  /** Any other endpoint URL core/endpoint-url.ts refuses, or a port fetch blocks. */
  invalidEndpoint: 'invalid_endpoint',
  /** `timeoutMs` is not a positive number. */
  invalidTimeout: 'invalid_timeout',
} as const;

export type LocalErrorCode = (typeof LOCAL_ERROR)[keyof typeof LOCAL_ERROR];

/** Why the adapter refuses to send a request. */
export interface LocalRejection {
  error: LocalErrorCode;
  description: string;
}

/**
 * A refused request as an outcome. The engine classifies it as `configuration`, like any
 * client error other than `invalid_grant`.
 */
export function localRejection({ error, description }: LocalRejection): TokenEndpointOutcome {
  return { kind: 'oauth_error', status: LOCAL_REJECTION_STATUS, error, description };
}
