import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logicalIdOf, propertiesOf, synth } from './support/synth.js';

/** A generous bound: the bundle (AWS SDK clients, zod) is about 1 MB minified. */
const MAX_BUNDLE_BYTES = 2 * 1024 * 1024;

describe('refresher bundle (real esbuild bundling, no Docker)', () => {
  it('bundles the handler with the local esbuild, below 2 MB, and it imports cleanly', () => {
    const started = Date.now();
    const s = synth({}, { bundle: true });
    const fn = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherFunction');
    // The function's code is the file asset whose hash names its S3 key.
    const s3Key = (propertiesOf(s.json, fn).Code as { S3Key: string }).S3Key;
    const manifest = JSON.parse(
      readFileSync(join(s.assembly.directory, `${s.stack.artifactId}.assets.json`), 'utf8'),
    ) as { files: Record<string, { source: { path: string; packaging: string } }> };
    const asset = manifest.files[s3Key.replace(/\.zip$/, '')];
    expect(asset?.source.packaging).toBe('zip');
    const assetPath = asset?.source.path ?? '';
    expect(assetPath, 'the function has no bundled asset').toMatch(/^asset\.[0-9a-f]{64}$/);

    const bundle = join(s.assembly.directory, assetPath, 'index.mjs');
    const bytes = statSync(bundle).size;
    const mapBytes = statSync(`${bundle}.map`).size;
    console.log(
      `refresher bundle: ${bundle}\n  index.mjs ${(bytes / 1024).toFixed(0)} KiB, index.mjs.map ${(mapBytes / 1024).toFixed(0)} KiB, bundled in ${Date.now() - started} ms`,
    );
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(MAX_BUNDLE_BYTES);

    // The AWS SDK is bundled, not taken from the runtime: no import of @aws-sdk is left.
    // (The SDK's own error messages mention require("@aws-sdk/signature-v4-crt") in prose.)
    const code = readFileSync(bundle, 'utf8');
    const externalSdkImports = [
      ...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|__require\s*\(\s*)["'](@aws-sdk\/[^"']+)["']/g),
    ].map((match) => match[1]);
    expect(externalSdkImports).toEqual([]);

    // Importing the module runs the handler's cold start (configuration, clients) without
    // any AWS call; it must load as ESM on Node and export the handler.
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(`file://${bundle}`)}); console.log(typeof m.handler);`,
      ],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'eu-west-1',
          CONNECTION_PREFIX: 'token-refresher/',
          LEASE_TABLE_NAME: 'leases',
          REFRESH_TOKEN_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/test',
          // The SDK warns on Node < 22 (this test may run on Node 20; Lambda runs Node 24).
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
    );
    expect(probe.stderr).toBe('');
    expect(probe.stdout.trim()).toBe('function');
  }, 120_000);
});
