import { describe, expect, it } from 'vitest';
import { splitBundle } from '../../support/bundle-chunks.js';

/**
 * Importing the consumer library must stay light: what a consumer's cold start loads is the
 * entry chunk of a bundle; the Lambda client for the 401 path must sit in a lazy chunk, and
 * KMS, CloudWatch, DynamoDB and the refresher's schema library must not be there at all.
 */
describe('consumer library import weight', () => {
  it('loads only the Secrets Manager client eagerly; the Lambda client lazily; never KMS or CloudWatch', async () => {
    const bundle = await splitBundle('lambda/client/index.ts');
    expect(bundle.eager).toMatch(/@aws-sdk\/client-secrets-manager/);
    expect(bundle.eager).not.toMatch(/@aws-sdk\/client-lambda/);
    expect(bundle.everything).toMatch(/@aws-sdk\/client-lambda/); // present, in a lazy chunk
    for (const heavy of ['client-kms', 'client-cloudwatch', 'client-dynamodb', 'node_modules/zod']) {
      expect(bundle.everything).not.toContain(heavy);
    }
    // Of Secrets Manager's commands, only the read: none of the refresher's writes or listing.
    expect(bundle.eager).toMatch(/GetSecretValueCommand/);
    expect(bundle.eager).not.toMatch(/(ListSecrets|PutSecretValue|CreateSecret|DeleteSecret)Command/);
    expect(bundle.chunksWith('client-lambda').every((path) => path !== bundle.entryPath)).toBe(true);
  });
});
