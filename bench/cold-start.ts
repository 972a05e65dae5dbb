import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { median } from './stats.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The NodejsFunction bundling options of lib/token-refresher.ts, as esbuild options: ESM,
 * minified, target node24, platform node, module-first main fields, the createRequire
 * banner, a source map without sources, and nothing external (the SDK is bundled).
 */
export const LAMBDA_BUNDLING = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  external: [],
  logLevel: 'error',
  metafile: true,
} satisfies esbuild.BuildOptions;

/** The esbuild command line equivalent, for BENCHMARKS.md. */
export const LAMBDA_BUNDLING_CLI =
  'esbuild <entry> --bundle --format=esm --platform=node --target=node24 --main-fields=module,main ' +
  `--banner:js="${LAMBDA_BUNDLING.banner.js}" --minify --sourcemap --sources-content=false`;

export interface Bundle {
  id: string;
  entry: string;
  file: string;
  /** The minified bundle, without its source map. */
  bytes: number;
  mapBytes: number;
  metafile: esbuild.Metafile;
}

/**
 * Modules replaced by empty stand-ins in what-if bundles, to size what dropping or
 * lazy-loading a dependency would save at cold start. Each stub exports the names the
 * refresher imports; they are only constructed at import, never used.
 */
export const STUBS: Record<string, string> = {
  '@aws-sdk/client-secrets-manager':
    'export class SecretsManagerClient {} export class GetSecretValueCommand {} export class ListSecretsCommand {} ' +
    'export class PutSecretValueCommand {} export class CreateSecretCommand {} export class DeleteSecretCommand {}',
  '@aws-sdk/client-kms':
    'export class KMSClient {} export class EncryptCommand {} export class DecryptCommand {}',
  '@aws-sdk/client-dynamodb':
    'export class DynamoDBClient {} export class GetItemCommand {} export class UpdateItemCommand {} export class ScanCommand {}',
  '@aws-lambda-powertools/logger': 'export class Logger {}',
  '@aws-lambda-powertools/metrics': 'export class Metrics {}',
  // Schemas are built at import: a chainable stand-in accepts any builder call.
  // The refresher imports zod as a namespace (`import * as z`), so the stub exports every name it uses.
  zod:
    'const z = new Proxy(function () {}, { get: () => z, apply: () => z }); export default z; ' +
    'export { z, z as array, z as boolean, z as coerce, z as enum, z as iso, z as literal, z as number, ' +
    'z as object, z as record, z as string, z as union, z as unknown, z as url };',
};

function stubPlugin(stubbed: readonly string[]): esbuild.Plugin {
  const names = new Set(stubbed);
  return {
    name: 'bench-stubs',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) =>
        names.has(args.path) ? { path: args.path, namespace: 'bench-stub' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'bench-stub' }, (args) => ({
        contents: STUBS[args.path] ?? '',
        loader: 'js',
      }));
    },
  };
}

/** Bundles `entry` (relative to the repository) the way the Lambda is bundled. */
export async function buildBundle(
  id: string,
  entry: string,
  outdir: string,
  options: { stubs?: readonly string[]; external?: string[] } = {},
): Promise<Bundle> {
  const file = join(outdir, `${id}.mjs`);
  const result = await esbuild.build({
    ...LAMBDA_BUNDLING,
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    outfile: file,
    external: options.external ?? [],
    plugins: options.stubs?.length ? [stubPlugin(options.stubs)] : [],
  });
  return {
    id,
    entry,
    file,
    bytes: statSync(file).size,
    mapBytes: statSync(`${file}.map`).size,
    metafile: result.metafile,
  };
}

