import type { TokenEndpointOutcome } from '../../core/ports.js';

export type InvalidResponse = Extract<TokenEndpointOutcome, { kind: 'invalid_response' }>;

/** The stable codes of `invalid_response` outcomes (their meanings are in core/ports.ts). */
export type InvalidResponseCode = InvalidResponse['code'];

export function invalidResponse(status: number, code: InvalidResponseCode, reason: string): InvalidResponse {
  return { kind: 'invalid_response', status, code, reason };
}
