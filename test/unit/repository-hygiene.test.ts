import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Conflict markers as git writes them, and as a Markdown formatter rewrites the closing one. */
const CONFLICT_MARKER = /^(?:<{7}|>{7}|={7})(?: |$)|^> > > > > > > /m;

describe('repository hygiene', () => {
  it('no tracked file holds a merge-conflict marker', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((file) => /\.(ts|mts|mjs|js|json|md|py|sh|yml|yaml)$/.test(file));
    const marked = files.filter((file) => CONFLICT_MARKER.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(marked).toEqual([]);
  });
});
