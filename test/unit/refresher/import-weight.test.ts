import { describe, expect, it } from 'vitest';
import { splitBundle } from '../../support/bundle-chunks.js';

/**
 * A cold start of the refresher evaluates only the Secrets Manager client: the KMS and
 * DynamoDB clients (and their adapters) are imported on first use (composition.ts), so an
 * idle run never loads KMS. Bundled with code splitting, they must sit in lazy chunks; in
 * the deployed single-file bundle esbuild keeps them in lazy initializers (what
 * `npm run bench` times as the cold import).
 */
describe('refresher import weight', () => {
  it('loads the Secrets Manager client eagerly, the KMS and DynamoDB clients only on first use', async () => {
    const { eager, everything } = await splitBundle('lambda/refresher/handler.ts');
    expect(eager).toMatch(/@aws-sdk\/client-secrets-manager/);
    for (const lazy of [
      '@aws-sdk/client-kms',
      '@aws-sdk/client-dynamodb',
      'kms-key-service',
      'dynamodb-lease-store',
    ]) {
      expect(eager, lazy).not.toContain(lazy);
      expect(everything, lazy).toContain(lazy); // present, in a lazy chunk
    }
  });
});
