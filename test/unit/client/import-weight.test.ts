import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * Importing the consumer library must stay light: what a consumer's cold start loads is the
 * entry chunk of a bundle; the Lambda client for the 401 path must sit in a lazy chunk, and
 * KMS, CloudWatch, DynamoDB and the refresher's schema library must not be there at all.
 */
describe('consumer library import weight', () => {
  it('loads only the Secrets Manager client eagerly; the Lambda client lazily; never KMS or CloudWatch', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'client-bundle-'));
    try {
      const result = await build({
        entryPoints: ['lambda/client/index.ts'],
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        outdir,
        metafile: true,
        write: true,
        logLevel: 'silent',
      });
      const outputs = Object.entries(result.metafile.outputs);
      const entry = outputs.find(([, output]) => output.entryPoint === 'lambda/client/index.ts');
      expect(entry).toBeDefined();
      const eager = Object.keys(entry![1].inputs).join('\n');
      const everything = outputs.flatMap(([, output]) => Object.keys(output.inputs)).join('\n');

      expect(eager).toMatch(/@aws-sdk\/client-secrets-manager/);
      expect(eager).not.toMatch(/@aws-sdk\/client-lambda/);
      expect(everything).toMatch(/@aws-sdk\/client-lambda/); // present, in a lazy chunk
      for (const heavy of ['client-kms', 'client-cloudwatch', 'client-dynamodb', 'node_modules/zod']) {
        expect(everything).not.toContain(heavy);
      }
      const lazyChunks = outputs.filter(([, output]) =>
        Object.keys(output.inputs).some((i) => i.includes('client-lambda')),
      );
      expect(lazyChunks.every(([path]) => path !== entry![0])).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
