import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/index.js';

/** The script `completion <shell>` prints. */
async function script(shell: string): Promise<string> {
  let out = '';
  const code = await main(['completion', shell], {
    io: { stdout: { write: (text: string) => (out += text) }, stderr: { write: () => true } },
  });
  expect(code).toBe(0);
  const file = join(mkdtempSync(join(tmpdir(), 'tr-completion-')), `completion.${shell}`);
  writeFileSync(file, out);
  return file;
}

/** The real shells (installed by .ci/run) load each script and complete with it. */
describe('token-refresher completion (bash, zsh, fish)', () => {
  it('bash: commands, options, choices and provider profiles', async () => {
    const file = await script('bash');
    const complete = (words: string[]) =>
      execFileSync(
        'bash',
        [
          '-c',
          `source "${file}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _token_refresher; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      ).trim();
    expect(complete(['token-refresher', 'ref'])).toBe('refresh');
    expect(complete(['token-refresher', '--stack', 'TokenRefresherDemo', 'st'])).toBe('status');
    expect(complete(['token-refresher', 'refresh', 'demo', '--f'])).toBe('--force --function');
    expect(complete(['token-refresher', 'connect', 'x', '--dialect', ''])).toBe('form json');
    expect(complete(['token-refresher', 'connect', 'x', '--provider', 'xe'])).toBe('xero');
    expect(complete(['token-refresher', 'completion', ''])).toBe('bash zsh fish');
  });

  it('zsh: loads through compinit and bashcompinit, and offers the same words', async () => {
    const file = await script('zsh');
    const offered = execFileSync(
      'zsh',
      [
        '-fc',
        `source "${file}"; COMP_WORDS=(token-refresher connect x --provider xe); COMP_CWORD=4; _token_refresher; print -l -- "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8', env: { ...process.env, HOME: mkdtempSync(join(tmpdir(), 'tr-zsh-')) } },
    );
    // zsh's own matching filters by the prefix in a real completion; the script offers the profiles.
    expect(offered.split('\n')).toContain('xero');
  });

  it('fish: commands with descriptions, options and choices', async () => {
    const file = await script('fish');
    const complete = (line: string) =>
      execFileSync('fish', ['-c', `source "${file}"; complete -C '${line}'`], { encoding: 'utf8' });
    expect(complete('token-refresher ref')).toMatch(/^refresh\trefresh a connection now if it is due/);
    expect(complete('token-refresher connect x --dialect ')).toBe(
      'form\ttoken request encoding: form (RFC 6749) or json (Askara)\njson\ttoken request encoding: form (RFC 6749) or json (Askara)\n',
    );
    expect(complete('token-refresher refresh demo --f')).toMatch(/^--force\t/m);
  });
});
