import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/synth.js';

/**
 * A static check of lib/'s imports (read as text, nothing runs): no import circle inside
 * lib/, nothing from an adapter (lambda/adapters/) directly or through what lib/ imports
 * from lambda/, and nothing from test/.
 */

type Graph = ReadonlyMap<string, readonly string[]>;

/** Relative module specifiers of a TypeScript file: static imports, re-exports, dynamic imports. */
function relativeImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms),
    ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.filter((specifier) => specifier.startsWith('.'));
}

/** The repository-relative .ts file a relative specifier names (`./x.js` is `./x.ts`). */
function resolveImport(fromFile: string, specifier: string): string {
  const target = resolve(dirname(join(REPO_ROOT, fromFile)), specifier.replace(/\.js$/, '.ts'));
  if (!existsSync(target)) throw new Error(`${fromFile}: cannot resolve ${specifier}`);
  return relative(REPO_ROOT, target);
}

/** Every file reachable from `roots` by relative imports, with its imports. */
function importGraph(roots: readonly string[]): Graph {
  const graph = new Map<string, string[]>();
  const pending = [...roots];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (graph.has(file)) continue;
    const imports = relativeImports(join(REPO_ROOT, file)).map((specifier) => resolveImport(file, specifier));
    graph.set(file, imports);
    pending.push(...imports);
  }
  return graph;
}

/** The import circles among `files` (each as a path that returns to its start). */
function circles(graph: Graph, files: ReadonlySet<string>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const visit = (file: string, path: string[]): void => {
    const at = path.indexOf(file);
    if (at >= 0) {
      found.push([...path.slice(at), file]);
      return;
    }
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) if (files.has(next)) visit(next, [...path, file]);
    done.add(file);
  };
  for (const file of files) visit(file, []);
  return found;
}

const libFiles = (readdirSync(join(REPO_ROOT, 'lib'), { recursive: true }) as string[])
  .filter((name) => name.endsWith('.ts'))
  .map((name) => join('lib', name))
  .sort();

describe('lib/ imports', () => {
  const graph = importGraph(libFiles);

  it('reads every construct file', () => {
    expect(libFiles).toEqual(
      expect.arrayContaining(['lib/token-refresher.ts', 'lib/settings.ts', 'lib/keys.ts', 'lib/schedule.ts']),
    );
  });

  it('has no import circle', () => {
    expect(circles(graph, new Set(libFiles))).toEqual([]);
  });

  it('imports no adapter, directly or through what it imports from lambda/', () => {
    const reached = [...graph.keys()];
    expect(reached.some((file) => file.startsWith('lambda/contract/'))).toBe(true);
    expect(reached.filter((file) => file.startsWith('lambda/adapters/'))).toEqual([]);
  });

  it('imports nothing from test/', () => {
    expect([...graph.keys()].filter((file) => file.startsWith('test/'))).toEqual([]);
  });

  it('would see the circles lib/ used to have (settings.ts imported the props from token-refresher.ts)', () => {
    const old: Graph = new Map([
      ['lib/alarms.ts', ['lib/settings.ts']],
      ['lib/settings.ts', ['lib/token-refresher.ts']],
      ['lib/token-refresher.ts', ['lib/alarms.ts', 'lib/dashboard.ts']],
      ['lib/dashboard.ts', ['lib/alarms.ts']],
    ]);
    expect(circles(old, new Set(old.keys()))).toEqual([
      ['lib/alarms.ts', 'lib/settings.ts', 'lib/token-refresher.ts', 'lib/alarms.ts'],
      ['lib/alarms.ts', 'lib/settings.ts', 'lib/token-refresher.ts', 'lib/dashboard.ts', 'lib/alarms.ts'],
    ]);
  });
});
