/**
 * Builds what the two packages ship (`npm run build`, also run by `npm pack` through
 * `prepack`), from source, into folders that git ignores:
 *
 * - `dist/handlers/refresher/`: the refresher Lambda, bundled once here with the options the
 *   construct would use (lib/handler-code.ts), so a user's `cdk synth` bundles nothing;
 * - `dist/construct/{esm,cjs}/`: the construct (lib/index.ts) as ESM and CommonJS, each with
 *   the same bundled declaration file, aws-cdk-lib, constructs and zod left as imports;
 * - `dist/cli/main.mjs`: the operator CLI as plain JavaScript (cli/token-refresher.mjs runs
 *   it), its npm dependencies left as imports: it runs with production dependencies only;
 * - `packages/client/lib/{esm,cjs}/`: the consumer library `@token-refresher/client`, with
 *   only the Secrets Manager and Lambda clients left as imports.
 *
 * The dual layout is Powertools for AWS Lambda (TypeScript)'s: `lib/esm` and `lib/cjs`, each
 * with a `package.json` that names its module type and an `index.d.ts`, reached through
 * `exports` conditions `import` / `require` (each with its own `types`), plus top-level
 * `main` / `types` for `moduleResolution: node` (e.g. packages/logger/package.json there).
 *
 * `node --import tsx scripts/build.ts [client]`: everything, or only the client package.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDtsBundle } from 'dts-bundle-generator';
import { type BuildOptions, build } from 'esbuild';
import { HANDLER_FILE, REFRESHER_ESBUILD_OPTIONS } from '../lib/handler-code.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts: string[]) => join(ROOT, ...parts);

/** Where the construct module finds the pre-bundled handler: dist/construct/{esm,cjs}/ → dist/handlers/refresher/. */
const HANDLER_FROM_CONSTRUCT = '../../handlers/refresher';

/** Options every library bundle shares: Node 20, npm packages left to the installer. */
const LIBRARY: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  legalComments: 'none',
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

/** One declaration file for an entry point: the package's types, with no path into this repository. */
function declarations(entry: string): string {
  const [dts] = generateDtsBundle([{ filePath: at(entry), output: { noBanner: true, exportReferencedTypes: false } }], {
    preferredConfigPath: at('tsconfig.json'),
  });
  if (dts === undefined) throw new Error(`no declarations for ${entry}`);
  return dts;
}

/** `<out>/esm/index.js` and `<out>/cjs/index.js`, each beside a package.json naming its module type and the declarations. */
async function dualPackage(entry: string, out: string, options: BuildOptions = {}): Promise<void> {
  fresh(out);
  const formats = [
    { dir: 'esm', type: 'module', build: { format: 'esm' } as BuildOptions },
    { dir: 'cjs', type: 'commonjs', build: COMMONJS },
  ];
  await Promise.all(
    formats.map((format) =>
      build({
        ...LIBRARY,
        ...options,
        ...format.build,
        define: { ...options.define, ...format.build.define },
        entryPoints: [at(entry)],
        outfile: join(out, format.dir, 'index.js'),
      }),
    ),
  );
  const dts = declarations(entry);
  for (const format of formats) {
    writeFileSync(join(out, format.dir, 'package.json'), `${JSON.stringify({ type: format.type })}\n`);
    writeFileSync(join(out, format.dir, 'index.d.ts'), dts);
  }
}

async function handlers(): Promise<void> {
  const out = fresh(at('dist', 'handlers', 'refresher'));
  const { banner, ...options } = REFRESHER_ESBUILD_OPTIONS;
  await build({
    ...options,
    mainFields: [...options.mainFields],
    banner: { js: banner },
    bundle: true,
    entryPoints: [at('lambda', 'refresher', 'handler.ts')],
    outfile: join(out, HANDLER_FILE),
    logLevel: 'warning',
  });
}

async function construct(): Promise<void> {
  await dualPackage('lib/index.ts', at('dist', 'construct'), {
    define: { __TOKEN_REFRESHER_PREBUNDLED_HANDLER__: JSON.stringify(HANDLER_FROM_CONSTRUCT) },
  });
}

async function cli(): Promise<void> {
  const out = fresh(at('dist', 'cli'));
  await build({ ...LIBRARY, format: 'esm', entryPoints: [at('cli', 'index.ts')], outfile: join(out, 'main.mjs') });
}

async function client(): Promise<void> {
  await dualPackage('lambda/client/index.ts', at('packages', 'client', 'lib'));
  // npm packs a package's own LICENSE only: the client's is the repository's.
  copyFileSync(at('LICENSE'), at('packages', 'client', 'LICENSE'));
}

const targets = process.argv.slice(2);
const started = Date.now();
if (targets.length === 0) {
  await Promise.all([handlers(), cli()]);
  await construct();
  await client();
} else {
  const known: Record<string, () => Promise<void>> = { handlers, construct, cli, client };
  for (const target of targets) {
    const run = known[target];
    if (run === undefined) throw new Error(`unknown target ${target} (${Object.keys(known).join(', ')})`);
    await run();
  }
}
console.log(`built ${targets.length === 0 ? 'everything' : targets.join(', ')} in ${Date.now() - started} ms`);
