import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The two packages' manifests against what their code imports (scripts/build.ts bundles each
 * entry with its npm packages left as imports): every npm import left in a bundle is a
 * dependency (or peer) of the package that ships it, and nothing else is a dependency — so a
 * global install of the CLI runs, and a consumer's install of the client is the client and
 * two AWS SDK clients. test/package/outside-project.test.ts installs the real tarballs.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Manifest {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  files?: string[];
  bin?: Record<string, string>;
  main?: string;
  types?: string;
  exports?: unknown;
}

const manifest = (path: string): Manifest => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
const root = manifest('package.json');
const client = manifest('packages/client/package.json');

/** The npm packages an entry point's bundle imports (package names, not subpaths). */
async function npmImports(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
    define: { __TOKEN_REFRESHER_PREBUNDLED_HANDLER__: '"x"' },
  });
  const names = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith('node:') || builtinModules.includes(imported.path))
        continue;
      const parts = imported.path.split('/');
      names.add(imported.path.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  return [...names].sort();
}

describe('package manifests', () => {
  it('token-refresher: the construct imports only its peers and dependencies; aws-cdk-lib and constructs are peers', async () => {
    const imports = await npmImports('lib/index.ts');
    const allowed = new Set([
      ...Object.keys(root.dependencies ?? {}),
      ...Object.keys(root.peerDependencies ?? {}),
    ]);
    expect(imports.filter((name) => !allowed.has(name))).toEqual([]);
    expect(Object.keys(root.peerDependencies ?? {}).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(Object.keys(root.dependencies ?? {})).not.toContain('aws-cdk-lib');
  });

  it('token-refresher: the CLI imports only dependencies, and every dependency is imported by the CLI or the construct', async () => {
    const [cli, construct] = await Promise.all([npmImports('cli/index.ts'), npmImports('lib/index.ts')]);
    const dependencies = Object.keys(root.dependencies ?? {}).sort();
    expect(cli.filter((name) => !dependencies.includes(name))).toEqual([]);
    const used = new Set([...cli, ...construct]);
    expect(dependencies.filter((name) => !used.has(name))).toEqual([]);
  });

  it('@token-refresher/client: depends on the Secrets Manager and Lambda clients only, at the root package ranges', async () => {
    const imports = await npmImports('lambda/client/index.ts');
    expect(imports).toEqual(['@aws-sdk/client-lambda', '@aws-sdk/client-secrets-manager']);
    expect(client.dependencies).toEqual(
      Object.fromEntries(imports.map((name) => [name, root.dependencies?.[name]])),
    );
  });

  it('every path the manifests point at is in their files', () => {
    const paths = (m: Manifest) =>
      JSON.stringify([m.main, m.types, m.bin, m.exports])
        .match(/"\.?\/?(?:dist|lib|cli)\/[^"*]+"/g)
        ?.map((path) => path.replaceAll('"', '').replace(/^\.\//, '')) ?? [];
    for (const [m, name] of [
      [root, 'token-refresher'],
      [client, '@token-refresher/client'],
    ] as const) {
      const unshipped = paths(m).filter(
        (path) => !(m.files ?? []).some((file) => path === file || path.startsWith(`${file}/`)),
      );
      expect(unshipped, name).toEqual([]);
      expect(paths(m).length, name).toBeGreaterThan(2);
    }
  });
});
