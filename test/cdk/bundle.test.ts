import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logicalIdOf, propertiesOf, synth } from './support/synth.js';

/**
 * The files a cold start loads: the entry and, transitively, the chunks it imports
 * statically (a dynamic `import()` loads its chunk on first use, not at import).
 */
function staticClosure(directory: string, entry: string): string[] {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(directory, file), 'utf8');
    for (const [, specifier] of code.matchAll(/(?:\bfrom|\bimport)\s*["'](\.\.?\/[^"']+)["']/g)) {
      pending.push(join(dirname(file), specifier ?? ''));
    }
  }
  return [...seen];
}

/** The source files a bundled file was built from, as its source map names them. */
function sourcesOf(directory: string, file: string): string[] {
  return (JSON.parse(readFileSync(join(directory, `${file}.map`), 'utf8')) as { sources: string[] }).sources;
}

/** A generous bound on the entry file and its chunks together (about 0.6 MB minified). */
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

    const directory = join(s.assembly.directory, assetPath);
    const bundle = join(directory, 'index.mjs');
    // Code-split: the entry file and its chunks (chunks/), each with its source map.
    const files = readdirSync(directory, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.mjs'),
    );
    expect(files).toContain('index.mjs');
    expect(files.filter((file) => file.startsWith('chunks/')).length).toBeGreaterThan(1);
    for (const file of files) expect(statSync(join(directory, `${file}.map`)).isFile()).toBe(true);
    const bytes = files.reduce((sum, file) => sum + statSync(join(directory, file)).size, 0);
    console.log(
      `refresher bundle: ${directory}\n  index.mjs ${(statSync(bundle).size / 1024).toFixed(0)} KiB, ${files.length} files ${(bytes / 1024).toFixed(0)} KiB, bundled in ${Date.now() - started} ms`,
    );
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(MAX_BUNDLE_BYTES);

    // The AWS SDK is bundled, not taken from the runtime: no import of @aws-sdk is left.
    // (The SDK's own error messages mention require("@aws-sdk/signature-v4-crt") in prose.)
    const externalSdkImports = files
      .flatMap((file) => [
        ...readFileSync(join(directory, file), 'utf8').matchAll(
          /(?:\bfrom\s*|\bimport\s*\(\s*|__require\s*\(\s*)["'](@aws-sdk\/[^"']+)["']/g,
        ),
      ])
      .map((match) => match[1]);
    expect(externalSdkImports).toEqual([]);

    // A cold start loads only what an idle run needs: the refresh path, the HTTP token
    // endpoint and the KMS and DynamoDB clients are in chunks loaded on first use.
    const loadedAtImport = staticClosure(directory, 'index.mjs').flatMap((file) =>
      sourcesOf(directory, file),
    );
    const everything = files.flatMap((file) => sourcesOf(directory, file));
    const lazy = [
      'lambda/core/refresh-connection.ts',
      'lambda/core/connect-connection.ts',
      'lambda/core/record.ts',
      'lambda/refresher/requests.ts',
      'node_modules/zod/',
      'lambda/adapters/http-token-endpoint.ts',
      'lambda/adapters/kms-key-service.ts',
      'lambda/adapters/dynamodb-lease-store.ts',
      'node_modules/@aws-sdk/client-kms/',
      'node_modules/@aws-sdk/client-dynamodb/',
    ];
    for (const module of lazy) {
      expect(
        everything.some((source) => source.includes(module)),
        `${module} is bundled`,
      ).toBe(true);
      expect(
        loadedAtImport.filter((source) => source.includes(module)),
        `${module} loads at cold start`,
      ).toEqual([]);
    }
    expect(
      loadedAtImport.some((source) => source.includes('node_modules/@aws-sdk/client-secrets-manager/')),
    ).toBe(true);

    // An idle run then loads the hint pages (DynamoDB's Scan) and nothing of the refresh
    // path: no records, no validation library, no KMS, no lease-item parsing.
    const hintChunk = files.find((file) => file.startsWith('chunks/dynamodb-hint-pages-'));
    expect(hintChunk, 'the hint pages are a chunk of their own').toBeDefined();
    const loadedByIdleRun = staticClosure(directory, hintChunk ?? '').flatMap((file) =>
      sourcesOf(directory, file),
    );
    expect(loadedByIdleRun.some((source) => source.includes('node_modules/@aws-sdk/client-dynamodb/'))).toBe(
      true,
    );
    for (const module of lazy.filter((module) => !module.includes('client-dynamodb'))) {
      expect(
        loadedByIdleRun.filter((source) => source.includes(module)),
        `${module} loads with the hints`,
      ).toEqual([]);
    }

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
