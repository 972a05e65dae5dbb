import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { REFRESHER_ESBUILD_OPTIONS } from '../lib/handler-code.js';
import { median } from './stats.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The refresher's deployed bundling (lib/handler-code.ts, REFRESHER_ESBUILD_OPTIONS), as
 * esbuild options: ESM, minified, target node24, platform node, module-first main fields,
 * the createRequire banner, source maps without sources, nothing external (the SDK is
 * bundled), and code splitting: the entry file `index.mjs` and chunks loaded on first use.
 */
const { banner, mainFields, outExtension, ...deployed } = REFRESHER_ESBUILD_OPTIONS;
export const LAMBDA_BUNDLING = {
  ...deployed,
  mainFields: [...mainFields],
  outExtension: { ...outExtension },
  banner: { js: banner },
  bundle: true,
  external: [],
  logLevel: 'error',
  metafile: true,
} satisfies esbuild.BuildOptions;

/** The esbuild command line equivalent, for BENCHMARKS.md. */
export const LAMBDA_BUNDLING_CLI =
  'esbuild <entry> --bundle --format=esm --platform=node --target=node24 --main-fields=module,main ' +
  `--banner:js="${banner}" --minify --sourcemap --sources-content=false ` +
  `--splitting --outdir=<dir> --entry-names=${deployed.entryNames} --chunk-names=${deployed.chunkNames} --out-extension:.js=.mjs`;

/** How a bundle is laid out: code-split as deployed, or one file (the issue's baseline layout). */
export type Layout = 'split' | 'single';

export interface Bundle {
  id: string;
  entry: string;
  layout: Layout;
  /** The entry file a fresh node imports. */
  file: string;
  /** What a cold import loads: the entry file and the chunks it imports statically, without maps. */
  bytes: number;
  /** Every file of the bundle (all chunks), without maps. */
  totalBytes: number;
  mapBytes: number;
  /** The output files of `bytes`, by metafile path. */
  loadedAtImport: string[];
  /** The chunk (metafile path) of each module loaded by dynamic import(), by its source path. */
  lazyChunks: Record<string, string>;
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
  '@aws-sdk/client-lambda': 'export class LambdaClient {} export class InvokeCommand {}',
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

/** The outputs a cold import loads: `entry` and, transitively, its static imports. */
function staticClosure(metafile: esbuild.Metafile, entry: string): string[] {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? []) {
      if (imported.kind === 'import-statement' && metafile.outputs[imported.path])
        pending.push(imported.path);
    }
  }
  return [...seen];
}

/** Bundles `entry` (relative to the repository) the way the Lambda is bundled, or as one file. */
export async function buildBundle(
  id: string,
  entry: string,
  outdir: string,
  options: { stubs?: readonly string[]; external?: string[]; layout?: Layout } = {},
): Promise<Bundle> {
  const layout = options.layout ?? 'split';
  const directory = join(outdir, id);
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const result = await esbuild.build({
    ...LAMBDA_BUNDLING,
    ...(layout === 'single'
      ? { splitting: false, outfile: join(directory, 'index.mjs') }
      : { outdir: directory }),
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    external: options.external ?? [],
    plugins: options.stubs?.length ? [stubPlugin(options.stubs)] : [],
  });
  const { metafile } = result;
  const outputs = Object.keys(metafile.outputs).filter((path) => !path.endsWith('.map'));
  const entryOutput = outputs.find((path) => metafile.outputs[path]?.entryPoint === entry);
  if (entryOutput === undefined) throw new Error(`no output for ${entry}`);
  const loadedAtImport = staticClosure(metafile, entryOutput);
  const size = (paths: string[]) =>
    paths.reduce((sum, path) => sum + statSync(join(REPO_ROOT, path)).size, 0);
  const lazyChunks: Record<string, string> = {};
  for (const path of outputs) {
    const source = metafile.outputs[path]?.entryPoint;
    if (source !== undefined && path !== entryOutput) lazyChunks[source] = path;
  }
  return {
    id,
    entry,
    layout,
    file: join(REPO_ROOT, entryOutput),
    bytes: size(loadedAtImport),
    totalBytes: size(outputs),
    mapBytes: size(Object.keys(metafile.outputs).filter((path) => path.endsWith('.map'))),
    loadedAtImport,
    lazyChunks,
    metafile,
  };
}

/**
 * Bytes by contributor (package, or the repository's own code), largest first: in what a
 * cold import loads, or (`everything`) in every file of the bundle.
 */
