import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { CliSandbox, expectOneLine } from './support.js';

/**
 * Bad input gets one clear line on stderr and a non-zero exit, before anything is changed:
 * unknown connection, malformed URL, a non-https endpoint, missing AWS credentials or
 * region, the stack not found, and the like.
 */
describe('token-refresher CLI bad input', () => {
  let auth: AuthServer;
  let sandbox: CliSandbox;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    auth = await startAuthServer({ autoApprove: true });
    sandbox = await new CliSandbox(auth).setUp();
  });

  afterAll(async () => {
    await auth?.stop();
  });

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  const client = () => auth.client('client_secret_basic');

  it.each([
    ['refresh', ['refresh', 'nobody']],
    ['disable', ['disable', 'nobody']],
    ['enable', ['enable', 'nobody']],
    ['remove', ['remove', 'nobody', '--yes']],
  ])('%s of an unknown connection', async (_command, argv) => {
    expectOneLine(
      await sandbox.run(argv),
      /^token-refresher: unknown connection "nobody": no secret "tr-cli-.+\/nobody" in stack .+ \(token-refresher status lists the connections\)$/,
    );
  });

  it('an invalid connection name', async () => {
    expectOneLine(
      await sandbox.run(['refresh', 'no/slashes']),
      /^token-refresher: invalid connection name "no\/slashes": use 1 to 128 of/,
    );
  });

  it('a malformed token endpoint URL', async () => {
    expectOneLine(
      await sandbox.run([
        'connect',
        'x',
        '--token-endpoint',
        'not a url',
        '--authorization-endpoint',
        'https://a.example/auth',
        '--client-id',
        'c',
      ]),
      /^token-refresher: --token-endpoint is not a valid URL$/,
    );
  });

  it('a malformed authorization endpoint URL', async () => {
    expectOneLine(
      await sandbox.run([
        'connect',
        'x',
        '--token-endpoint',
        'https://a.example/token',
        '--authorization-endpoint',
        'https//nope',
        '--client-id',
        'c',
      ]),
      /^token-refresher: --authorization-endpoint is not a valid URL$/,
    );
  });

  it('a non-https token endpoint', async () => {
    expectOneLine(
      await sandbox.run([
        'connect',
        'x',
        '--token-endpoint',
        'http://auth.example.com/token',
        '--refresh-token-stdin',
      ]),
      /^token-refresher: --token-endpoint must use https$/,
    );
  });

  it('an http endpoint on localhost without --allow-insecure-localhost', async () => {
    expectOneLine(
      await sandbox.run(['connect', 'x', '--issuer', auth.issuer, '--client-id', client().clientId]),
      /^token-refresher: --issuer must use https \(plain http to localhost needs --allow-insecure-localhost\)$/,
    );
    expectOneLine(
      await sandbox.run(['connect', 'x', '--token-endpoint', auth.tokenEndpoint, '--refresh-token-stdin'], {
        stdin: 'whatever-token-value',
      }),
      /^token-refresher: --token-endpoint must use https \(plain http to localhost needs --allow-insecure-localhost\)$/,
    );
  });

  it('missing flags for the code flow, an unknown dialect, an empty stdin', async () => {
    expectOneLine(
      await sandbox.run(['connect', 'x', '--token-endpoint', 'https://a.example/token']),
      /^token-refresher: --authorization-endpoint \(or --issuer\) is required for the authorization code flow$/,
    );
    expectOneLine(
      await sandbox.run([
        'connect',
        'x',
        '--token-endpoint',
        'https://a.example/token',
        '--authorization-endpoint',
        'https://a.example/auth',
      ]),
      /^token-refresher: --client-id is required for the authorization code flow$/,
    );
    expectOneLine(
      await sandbox.run(['connect', 'x', '--dialect', 'xml']),
      /^error: option '--dialect <dialect>' argument 'xml' is invalid\. Allowed choices are form, json\.$/,
    );
    expectOneLine(
      await sandbox.run(
        ['connect', 'x', '--token-endpoint', 'https://a.example/token', '--refresh-token-stdin'],
        {
          stdin: '\n',
        },
      ),
      /^token-refresher: --refresh-token-stdin: standard input was empty$/,
    );
  });

  it('an unknown command or option', async () => {
    const command = await sandbox.run(['stauts']);
    expect(command).toMatchObject({ code: 2, stdout: '' });
    expect(command.stderr).toBe("error: unknown command 'stauts'\n(Did you mean status?)\n");
    const option = await sandbox.run(['status', '--jsno']);
    expect(option).toMatchObject({ code: 2, stdout: '' });
    expect(option.stderr).toBe("error: unknown option '--jsno'\n(Did you mean --json?)\n");
    expectOneLine(await sandbox.run(['frobnicate']), /^error: unknown command 'frobnicate'/);
    // With --json, the usage error is one JSON document on stderr, with its stable code.
    const json = await sandbox.run(['refresh', 'x', '--forse', '--json']);
    expect(json).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(json.stderr)).toEqual({
      error: {
        code: 'usage',
        exitCode: 2,
        message: "unknown option '--forse' (Did you mean --force?)",
        commanderCode: 'commander.unknownOption',
      },
    });
  });

  it('a missing client credentials secret, before the browser opens', async () => {
    const run = await sandbox.run([
      'connect',
      'x',
      ...sandbox.connectArgs(client(), ['--client-credentials-secret', 'does-not-exist']),
    ]);
    expectOneLine(run, /^token-refresher: client credentials secret "does-not-exist" not found: create it/);
    expect(sandbox.codes).toHaveLength(0);
  });

  it('the stack not found', async () => {
    expectOneLine(
      await sandbox.run(['--stack', 'NoSuchStack', 'status']),
      /^token-refresher: stack "NoSuchStack" not found in us-east-1: deploy it \(npx cdk deploy\), or pass --stack <name> or --region$/,
    );
  });

  it('no AWS region', async () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    expectOneLine(
      await sandbox.run(['status']),
      /^token-refresher: no AWS region: set AWS_REGION or pass --region$/,
    );
  });

  it('no AWS credentials', async () => {
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      delete process.env[key];
    }
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    expectOneLine(
      await sandbox.run(['status']),
      /^token-refresher: no AWS credentials found: set AWS_PROFILE \(or pass --profile\), export AWS_ACCESS_KEY_ID/,
    );
  });

  it('a remove without confirmation or with a bad recovery window', async () => {
    expectOneLine(
      await sandbox.run(['remove', 'x', '--recovery-window-days', '3', '--yes']),
      /^token-refresher: --recovery-window-days must be a whole number from 7 to 30$/,
    );
  });

  it('prints nothing sensitive', () => {
    expect(sandbox.leaked()).toEqual([]);
  });
});
