import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The repository's import rules, checked statically over the source text (no bundler, no
 * type checker): every `import … from`, `export … from`, side-effect `import '…'` and
 * `import('…')` with a relative specifier is an edge between two files. Type-only imports
 * count too: a circle of types is still a circle.
 *
 * To add a rule, add an entry to `FORBIDDEN` (folders that must not import from others)
 * or a folder to `ACYCLIC` (no import circle among its files).
 */

/** Folders (relative to the repository root) whose files must not import from `forbidden`. */
const FORBIDDEN: { rule: string; from: string[]; forbidden: string[] }[] = [
  {
    rule: 'nothing outside test/ imports from test/',
    from: ['lambda', 'lib', 'cli', 'demo', 'bench', 'bin', 'sandbox', 'scripts'],
    forbidden: ['test'],
  },
  {
    rule: 'the sandbox stands alone: it imports no caller (demo, bench, cli) and nothing from test/',
    from: ['sandbox'],
    forbidden: ['test', 'demo', 'bench', 'cli'],
  },
  {
    rule: 'the runtime (lambda/) imports no infrastructure, CLI or local tooling',
    from: ['lambda'],
    forbidden: ['lib', 'bin', 'cli', 'demo', 'bench', 'sandbox', 'test'],
  },
  {
    rule: 'the refresher never reads provider profiles: a record keeps the behaviour it was connected with',
    from: ['lambda/core', 'lambda/refresher', 'lambda/adapters', 'lambda/client', 'lambda/contract'],
    forbidden: ['lambda/providers'],
  },
  {
    rule: 'the consumer library imports nothing from the refresher Lambda',
    from: ['lambda/client'],
    forbidden: ['lambda/refresher'],
  },
];

/**
 * Folders whose files must not reach `unreachable` at all: neither directly nor through any
 * chain of imports (the construct may import core code, but nothing that pulls in an adapter).
 */
const UNREACHABLE: { rule: string; from: string[]; unreachable: string[] }[] = [
  {
    rule: 'the construct (lib/, bin/) reaches no adapter and nothing of test/, however indirectly',
    from: ['lib', 'bin'],
    unreachable: ['lambda/adapters', 'test'],
  },
  {
    rule: 'the consumer library reaches nothing of the refresher Lambda, however indirectly',
    from: ['lambda/client'],
    unreachable: ['lambda/refresher'],
  },
];

/** Folders with no import circle among their files (recursively). */
const ACYCLIC = ['lambda', 'lib', 'bin', 'cli', 'sandbox', 'demo', 'bench'];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = /\.(ts|mts|mjs)$/;

/** Repository-relative paths with `/` separators. */
function sourceFiles(folder: string): string[] {
  const absolute = join(ROOT, folder);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { recursive: true, encoding: 'utf8' })
    .filter(
      (name) => SOURCE.test(name) && !name.endsWith('.d.ts') && !name.split(sep).includes('node_modules'),
    )
    .map((name) => toRepoPath(join(absolute, name)));
}

function toRepoPath(absolute: string): string {
  return relative(ROOT, absolute).split(sep).join('/');
}

const SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** The repository files `file` imports (relative specifiers only; packages are ignored). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const targets = new Set<string>();
  for (const pattern of SPECIFIERS) {
    for (const match of text.matchAll(pattern)) {
      const specifier = match[1]!;
      if (!specifier.startsWith('.')) continue;
      targets.add(resolveSpecifier(file, specifier));
    }
  }
  return [...targets];
}

function resolveSpecifier(file: string, specifier: string): string {
  const target = resolve(ROOT, dirname(file), specifier);
  const candidates = [
    target,
    target.replace(/\.js$/, '.ts'),
    target.replace(/\.mjs$/, '.mts'),
    `${target}.ts`,
  ];
  return toRepoPath(candidates.find((candidate) => existsSync(candidate)) ?? target);
}

function isUnder(file: string, folder: string): boolean {
  return file === folder || file.startsWith(`${folder}/`);
}

/** The import graph among `files`: each file and the files of `files` it imports. */
function importGraph(files: string[]): Map<string, string[]> {
  const inScope = new Set(files);
  return new Map(files.map((file) => [file, importsOf(file).filter((target) => inScope.has(target))]));
}

/** Import circles in `edges` (at least one per circle), each as a path whose first file is repeated last. */
function importCircles(edges: Map<string, string[]>): string[][] {
  const circles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const target of edges.get(file) ?? []) {
      if (state.get(target) === 'open') circles.push([...path.slice(path.indexOf(target)), target]);
      else if (!state.has(target)) visit(target);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (!state.has(file)) visit(file);
  return circles;
}

describe('architecture: import rules', () => {
  it('finds the imports it is meant to check (self-test of the scanner)', () => {
    expect(importsOf('test/unit/architecture.test.ts')).toEqual([]);
    expect(importsOf('lambda/client/index.ts')).toEqual(
      expect.arrayContaining(['lambda/client/token-client.ts', 'lambda/client/authorized-fetch.ts']),
    );
    expect(importsOf('lambda/client/lambda-refresh-requester.ts')).toContain('lambda/contract/on-demand.ts');
    expect(importsOf('test/support/global-setup.ts')).toEqual(['sandbox/moto-server.ts']);
  });

  it.each(FORBIDDEN)('$rule', ({ from, forbidden }) => {
    const violations = from
      .flatMap(sourceFiles)
      .flatMap((file) => importsOf(file).map((target) => ({ file, target })))
      .filter(({ target }) => forbidden.some((folder) => isUnder(target, folder)))
      .map(({ file, target }) => `${file} imports ${target}`);
    expect(violations).toEqual([]);
  });

  it.each(UNREACHABLE)('$rule', ({ from, unreachable }) => {
    const reached = new Set<string>();
    const pending = from.flatMap(sourceFiles);
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (reached.has(file)) continue;
      reached.add(file);
      pending.push(...importsOf(file).filter((target) => existsSync(join(ROOT, target))));
    }
    expect([...reached].some((file) => file.startsWith('lambda/contract/'))).toBe(true);
    expect([...reached].filter((file) => unreachable.some((folder) => isUnder(file, folder)))).toEqual([]);
  });

  it.each(ACYCLIC)('no import circle in %s/', (folder) => {
    const files = sourceFiles(folder);
    expect(files.length).toBeGreaterThan(0);
    expect(importCircles(importGraph(files)).map((circle) => circle.join(' → '))).toEqual([]);
  });

  it('finds a circle when there is one (self-test of the circle finder)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
    ]);
    expect(importCircles(graph)).toEqual([['a', 'b', 'c', 'a']]);
    expect(
      importCircles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });
});
