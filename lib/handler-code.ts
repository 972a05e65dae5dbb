import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the refresher's Lambda code comes from, and how it is bundled.
 *
 * The published package ships the handler already bundled (`dist/handlers/refresher/`,
 * built by scripts/build.ts with {@link REFRESHER_ESBUILD_OPTIONS}), and the construct
 * points `lambda.Code.fromAsset` at that directory: a user's `cdk synth` needs neither
 * esbuild nor this repository's lockfile. aws-cdk-lib does the same with its own handlers:
 * they are bundled when aws-cdk-lib is built, shipped under
 * `aws-cdk-lib/custom-resource-handlers/dist/<service>/<handler>/`, and the construct that
 * uses one passes that directory to `Code.fromAsset` (for example
 * `aws-s3/auto-delete-objects-provider.generated.js`).
 *
 * Inside this repository, where lib/ runs from source, there is no pre-bundled asset and
 * the construct bundles lambda/refresher/handler.ts at synth time with the local esbuild
 * ({@link bundleRefresher}, the same function the package build calls): what you deploy
 * from a checkout is the code you edit. NodejsFunction is not used because it writes one
 * file, and the refresher is code-split.
 */

/**
 * Set by the package build (an esbuild `define` in scripts/build.ts) to the directory of the
 * pre-bundled handler, relative to the compiled construct module. Undefined when lib/ runs
 * from source, so a stale dist/ in a checkout is never deployed by mistake.
 */
declare const __TOKEN_REFRESHER_PREBUNDLED_HANDLER__: string | undefined;

/** The directory of this module: lib/ from source, dist/construct/cjs/ in the package. */
const MODULE_DIR = dirname(fileURLToPath(import.meta.url));

/** The bundle's entry file (beside it: `chunks/`), and the handler it exports. */
export const HANDLER_FILE = 'index.mjs';
export const HANDLER_EXPORT = 'handler';

/**
 * The esbuild options of the refresher bundle: ESM for Node.js 24, minified, source maps
 * without sources, the AWS SDK bundled (pinned by the lockfile) instead of the runtime's copy.
 * The package build and source mode both use these, through {@link bundleRefresher}.
 */
export const REFRESHER_ESBUILD_OPTIONS = {
  format: 'esm',
  target: 'node24',
  platform: 'node',
  mainFields: ['module', 'main'],
  // ESM output: some bundled CommonJS dependencies still call require() for Node
  // built-ins, which needs a require in module scope.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  minify: true,
  // Source maps (without sources) keep stack traces of `internal` failures readable with
  // --enable-source-maps. The map (~1.2 MB) ships next to the bundle and costs a little
  // cold-start time once per 5-minute container; readable traces are worth it for a job
  // nobody watches live. No source code is shipped twice.
  sourcemap: true,
  sourcesContent: false,
  // Code splitting: what only some invocations need (the refresh path, the KMS and DynamoDB
  // clients, the SDK's credential providers other than the environment's) sits in chunks
  // that a dynamic import() loads on first use. A single file would still carry their
  // bytes, which every cold start parses; an idle run now loads only what it runs.
  splitting: true,
  entryNames: 'index',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
} as const;

/**
 * Bundles the refresher from `entry` into `outdir` ({@link HANDLER_FILE}, its chunks and
 * their source maps) with {@link REFRESHER_ESBUILD_OPTIONS}; returns esbuild's metafile.
 * esbuild is loaded here, on use, because only this repository has it: the package's
 * construct never bundles.
 */
export function bundleRefresher(outdir: string, entry: string = sourceCode().entry): object {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const { banner, mainFields, outExtension, ...options } = REFRESHER_ESBUILD_OPTIONS;
  const result = esbuild.buildSync({
    ...options,
    mainFields: [...mainFields],
    outExtension: { ...outExtension },
    banner: { js: banner },
    bundle: true,
    metafile: true,
    entryPoints: [entry],
    outdir,
    logLevel: 'warning',
  });
  return result.metafile;
}

/** The refresher's code: a directory holding the pre-bundled handler, or the source to bundle. */
export type RefresherCode = PrebundledCode | SourceCode;

/** The package's pre-bundled handler: a directory holding {@link HANDLER_FILE} (and its map). */
export interface PrebundledCode {
  readonly kind: 'prebundled';
  readonly directory: string;
}

/** The handler's source, bundled at synth time by {@link bundleRefresher}. */
export interface SourceCode {
  readonly kind: 'source';
  readonly entry: string;
  /** The lockfile that pins what is bundled; without it there is nothing to bundle from. */
  readonly depsLockFilePath: string;
}

/** Where the source of the handler is, from lib/ in this repository. */
export function sourceCode(repositoryRoot = join(MODULE_DIR, '..')): SourceCode {
  return {
    kind: 'source',
    entry: join(repositoryRoot, 'lambda', 'refresher', 'handler.ts'),
    depsLockFilePath: join(repositoryRoot, 'package-lock.json'),
  };
}

/**
 * The refresher's code for this copy of the construct: the pre-bundled asset when it
 * exists (the package), otherwise the source (this repository). `prebundledDirectory`
 * overrides where the asset is looked for (tests; the package build sets it).
 */
export function locateRefresherCode(
  prebundledDirectory: string | undefined = typeof __TOKEN_REFRESHER_PREBUNDLED_HANDLER__ === 'string'
    ? join(MODULE_DIR, __TOKEN_REFRESHER_PREBUNDLED_HANDLER__)
    : undefined,
): RefresherCode {
  if (prebundledDirectory !== undefined && existsSync(join(prebundledDirectory, HANDLER_FILE))) {
    return { kind: 'prebundled', directory: prebundledDirectory };
  }
  const source = sourceCode();
  if (existsSync(source.entry) && existsSync(source.depsLockFilePath)) {
    return source;
  }
  throw new Error(
    prebundledDirectory === undefined
      ? `TokenRefresher: the refresher's source is missing (${source.entry})`
      : `TokenRefresher: the pre-bundled refresher is missing (${join(prebundledDirectory, HANDLER_FILE)}): ` +
          'reinstall the token-refresher package',
  );
}