export function contributors(bundle: Bundle, everything = false): { name: string; bytes: number }[] {
  const paths = everything
    ? Object.keys(bundle.metafile.outputs).filter((path) => !path.endsWith('.map'))
    : bundle.loadedAtImport;
  const groups = new Map<string, number>();
  for (const path of paths) {
    for (const [input, { bytesInOutput }] of Object.entries(bundle.metafile.outputs[path]?.inputs ?? {})) {
      const name = contributorOf(input);
      groups.set(name, (groups.get(name) ?? 0) + bytesInOutput);
    }
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
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

export interface BundleResult {
  id: string;
  label: string;
  entry: string;
  layout: Layout;
  /** What a cold import loads (the entry file and its static chunks). */
  bytes: number;
  /** Every file of the bundle. */
  totalBytes: number;
  mapBytes: number;
  /** Median import time above bare node. */
  importMs: number;
  /** The same with `--enable-source-maps` (the deployed NODE_OPTIONS), when measured. */
  importMsWithSourceMaps?: number;
}

/** A cold start followed by the chunks one kind of run loads on first use. */
export interface RunLoad {
  label: string;
  /** The modules whose chunks it loads, by source path. */
  modules: string[];
  /** Everything loaded: the cold import's files and those chunks with theirs. */
  bytes: number;
  /** Median time above bare node to import the handler, then those chunks. */
  importMs: number;
}

export interface ColdStartResult {
  runs: number;
  bareMs: number;
  /** The deployed layout (code-split), refresher and naive alike. */
  refresher: BundleResult;
  naive: BundleResult;
  /** One file each: the issue's baseline layout, and what splitting changed. */
  refresherSingle: BundleResult;
  naiveSingle: BundleResult;
  /** The refresher's cold start, then what an idle run and a due run load on first use. */
  idleRun: RunLoad;
  dueRun: RunLoad;
  refresherContributors: { name: string; bytes: number }[];
  refresherAllContributors: { name: string; bytes: number }[];
  naiveContributors: { name: string; bytes: number }[];
  whatIfs: (BundleResult & { stubs: readonly string[]; external: string[] })[];
  clientContributors: { name: string; bytes: number }[];
  consumer: { client: BundleResult; powertools: BundleResult; raw: BundleResult };
  /** The client module code-split, and as one file without the 401 path's Lambda client. */
  consumerVariants: { split: BundleResult; withoutLambda: BundleResult };
}

interface Spec {
  id: string;
  label: string;
  entry: string;
  env?: Record<string, string>;
  layout?: Layout;
  stubs?: readonly string[];
  /** Left out of the bundle, resolved from node_modules at run time (as from the Lambda runtime's). */
  external?: string[];
  sourceMaps?: boolean;
}

const REFRESHER_ENTRY = 'lambda/refresher/handler.ts';

/** What an idle run loads on first use: the lease table's client, to read the scheduling hints. */
const IDLE_RUN_MODULES = ['lambda/adapters/dynamodb-hint-pages.ts'];

/** What a run with a due connection loads on first use: the hints, then the whole refresh path. */
const DUE_RUN_MODULES = [
  ...IDLE_RUN_MODULES,
  'lambda/adapters/dynamodb-lease-store.ts',
  'lambda/core/refresh-connection.ts',
  'lambda/adapters/kms-key-service.ts',
  'lambda/adapters/http-token-endpoint.ts',
  'lambda/core/client-credentials.ts',
];

const SPECS: Spec[] = [
  {
    id: 'refresher',
    label: 'refresher handler (code-split, as deployed)',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    sourceMaps: true,
  },
  {
    id: 'naive',
    label: 'naive: SM + KMS + CloudWatch clients (code-split the same way)',
    entry: 'bench/entries/naive-sdk.ts',
    env: { AWS_REGION: 'us-east-1' },
    sourceMaps: true,
  },
  {
    id: 'refresher-single',
    label: 'refresher handler, one file',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    layout: 'single',
  },
  {
    id: 'naive-single',
    label: "naive, one file (the issue's baseline)",
    entry: 'bench/entries/naive-sdk.ts',
    env: { AWS_REGION: 'us-east-1' },
    layout: 'single',
  },
  {
    id: 'engine-only',
    label: 'no AWS SDK client (the engine alone)',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    stubs: ['@aws-sdk/client-secrets-manager', '@aws-sdk/client-kms', '@aws-sdk/client-dynamodb'],
  },
  {
    id: 'sdk-external',
    label: 'AWS SDK external (the Lambda runtime’s copy)',
    entry: REFRESHER_ENTRY,
    env: REFRESHER_ENV,
    external: ['@aws-sdk/*', '@smithy/*'],
  },
  {
    id: 'client',
    label: 'token-refresher/client',
    entry: 'lambda/client/index.ts',
    env: { AWS_REGION: 'us-east-1' },
    layout: 'single',
  },
  {
    id: 'client-split',
    label: 'token-refresher/client, bundled with code splitting',
    entry: 'lambda/client/index.ts',
    env: { AWS_REGION: 'us-east-1' },
  },
  {
    id: 'client-without-lambda',
    label: "token-refresher/client, one file, the 401 path's Lambda client stubbed out",
    entry: 'lambda/client/index.ts',
    env: { AWS_REGION: 'us-east-1' },
    layout: 'single',
    stubs: ['@aws-sdk/client-lambda'],
  },
  {
    id: 'powertools',
    label: 'Powertools Parameters getSecret',
    entry: 'bench/entries/powertools-get-secret.ts',
    env: { AWS_REGION: 'us-east-1' },
    layout: 'single',
  },
  {
    id: 'raw',
    label: 'raw SecretsManagerClient + GetSecretValueCommand',
    entry: 'bench/entries/raw-get-secret-value.ts',
    env: { AWS_REGION: 'us-east-1' },
    layout: 'single',
  },
];

/** The files a run loads: the cold import's, and each module's chunk with its static imports. */
function runFiles(bundle: Bundle, modules: readonly string[]): string[] {
  const files = new Set(bundle.loadedAtImport);
  for (const module of modules) {
    const chunk = bundle.lazyChunks[module];
    if (chunk === undefined)
      throw new Error(`${module} is not a chunk of its own in the ${bundle.id} bundle`);
    for (const file of staticClosure(bundle.metafile, chunk)) files.add(file);
  }
  return [...files];
}

/** `node` arguments that import the handler, then the chunks of `modules`, in order. */
function runLoadArgs(bundle: Bundle, modules: readonly string[]): string[] {
  const urls = [bundle.file, ...modules.map((module) => join(REPO_ROOT, bundle.lazyChunks[module]!))].map(
    (file) => `await import(${JSON.stringify(`file://${file}`)});`,
  );
  return ['--input-type=module', '-e', urls.join(' ')];
}

/**
 * Builds every bundle, then times their cold imports against bare node, interleaved.
 * `outdir` must be inside the repository (bundles with external packages resolve them
 * from its node_modules).
 */
export async function runColdStart(outdir: string, runs: number): Promise<ColdStartResult> {
  const bundles = new Map<string, Bundle>();
  for (const spec of SPECS) bundles.set(spec.id, await buildBundle(spec.id, spec.entry, outdir, spec));
  const refresherBundle = bundles.get('refresher')!;
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
  targets.push(
    { id: 'idle-run', args: runLoadArgs(refresherBundle, IDLE_RUN_MODULES), env: REFRESHER_ENV },
    { id: 'due-run', args: runLoadArgs(refresherBundle, DUE_RUN_MODULES), env: REFRESHER_ENV },
  );
  const times = spawnTimes(targets, runs);
  const result = (id: string): BundleResult => {
    const spec = SPECS.find((s) => s.id === id)!;
    const bundle = bundles.get(id)!;
    return {
      id,
      label: spec.label,
      entry: spec.entry,
      layout: bundle.layout,
      bytes: bundle.bytes,
      totalBytes: bundle.totalBytes,
      mapBytes: bundle.mapBytes,
      importMs: importMs(times, id),
      ...(spec.sourceMaps ? { importMsWithSourceMaps: importMs(times, `${id}+maps`) } : {}),
    };
  };
  const size = (files: string[]) =>
    files.reduce((sum, file) => sum + statSync(join(REPO_ROOT, file)).size, 0);
  const runLoad = (id: string, label: string, modules: string[]): RunLoad => ({
    label,
    modules,
    bytes: size(runFiles(refresherBundle, modules)),
    importMs: importMs(times, id),
  });
  return {
    runs,
    bareMs: median(times.get('bare')!),
    refresher: result('refresher'),
    naive: result('naive'),
    refresherSingle: result('refresher-single'),
    naiveSingle: result('naive-single'),
    idleRun: runLoad('idle-run', 'an idle run: cold start, then the hints (DynamoDB)', IDLE_RUN_MODULES),
    dueRun: runLoad(
      'due-run',
      'a due run: cold start, the hints, then the refresh path (KMS, HTTP, records)',
      DUE_RUN_MODULES,
    ),
    refresherContributors: contributors(refresherBundle),
    refresherAllContributors: contributors(refresherBundle, true),
    naiveContributors: contributors(bundles.get('naive')!),
    whatIfs: ['engine-only', 'sdk-external'].map((id) => ({
      ...result(id),
      stubs: SPECS.find((s) => s.id === id)!.stubs ?? [],
      external: SPECS.find((s) => s.id === id)!.external ?? [],
    })),
    clientContributors: contributors(bundles.get('client')!),
    consumer: { client: result('client'), powertools: result('powertools'), raw: result('raw') },
    consumerVariants: { split: result('client-split'), withoutLambda: result('client-without-lambda') },
  };
}
