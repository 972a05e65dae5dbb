import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { headlessAuthorize } from '../../sandbox/headless-browser.js';
import { type Spawned, spawnCaptured } from '../support/child-process.js';
import { CliSandbox } from './support.js';

const BIN = fileURLToPath(new URL('../../cli/token-refresher.mjs', import.meta.url));

/** Runs the real bin (package.json `bin`) as a child process, as an operator would. */
function runBin(argv: string[], onStderr?: (text: string) => void): Promise<Spawned> {
  return spawnCaptured(process.execPath, [BIN, ...argv], {
    env: { ...process.env, NO_COLOR: '1' },
    onStderr,
  });
}

describe('the token-refresher bin (a child process)', () => {
  let auth: AuthServer;
  let sandbox: CliSandbox;

  beforeAll(async () => {
    auth = await startAuthServer({ autoApprove: true });
    sandbox = await new CliSandbox(auth).setUp({ alarms: { HeartbeatMissing: 'OK' } });
  });

  afterAll(async () => {
    await auth?.stop();
  });

  it('connects with --no-browser (the URL followed by a headless browser), then reports status --json', async () => {
    const client = auth.client('client_secret_basic');
    let browsing: Promise<unknown> | undefined;
    const connected = await runBin(
      ['--stack', sandbox.stackName, 'connect', 'spawned', ...sandbox.connectArgs(client, ['--no-browser'])],
      (stderr) => {
        const url = /^ {2}(http\S+)$/m.exec(stderr)?.[1];
        if (url && !browsing) browsing = headlessAuthorize(url);
      },
    );
    await browsing;
    expect(connected.stderr).toContain('Open this URL in a browser to authorize:');
    expect(connected.code, connected.stderr).toBe(0);
    expect(connected.stdout).toMatch(
      /^connected "spawned": access token valid for \d+s \(version \w{8}\)\n$/,
    );

    const status = await runBin(['--stack', sandbox.stackName, 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toBe('');
    const report = JSON.parse(status.stdout);
    expect(report.connections).toEqual([
      // The connect is the one refresh; the placeholder it replaced is the other version.
      expect.objectContaining({ connection: 'spawned', status: 'active', refreshes24h: 1, versions24h: 2 }),
    ]);
    expect(report.alarms).toEqual([
      expect.objectContaining({ name: `${sandbox.stackName}-HeartbeatMissing` }),
    ]);

    await sandbox.current('spawned');
    sandbox.allOutput += connected.stdout + connected.stderr + status.stdout + status.stderr;
    expect(sandbox.leaked()).toEqual([]);
  });

  it('fails with one line and exit code 3 (not_found) when the stack does not exist', async () => {
    const run = await runBin(['--stack', 'NoSuchStack', 'status']);
    expect(run).toMatchObject({
      code: 3,
      stdout: '',
      stderr:
        'token-refresher: stack "NoSuchStack" not found in us-east-1: deploy it (npx cdk deploy), or pass --stack <name> or --region\n',
    });
  });

  it('prints its help', async () => {
    const run = await runBin(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['connect', 'status', 'refresh', 'disable', 'enable', 'remove', 'providers']) {
      expect(run.stdout).toContain(`  ${command}`);
    }
  });

  it('lists the provider profiles as JSON (no AWS call: no stack named)', async () => {
    const run = await runBin(['providers', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const listed = JSON.parse(run.stdout) as {
      version: number;
      profiles: { name: string; sources: string[] }[];
    };
    expect(listed.version).toBe(1);
    expect(listed.profiles.length).toBeGreaterThanOrEqual(16);
    expect(listed.profiles.map((profile) => profile.name)).toEqual(
      expect.arrayContaining(['xero', 'salesforce', 'slack', 'github-app', 'hubspot', 'keycloak']),
    );
    for (const profile of listed.profiles) expect(profile.sources.length).toBeGreaterThan(0);
  });
});
