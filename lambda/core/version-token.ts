import { createHash } from 'node:crypto';

/**
 * The `ClientRequestToken` of any version written to replace `fromVersionId`.
 *
 * Derived only from the secret and the replaced version, so a retried write is
 * idempotent (same token, same value) and two writers that started from the same
 * version cannot both land: Secrets Manager refuses the second value under a token
 * it already holds (`ResourceExistsException`).
 */
export function clientRequestTokenFor(secretName: string, fromVersionId: string): string {
  const hex = createHash('sha256')
    .update(`token-refresher/v1\n${secretName}\n${fromVersionId}`)
    .digest('hex');
  // UUID layout (36 characters) keeps version ids looking like the ones Secrets Manager makes.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
