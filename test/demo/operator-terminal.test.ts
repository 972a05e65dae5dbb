import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateJsonOutput } from '../cli/json-schemas.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOCKET = `tr-operator-${process.pid}`;

/** tmux on a private socket: a real terminal (a pty), as an operator's second shell. */
function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-5000', '-t', 'op');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Types `text` (literally) into the terminal, then Enter unless told otherwise. */
function type(text: string, enter = true): void {
  tmux('send-keys', '-t', 'op', '-l', text);
  if (enter) tmux('send-keys', '-t', 'op', 'Enter');
}

async function waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = screen().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${screen()}`);
    await sleep(200);
  }
}

let commands = 0;
/** Runs a command line at the prompt; resolves to its exit code and what it printed. */
async function shell(line: string, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
  commands += 1;
  const marker = `@@done-${commands}`;
  const before = screen().length;
  type(`${line}; echo "${marker} $?"`);
  const match = await waitFor(new RegExp(`^${marker} (\\d+)$`, 'm'), timeoutMs);
  const text = screen();
  return { code: Number(match[1]), output: text.slice(Math.max(0, before - 200)) };
}

/**
 * The operator's view, end to end: `npm run demo` in one terminal, and in a second one
 * (tmux) the lines the demo prints, pasted as they are, then the CLI as an operator types
 * it — status (and --json, validated against its schema), a forced refresh the demo's
 * counters must see, tab completion, disable until the token expires and enable, status
 * --watch redrawn in place, a JSON error.
 */
describe('the CLI in a terminal against the running demo (tmux, moto)', () => {
  // The four lines the demo prints for a second shell, pasted as they are.
  let demo: ChildProcess;
  let demoOutput = '';
  let exited: Promise<number | null>;
  const files = mkdtempSync(join(tmpdir(), 'tr-operator-'));

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
    for (const key of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'])
      delete env[key];
    demo = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'demo/index.ts',
        '--duration',
        '170',
        '--token-ttl',
        '20',
        '--refresh-window',
        '8',
        '--min-interval',
        '4',
        '--schedule',
        '2',
        '--plain',
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    demo.stdout!.on('data', (chunk) => (demoOutput += chunk));
    demo.stderr!.on('data', (chunk) => (demoOutput += chunk));
    exited = new Promise((resolve) => demo.once('exit', resolve));
    const deadline = Date.now() + 90_000;
    while (!/^ {2}npx token-refresher --stack \S+ connect another /m.test(demoOutput)) {
      if (Date.now() > deadline || demo.exitCode !== null)
        throw new Error(`the demo printed no CLI lines:\n${demoOutput}`);
      await sleep(200);
    }
    // A clean shell: none of the test run's AWS settings, only what the demo says to paste.
    tmux(
      'new-session',
      '-d',
      '-s',
      'op',
      '-x',
      '200',
      '-y',
      '50',
      'env',
      '-i',
      `PATH=${process.env.PATH}`,
      `HOME=${process.env.HOME ?? '/root'}`,
      'TERM=xterm-256color',
      'bash',
      '--noprofile',
      '--norc',
    );
    type(`cd ${ROOT} && PS1='$ '`);
  }, 120_000);

  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone.
    }
    if (demo && demo.exitCode === null) {
      demo.kill('SIGINT');
      await exited;
    }
  });

  it('the pasted lines work, and every command acts on the demo as on a deployment', async () => {
    const pasted = demoOutput
      .split('\n')
      .filter((line) => /^ {2}(export AWS_ENDPOINT_URL=|npx token-refresher )/.test(line))
      .map((line) => line.trim());
    expect(pasted).toHaveLength(4);
    const [exportLine, statusLine, refreshLine, connectLine] = pasted as [string, string, string, string];
    expect((await shell(exportLine)).code).toBe(0);

    const status = await shell(statusLine);
    expect(status.code, status.output).toBe(0);
    expect(status.output).toMatch(/Stack TokenRefresherDemo \(us-east-1\)/);
    expect(status.output).toMatch(/│ demo\s+│ active\s+│/);

    const json = await shell(`${statusLine} --json > ${files}/status.json`);
    expect(json.code).toBe(0);
    const report = JSON.parse(readFileSync(`${files}/status.json`, 'utf8'));
    validateJsonOutput('status', report);
    expect(report.connections).toEqual([
      expect.objectContaining({ connection: 'demo', status: 'active', versionQuota: 100 }),
    ]);

    const forced = await shell(refreshLine);
    expect(forced.code, forced.output).toBe(0);
    expect(forced.output).toMatch(/refreshed "demo": version \w{8}, access token expires in \d+s/);

    // A connect abandoned with Ctrl-C while the browser is out takes back its placeholder.
    type(connectLine);
    await waitFor(/Open this URL in a browser to authorize:/);
    tmux('send-keys', '-t', 'op', 'C-c');
    await waitFor(/removed the placeholder secret token-refresher\/another this connect had created/, 20_000);
    await waitFor(/interrupted before the authorization arrived; nothing was connected/, 20_000);
    await waitFor(/^\$ $/m, 20_000);
    const after = await shell(`${statusLine} --json > ${files}/after-ctrl-c.json`);
    expect(after.code).toBe(0);
    const names = JSON.parse(readFileSync(`${files}/after-ctrl-c.json`, 'utf8')).connections.map(
      (c: { connection: string }) => c.connection,
    );
    expect(names).toEqual(['demo']);

    // Tab completion in the terminal.
    expect(
      (
        await shell(
          'source <(npx token-refresher completion bash); token-refresher() { npx token-refresher "$@"; }',
        )
      ).code,
    ).toBe(0);
    type('token-refresher --stack TokenRefresherDemo ref', false);
    tmux('send-keys', '-t', 'op', 'Tab');
    await waitFor(/^\$ token-refresher --stack TokenRefresherDemo refresh $/m, 10_000);
    tmux('send-keys', '-t', 'op', 'C-u');

    // Disabled until its token expired, then enabled: refreshed at once (the demo's floor is 4 s).
    expect((await shell('token-refresher --stack TokenRefresherDemo disable demo')).code).toBe(0);
    await shell(`token-refresher --stack TokenRefresherDemo status --json > ${files}/disabled.json`);
    const expiresIn = JSON.parse(readFileSync(`${files}/disabled.json`, 'utf8')).connections[0]
      .expiresInSeconds;
    await sleep((Math.max(0, expiresIn) + 2) * 1000);
    const enabled = await shell('token-refresher --stack TokenRefresherDemo enable demo');
    expect(enabled.code, enabled.output).toBe(0);
    expect(enabled.output).toMatch(
      /enabled "demo" \(version \w{8}\); its access token expired \d+s ago: refreshed (it at once|meanwhile by a scheduled run)/,
    );

    // status --watch redraws in place: one table on the screen however many times it drew.
    tmux('send-keys', '-t', 'op', 'C-l');
    await sleep(300);
    tmux('clear-history', '-t', 'op');
    type('token-refresher --stack TokenRefresherDemo status --watch 1');
    await waitFor(/Every 1 s, at/);
    const first = (await waitFor(/Every 1 s, at (\S+)/))[1];
    await waitFor(new RegExp(`Every 1 s, at (?!${first})`), 10_000);
    const watching = screen();
    expect(watching.match(/Stack TokenRefresherDemo/g)).toHaveLength(1);
    tmux('send-keys', '-t', 'op', 'C-c');
    await waitFor(/^\$ $/m, 10_000);

    // An error with --json: one JSON document on stderr, with its stable code.
    const missing = await shell(
      `token-refresher --stack TokenRefresherDemo refresh nope --json 2> ${files}/error.json`,
    );
    expect(missing.code).toBe(3);
    const error = JSON.parse(readFileSync(`${files}/error.json`, 'utf8'));
    validateJsonOutput('error', error);
    expect(error.error).toMatchObject({ code: 'not_found', exitCode: 3 });

    // The demo's counters count what the provider saw, the CLI's refreshes included.
    demo.kill('SIGINT');
    await exited;
    const row =
      /\| Refreshes of "demo"\s+\| (\d+) \(scheduled (\d+), on demand (\d+), by the CLI or others (\d+)\)/.exec(
        demoOutput,
      );
    expect(row, demoOutput).not.toBeNull();
    const [, total, scheduled, onDemand, others] = row!.map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    // refresh --force, and enable's refresh unless a scheduled run refreshed it first (a race
    // the enable line names).
    const scheduledFirst = /refreshed meanwhile by a scheduled run/.test(enabled.output);
    expect(others).toBeGreaterThanOrEqual(scheduledFirst ? 1 : 2);
    expect(total).toBe(scheduled + onDemand + others);
    expect(demoOutput).toMatch(/\| Refresh-token reuses detected by the provider \| 0\s+\|/);
  }, 240_000);
});