/** Bytes in the bundle by contributor (package, or the repository's own code), largest first. */
export function contributors(bundle: Bundle): { name: string; bytes: number }[] {
  const output = Object.values(bundle.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) return [];
  const groups = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const name = contributorOf(path);
    groups.set(name, (groups.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...groups]
    .map(([name, bytes]) => ({ name, bytes }))
    .filter((c) => c.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}

function contributorOf(path: string): string {
  const match = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/);
  if (!match) return path.startsWith('bench-stub:') ? 'stubs' : 'token-refresher code';
  const name = match[1]!;
  if (name === 'zod' && match[2]!.includes('/locales/')) return 'zod (locales)';
  if (name.startsWith('@smithy/')) return '@smithy/* (SDK runtime)';
  if (name.startsWith('@aws-sdk/client-')) return name;
  if (name.startsWith('@aws-sdk/')) return '@aws-sdk/* shared (core, credentials, ...)';
  if (name.startsWith('@aws-lambda-powertools/')) return `Powertools ${name.slice(name.indexOf('/') + 1)}`;
  return name;
}

export interface ImportTarget {
  id: string;
  /** Arguments to `node`; `['-e', '']` is bare node. */
  args: string[];
  env?: Record<string, string>;
}

/** Environment for spawned processes: nothing inherited but PATH and HOME. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extra };
}

/** Wall time of one `node <args>` run, from spawn to exit. */
function spawnMs(target: ImportTarget): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, target.args, { env: cleanEnv(target.env), stdio: 'ignore' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${target.args.join(' ')} exited with ${result.status}`);
  return ms;
}

/**
 * Spawns each target `runs` times, round-robin (so machine noise hits all alike), after
 * one untimed warm-up each (file-system cache). Returns the wall times by target id.
 */
export function spawnTimes(targets: readonly ImportTarget[], runs: number): Map<string, number[]> {
  const times = new Map<string, number[]>(targets.map((t) => [t.id, []]));
  for (const target of targets) spawnMs(target);
  for (let run = 0; run < runs; run += 1) {
    for (const target of targets) times.get(target.id)!.push(spawnMs(target));
  }
  return times;
}

/**
 * Import time above bare node: the median, over the rounds, of the target's wall time minus
 * bare node's in the same round (pairs cancel the drift of a noisy machine).
 */
export function importMs(times: Map<string, number[]>, id: string, bareId = 'bare'): number {
  const target = times.get(id) ?? [];
  const bare = times.get(bareId) ?? [];
  return median(target.map((ms, i) => ms - (bare[i] ?? Number.NaN)));
}

export function relativeToRepo(path: string): string {
  return relative(REPO_ROOT, path);
}

/** The refresher's environment, as the CDK construct sets it (decodeRefresherEnvironment needs the first four). */
export const REFRESHER_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  CONNECTION_PREFIX: 'token-refresher/',
  LEASE_TABLE_NAME: 'token-refresher-leases',
  REFRESH_TOKEN_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
  POWERTOOLS_SERVICE_NAME: 'token-refresher',
  POWERTOOLS_METRICS_NAMESPACE: 'TokenRefresher',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

export interface BundleResult {
  id: string;
  label: string;
  entry: string;
  bytes: number;
  mapBytes: number;
  /** Median import time above bare node. */
  importMs: number;
  /** The same with `--enable-source-maps` (the deployed NODE_OPTIONS), when measured. */
  importMsWithSourceMaps?: number;
}

export interface ColdStartResult {
  runs: number;
  bareMs: number;
  refresher: BundleResult;
  naive: BundleResult;
  refresherContributors: { name: string; bytes: number }[];
  naiveContributors: { name: string; bytes: number }[];
  whatIfs: (BundleResult & { stubs: readonly string[]; external: string[] })[];
  zodMini: BundleResult;
  sigv4: BundleResult;
  clientContributors: { name: string; bytes: number }[];
  consumer: { client: BundleResult; powertools: BundleResult; raw: BundleResult };
}

interface Spec {
  id: string;
  label: string;
  entry: string;
  env?: Record<string, string>;
  stubs?: readonly string[];
  /** Left out of the bundle, resolved from node_modules at run time (as from the Lambda runtime's). */
  external?: string[];
  sourceMaps?: boolean;
}

const HEAVY = [
  '@aws-sdk/client-kms',
  '@aws-sdk/client-dynamodb',
  '@aws-lambda-powertools/logger',
  '@aws-lambda-powertools/metrics',
  'zod',
];

const REFRESHER_ENTRY = 'lambda/refresher/handler.ts';

const SPECS: Spec[] = [
  {
    id: 'refresher',
    label: 'refresher handler',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    sourceMaps: true,
  },
  {
    id: 'naive',
    label: 'naive: SM + KMS + CloudWatch clients',
    entry: 'bench/entries/naive-sdk.ts',
    env: { AWS_REGION: 'us-east-1' },
    sourceMaps: true,
  },
  {
    id: 'lazy-clients',
    label: 'KMS + DynamoDB clients loaded lazily (not at import)',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    stubs: ['@aws-sdk/client-kms', '@aws-sdk/client-dynamodb'],
  },
  {
    id: 'no-powertools',
    label: 'without Powertools Logger + Metrics',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    stubs: ['@aws-lambda-powertools/logger', '@aws-lambda-powertools/metrics'],
  },
  {
    id: 'no-zod',
    label: 'without zod',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    stubs: ['zod'],
  },
  {
    id: 'floor',
    label: 'all three above (engine + Secrets Manager client)',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    stubs: HEAVY,
  },
  {
    id: 'engine-only',
    label: 'no AWS SDK client either (the engine alone)',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    stubs: [...HEAVY, '@aws-sdk/client-secrets-manager'],
  },
  {
    id: 'sdk-external',
    label: 'AWS SDK external (the Lambda runtime’s copy)',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    external: ['@aws-sdk/*', '@smithy/*'],
  },
  {
    id: 'sigv4',
    label: 'a SigV4 signer (@smithy/signature-v4 on node:crypto)',
    entry: 'bench/entries/sigv4-signer.ts',
  },
  {
    id: 'zod-mini',
    label: "the refresher's schemas in zod/mini",
    entry: 'bench/entries/zod-mini-schemas.ts',
  },
  {
    id: 'client',
    label: 'token-refresher/client',
    entry: 'lambda/client/index.ts',
    env: { AWS_REGION: 'us-east-1' },
  },
  {
    id: 'powertools',
    label: 'Powertools Parameters getSecret',
    entry: 'bench/entries/powertools-get-secret.ts',
    env: { AWS_REGION: 'us-east-1' },
  },
  {
    id: 'raw',
    label: 'raw SecretsManagerClient + GetSecretValueCommand',
    entry: 'bench/entries/raw-get-secret-value.ts',
    env: { AWS_REGION: 'us-east-1' },
  },
];

/**
 * Builds every bundle, then times their cold imports against bare node, interleaved.
 * `outdir` must be inside the repository (bundles with external packages resolve them
 * from its node_modules).
 */
export async function runColdStart(outdir: string, runs: number): Promise<ColdStartResult> {
  const bundles = new Map<string, Bundle>();
  for (const spec of SPECS) bundles.set(spec.id, await buildBundle(spec.id, spec.entry, outdir, spec));
  const targets: ImportTarget[] = [{ id: 'bare', args: ['-e', ''] }];
  for (const spec of SPECS) {
    const file = bundles.get(spec.id)!.file;
    targets.push({ id: spec.id, args: [file], env: spec.env });
    if (spec.sourceMaps) {
      targets.push({
        id: `${spec.id}+maps`,
        args: ['--enable-source-maps', file],
        env: spec.env,
      });
    }
  }
  const times = spawnTimes(targets, runs);
  const result = (id: string): BundleResult => {
    const spec = SPECS.find((s) => s.id === id)!;
    const bundle = bundles.get(id)!;
    return {
      id,
      label: spec.label,
      entry: spec.entry,
      bytes: bundle.bytes,
      mapBytes: bundle.mapBytes,
      importMs: importMs(times, id),
      ...(spec.sourceMaps ? { importMsWithSourceMaps: importMs(times, `${id}+maps`) } : {}),
    };
  };
  return {
    runs,
    bareMs: median(times.get('bare')!),
    refresher: result('refresher'),
    naive: result('naive'),
    refresherContributors: contributors(bundles.get('refresher')!),
    naiveContributors: contributors(bundles.get('naive')!),
    whatIfs: ['lazy-clients', 'no-powertools', 'no-zod', 'floor', 'engine-only', 'sdk-external'].map(
      (id) => ({
        ...result(id),
        stubs: SPECS.find((s) => s.id === id)!.stubs ?? [],
        external: SPECS.find((s) => s.id === id)!.external ?? [],
      }),
    ),
    zodMini: result('zod-mini'),
    sigv4: result('sigv4'),
    clientContributors: contributors(bundles.get('client')!),
    consumer: { client: result('client'), powertools: result('powertools'), raw: result('raw') },
  };
}
