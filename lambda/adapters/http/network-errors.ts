/**
 * What a rejected `fetch` means for the refresh token. Refresh tokens are single use, so
 * a request that may have been processed may have consumed the token: the engine must
 * treat its lost answer as ambiguous rather than retry as if nothing happened. Hence
 * `requestSent` is `false` only when that is provable: a DNS failure, a refused
 * connection, undici's connect timeout, a certificate error, or any error undici reports
 * while establishing the connection (TCP + TLS handshake). Everything else — a reset or
 * closed socket, an unknown error — counts as sent.
 */
import { subscribe } from 'node:diagnostics_channel';

/**
 * Errors undici reported while establishing a connection (TCP connect, TLS handshake).
 * The request is only written after the connection is up, so these are provably unsent.
 */
const connectErrors = new WeakSet<object>();
subscribe('undici:client:connectError', (message) => {
  const error = (message as { error?: unknown } | undefined)?.error;
  if (typeof error === 'object' && error !== null) connectErrors.add(error);
});

const DNS_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'EAI_ADDRFAMILY',
]);

/**
 * Codes that can only arise before the request is written, so they prove it unsent even
 * without the diagnostics channel. (EHOSTUNREACH, ENETUNREACH, ETIMEDOUT and ECONNRESET
 * can also hit an established socket: they count as unsent only when undici reported them
 * as connect errors.)
 */
const PRE_SEND_CODES = new Set([
  ...DNS_CODES,
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  // Certificate verification happens during the TLS handshake only.
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

export type FetchFailure =
  | { kind: 'network'; requestSent: boolean; reason: string }
  /** fetch refused the request itself (its "bad port" list). */
  | { kind: 'blocked_port' };

/**
 * Classifies what `fetch` rejected with. Not for our own timeout, which the caller checks
 * first: it may fire while still connecting, but that cannot be told apart, so it is "sent".
 */
export function classifyFetchError(error: unknown): FetchFailure {
  const tree = errorTree(error);
  if (tree.some(isBadPortError)) return { kind: 'blocked_port' };
  const code = firstErrorCode(tree);
  const provablyUnsent = tree.some((e) => connectErrors.has(e) || PRE_SEND_CODES.has(errorCode(e) ?? ''));
  return provablyUnsent
    ? {
        kind: 'network',
        requestSent: false,
        reason: `${preSendFailure(code)} before the request was sent (${code})`,
      }
    : {
        kind: 'network',
        requestSent: true,
        reason: `the exchange failed after the request may have been sent (${code})`,
      };
}

/** Names what interrupted a response body read: an error code, never a message (it may quote data). */
export function describeBodyError(error: unknown): string {
  return firstErrorCode(errorTree(error));
}

function preSendFailure(code: string): string {
  if (DNS_CODES.has(code)) return 'DNS lookup failed';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect timed out';
  if (/CERT|SSL|TLS/.test(code)) return 'TLS handshake failed';
  return 'connection failed';
}

/** fetch's own refusal of a port; a system error with the same message would carry a code. */
function isBadPortError(error: object): boolean {
  return (error as { message?: unknown }).message === 'bad port' && errorCode(error) === undefined;
}

/** The error, its `cause` chain and `AggregateError` members, breadth first (bounded: causes can cycle). */
function errorTree(root: unknown): object[] {
  const out: object[] = [];
  const queue: unknown[] = [root];
  while (queue.length > 0 && out.length < 16) {
    const error = queue.shift();
    if (typeof error !== 'object' || error === null || out.includes(error)) continue;
    out.push(error);
    const { cause, errors } = error as { cause?: unknown; errors?: unknown };
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return out;
}

function firstErrorCode(tree: readonly object[]): string {
  return tree.map(errorCode).find((code) => code !== undefined) ?? 'no error code';
}

/** A plausible error code; anything else might be attacker-controlled text. */
function errorCode(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}
