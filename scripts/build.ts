/**
 * Builds what the two packages ship (`npm run build`, also run by `npm pack` through
 * `prepack`), from source, into folders that git ignores:
 *
 * - `dist/handlers/refresher/`: the refresher Lambda, bundled once here with the options the
 *   construct would use (lib/handler-code.ts), so a user's `cdk synth` bundles nothing;
 * - `dist/construct/cjs/`: the construct (lib/index.ts) as CommonJS, beside
 *   the declarations tsc emits (tsconfig.construct.json), aws-cdk-lib, constructs and zod left
 *   as imports;
 * - `dist/cli/main.mjs`: the operator CLI as plain JavaScript (cli/token-refresher.mjs runs
 *   it when the TypeScript source is not beside it), its npm dependencies left as imports: it
 *   runs with production dependencies only;
 * - `packages/client/lib/{esm,cjs}/`: the consumer library `@token-refresher/client`
 *   (declarations from tsconfig.client.json), with only the Secrets Manager and Lambda
 *   clients left as imports.
 *
 * Each bundle's esbuild metafile is written beside it (`dist/meta/<name>.json`, not packed):
 * test/unit/package.test.ts checks every npm import left in a bundle is a dependency (or
 * peer) of the package that ships it.
 *
 * The dual layout is Powertools for AWS Lambda (TypeScript)'s: `lib/esm` and `lib/cjs`, each
 * with a `package.json` that names its module type and an `index.d.ts`, reached through
 * `exports` conditions `import` / `require` (each with its own `types`), plus top-level
 * `main` / `types` for `moduleResolution: node` (e.g. packages/logger/package.json there).
 *
 * `node --import tsx scripts/build.ts [client]`: everything, or only the client package.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build } from 'esbuild';
import { bundleRefresher } from '../lib/handler-code.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts: string[]) => join(ROOT, ...parts);

/** Where the construct module finds the pre-bundled handler: dist/construct/cjs/ → dist/handlers/refresher/. */
const HANDLER_FROM_CONSTRUCT = '../../handlers/refresher';

/** Options every library bundle shares: Node 20, npm packages left to the installer. */
const LIBRARY: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  legalComments: 'none',
  metafile: true,
};

/**
 * The CommonJS build of an ESM source: `import.meta.url` (lib/handler-code.ts) becomes the
 * file URL of the CommonJS module.
 */
const COMMONJS: BuildOptions = {
  format: 'cjs',
  define: { 'import.meta.url': '__token_refresher_module_url' },
  banner: { js: "const __token_refresher_module_url = require('node:url').pathToFileURL(__filename).href;" },
};

function fresh(directory: string): string {
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  return directory;
}

async function bundle(name: string, options: BuildOptions): Promise<void> {
  const result = await build(options);
  mkdirSync(at('dist', 'meta'), { recursive: true });
  writeFileSync(at('dist', 'meta', `${name}.json`), JSON.stringify(result.metafile));
}

/** Declarations of one entry point (tsc with `tsconfig`), emitted under dist/types/<name>/. */
async function declarations(tsconfig: string, name: string): Promise<string> {
  const out = at('dist', 'types', name);
  rmSync(out, { recursive: true, force: true });
  await promisify(execFile)(
    process.execPath,
    [at('node_modules', 'typescript', 'bin', 'tsc'), '-p', at(tsconfig)],
    {
      cwd: ROOT,
    },
  );
  return out;
}

const ESM_FORMAT = { dir: 'esm', type: 'module', build: { format: 'esm' } as BuildOptions };
const CJS_FORMAT = { dir: 'cjs', type: 'commonjs', build: COMMONJS };

/**
 * `<out>/<format>/index.js` for each format (`esm`, `cjs`), each beside a package.json naming
 * its module type and a copy of the declarations (the same files: under `node16` resolution
 * a declaration's module type is its folder's).
 */
async function modulePackage(
  name: string,
  entry: string,
  tsconfig: string,
  out: string,
  formats: (typeof ESM_FORMAT)[],
  options: BuildOptions = {},
): Promise<void> {
  fresh(out);
  const [types] = await Promise.all([
    declarations(tsconfig, name),
    ...formats.map((format) =>
      bundle(`${name}-${format.dir}`, {
        ...LIBRARY,
        ...options,
        ...format.build,
        define: { ...options.define, ...format.build.define },
        entryPoints: [at(entry)],
        outfile: join(out, format.dir, 'index.js'),
      }),
    ),
  ]);
  for (const format of formats) {
    writeFileSync(join(out, format.dir, 'package.json'), `${JSON.stringify({ type: format.type })}\n`);
    cpSync(types, join(out, format.dir), { recursive: true });
  }
}

async function handlers(): Promise<void> {
  const out = fresh(at('dist', 'handlers', 'refresher'));
  const metafile = bundleRefresher(out, at('lambda', 'refresher', 'handler.ts'));
  mkdirSync(at('dist', 'meta'), { recursive: true });
  writeFileSync(at('dist', 'meta', 'handler.json'), JSON.stringify(metafile));
}

/**
 * The construct as CommonJS only, as aws-cdk-lib itself is: an ESM app imports it like
 * aws-cdk-lib (esbuild's CommonJS output names its exports for Node's static analysis), and
 * one copy of the module means one `TokenRefresher` class, whichever way it is loaded.
 */
async function construct(): Promise<void> {
  await modulePackage(
    'construct',
    'lib/index.ts',
    'tsconfig.construct.json',
    at('dist', 'construct'),
    [CJS_FORMAT],
    {
      define: { __TOKEN_REFRESHER_PREBUNDLED_HANDLER__: JSON.stringify(HANDLER_FROM_CONSTRUCT) },
    },
  );
}

async function cli(): Promise<void> {
  const out = fresh(at('dist', 'cli'));
  await bundle('cli', {
    ...LIBRARY,
    format: 'esm',
    entryPoints: [at('cli', 'index.ts')],
    outfile: join(out, 'main.mjs'),
  });
}

async function client(): Promise<void> {
  await modulePackage(
    'client',
    'lambda/client/index.ts',
    'tsconfig.client.json',
    at('packages', 'client', 'lib'),
    [ESM_FORMAT, CJS_FORMAT],
  );
  // npm packs a package's own LICENSE only: the client's is the repository's.
  copyFileSync(at('LICENSE'), at('packages', 'client', 'LICENSE'));
}

const known: Record<string, () => Promise<void>> = { handlers, construct, cli, client };
const targets = process.argv.slice(2);
const started = Date.now();
await Promise.all(
  (targets.length === 0 ? Object.keys(known) : targets).map((target) => {
    const run = known[target];
    if (run === undefined) throw new Error(`unknown target ${target} (${Object.keys(known).join(', ')})`);
    return run();
  }),
);
console.log(
  `built ${targets.length === 0 ? 'everything' : targets.join(', ')} in ${Date.now() - started} ms`,
);
