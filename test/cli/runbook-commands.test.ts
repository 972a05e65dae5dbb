import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every `npx token-refresher ...` command line the docs tell an operator to run. */
function documentedCommands(file: string): string[] {
  const text = readFileSync(`${ROOT}${file}`, 'utf8');
  const lines: string[] = [];
  for (const match of text.matchAll(/npx token-refresher ([^`\n|]+)/g)) {
    lines.push(
      match[1]!
        .replace(/\s+#.*$/, '')
        .replace(/\s*\\$/, '')
        .trim(),
    );
  }
  return lines;
}

/** Runs the CLI in-process and returns what it printed. */
async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = { write: (text: string) => (out += text), isTTY: false };
  const code = await main(argv, { io: { stdout: sink, stderr: sink } });
  return { code, out };
}

/**
 * The runbook's (and README's) commands are exactly what the CLI accepts: each names a
 * command whose `--help` exists, and every option it uses is in that help (or the global one).
 */
describe('the commands the docs give are the CLI’s', () => {
  for (const file of ['docs/runbook.md', 'README.md']) {
    it(`${file}: every command and option exists`, async () => {
      const commands = documentedCommands(file);
      expect(commands.length).toBeGreaterThan(3);
      const globalHelp = (await run(['--help'])).out;
      for (const line of commands) {
        const words = line.split(/\s+/).filter((word) => !word.startsWith('<') && word !== '...');
        // Global options come first (`--stack X status`): skip them and their values.
        let index = 0;
        while (words[index]?.startsWith('--')) index += globalHelp.includes(`${words[index]} <`) ? 2 : 1;
        const command = words[index];
        if (command === undefined) continue; // prose: "run it as npx token-refresher ..."
        expect(command, line).toMatch(/^[a-z]+$/);
        const help = await run([command!, '--help']);
        expect(help.code, `${line}: ${help.out}`).toBe(0);
        expect(help.out, line).toContain(`Usage: token-refresher ${command}`);
        for (const flag of words.filter((word) => /^--?[a-z]/.test(word))) {
          const name = flag.split('=')[0]!;
          expect(`${help.out}\n${globalHelp}`, `${line}: ${name}`).toMatch(
            new RegExp(`(^|[ ,])${name}\\b`, 'm'),
          );
        }
      }
    });
  }
});
