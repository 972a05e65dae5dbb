import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * A cold start of the refresher evaluates only the Secrets Manager client: the KMS and
 * DynamoDB clients (and their adapters) are imported on first use (composition.ts), so an
 * idle run never loads KMS. Bundled with code splitting, they must sit in lazy chunks; in
 * the deployed single-file bundle esbuild keeps them in lazy initializers (what
 * `npm run bench` times as the cold import).
 */
describe('refresher import weight', () => {
  it('loads the Secrets Manager client eagerly, the KMS and DynamoDB clients only on first use', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'refresher-bundle-'));
    try {
      const result = await build({
        entryPoints: ['lambda/refresher/handler.ts'],
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        mainFields: ['module', 'main'],
        outdir,
        metafile: true,
        write: true,
        logLevel: 'silent',
      });
      const outputs = Object.entries(result.metafile.outputs);
      const entry = outputs.find(([, output]) => output.entryPoint === 'lambda/refresher/handler.ts');
      expect(entry).toBeDefined();
      const eager = Object.keys(entry![1].inputs).join('\n');
      const everything = outputs.flatMap(([, output]) => Object.keys(output.inputs)).join('\n');
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
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
