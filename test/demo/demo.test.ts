import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Short timings: 8-s access tokens refreshed 4 s before expiry, a run every second. */
const FAST = [
  '--token-ttl',
  '8',
  '--refresh-window',
  '4',
  '--min-interval',
  '2',
  '--schedule',
  '1',
  '--plain',
];

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

function run(
  command: string,
  args: string[],
  options: { interruptAfterMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    // The demo must bring its own moto: none of the test run's AWS settings leak in.
    const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', ...options.env };
    for (const key of [
      'AWS_ENDPOINT_URL',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
    ]) {
      delete env[key];
    }
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    if (options.interruptAfterMs) setTimeout(() => child.kill('SIGINT'), options.interruptAfterMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, output }));
  });
}

function row(output: string, label: string): string {
  const match = new RegExp(`\\| ${label}\\s+\\| ([^|]+)\\|`).exec(output);
  return match?.[1]?.trim() ?? '';
}

/** Spawned processes: the demo starts its own moto_server and servers, and must stop them all. */
describe('npm run demo', () => {
  it('runs for --duration, refreshes with no failure and no reuse, and exits 0 with a healthy summary', async () => {
    const { code, output } = await run('npm', ['run', '--silent', 'demo', '--', '--duration', '20', ...FAST]);
    expect(output).toContain('✔ Connecting "demo" through the authorization code flow');
    expect(output).toMatch(/HEALTHY\n$/);
    expect(code, output).toBe(0);
    expect(Number(row(output, 'Refreshes of "demo"').split(' ')[0])).toBeGreaterThanOrEqual(2);
    expect(row(output, 'Refresh failures')).toBe('0');
    expect(row(output, 'Refresh-token reuses detected by the provider')).toBe('0');
    expect(row(output, 'Consumer requests')).toMatch(/^\d+ \(\d+ ok, 0 failed\)$/);
    expect(row(output, 'Processes left running')).toBe('none');
    // --duration is the run's length, setup included.
    expect(output).toMatch(/\| Summary\s+\| 20 s\s+\|/);
    // The CLI lines, once ready, and the legend of the counters.
    expect(output).toMatch(
      /export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo\n/,
    );
    expect(output).toContain('npx token-refresher --stack TokenRefresherDemo status');
    expect(output).toMatch(
      /npx token-refresher --stack TokenRefresherDemo connect another --issuer http:\/\/127\.0\.0\.1:\d+ /,
    );
    expect(output).toContain('Reuses: refresh tokens presented again');
  }, 120_000);

  it('a run shorter than one token lifetime says so instead of HEALTHY, and exits 2', async () => {
    const { code, output } = await run(process.execPath, [
      '--import',
      'tsx',
      'demo/index.ts',
      '--duration',
      '6',
      ...FAST.map((arg) => (arg === '8' ? '30' : arg)),
    ]);
    expect(output).toContain('TOO SHORT FOR A VERDICT');
    expect(output).not.toMatch(/^HEALTHY$/m);
    expect(code, output).toBe(2);
  }, 120_000);

  it('without moto, says in one line how to install it', async () => {
    const { code, output } = await run(process.execPath, ['--import', 'tsx', 'demo/index.ts', '--plain'], {
      env: { PYTHON: `${ROOT}test/demo/no-moto-python.sh` },
    });
    expect(output).toContain(
      "demo failed: moto is not installed for python3: install it with  python3 -m pip install 'moto[server]==5.*'",
    );
    expect(output).not.toContain('Traceback');
    expect(code).toBe(1);
  }, 60_000);

  it('stops cleanly on Ctrl-C (SIGINT) with its summary', async () => {
    const { code, output } = await run(process.execPath, ['--import', 'tsx', 'demo/index.ts', ...FAST], {
      interruptAfterMs: 18_000,
    });
    expect(output).toMatch(/HEALTHY\n$/);
    expect(code, output).toBe(0);
    expect(row(output, 'Processes left running')).toBe('none');
  }, 120_000);
});
