import type { SpawnOptions } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { uniqueName } from '../support/aws-fixtures.js';
import { type Spawned, spawnChecked } from '../support/child-process.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * What a user does, outside this repository, with nothing but the packed tarballs and the
 * npm registry (the README's "Install" section, command for command): a CDK app made by
 * `cdk init app --language typescript` (CommonJS) and a plain-JavaScript ESM app synthesize
 * with the construct, a consumer function and both grants; the CLI installed globally into a
 * temporary prefix runs `--help` and `status` against moto; a consumer that imports the
 * client, bundled with esbuild, reads a connection from moto.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CDK = join(ROOT, 'node_modules', '.bin', 'cdk');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** Installs lean on the npm cache the repository's own install filled. */
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** Runs a command with the CDK CLI's checks and telemetry off; a non-zero exit fails with everything it printed. */
function run(command: string, args: string[], options: SpawnOptions & { cwd: string }): Promise<Spawned> {
  return spawnChecked(command, args, {
    ...options,
    env: {
      ...process.env,
      CDK_DISABLE_VERSION_CHECK: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      NO_COLOR: '1',
      ...options.env,
    },
  });
}

/** Type-checks `file` in `cwd` with this repository's TypeScript, once per [module, moduleResolution]. */
async function typeCheck(
  cwd: string,
  file: string,
  flags: string[],
  modes: [string, string][],
): Promise<void> {
  for (const [module, resolution] of modes) {
    await run(
      'node',
      [TSC, '--noEmit', '--strict', ...flags, '--module', module, '--moduleResolution', resolution, file],
      {
        cwd,
      },
    );
  }
}

/** Kilobytes under `directory` (du -sk). */
async function sizeKb(directory: string): Promise<number> {
  const { stdout } = await run('du', ['-sk', directory], { cwd: directory });
  return Number(stdout.split('\t')[0]);
}

/** How many copies of package `name` are installed under `directory`. */
function copiesOf(directory: string, name: string): number {
  let count = 0;
  const walk = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(join(modules, entry)))
          visit(join(modules, entry, scoped), `${entry}/${scoped}`);
      } else visit(join(modules, entry), entry);
    }
  };
  const visit = (dir: string, packageName: string) => {
    if (packageName === name) count += 1;
    walk(join(dir, 'node_modules'));
  };
  walk(join(directory, 'node_modules'));
  return count;
}

function template(
  app: string,
  stack: string,
): Record<string, Record<string, { Type?: string; Properties?: Json }>> {
  return JSON.parse(readFileSync(join(app, 'cdk.out', `${stack}.template.json`), 'utf8'));
}

/** The consumer function has the client's environment and both grants in its role's policy. */
function expectBoundConsumer(resources: Record<string, { Type?: string; Properties?: Json }>): void {
  const consumer = Object.entries(resources).find(
    ([id, r]) => id.startsWith('Consumer') && r.Type === 'AWS::Lambda::Function',
  )?.[1];
  expect(Object.keys(consumer?.Properties.Environment.Variables ?? {}).sort()).toEqual([
    'TOKEN_REFRESHER_FUNCTION',
    'TOKEN_REFRESHER_PREFIX',
  ]);
  const policies = JSON.stringify(
    Object.entries(resources).filter(
      ([id, r]) => id.startsWith('ConsumerServiceRole') && r.Type === 'AWS::IAM::Policy',
    ),
  );
  expect(policies).toContain('secretsmanager:GetSecretValue');
  expect(policies).toContain('lambda:InvokeFunction');
}

/** The CDK app's stack, as a user writes it in lib/<name>-stack.ts (README "Construct"). */
const CDK_INIT_STACK = `import * as cdk from 'aws-cdk-lib/core';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { TokenRefresher } from 'token-refresher';

export class MyAppStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);

    const refresher = new TokenRefresher(this, 'TokenRefresher');

    const consumer = new lambda.Function(this, 'Consumer', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset('consumer'),
    });
    // Read access to the connection's token, the right to ask for a refresh after a 401,
    // and TOKEN_REFRESHER_PREFIX / TOKEN_REFRESHER_FUNCTION in its environment.
    refresher.bindConsumer(consumer, 'askara-prod');
  }
}
`;

/** A plain-JavaScript ESM app: the two grants one by one. */
const ESM_APP = `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TokenRefresher } from 'token-refresher';

const app = new App();
const stack = new Stack(app, 'EsmApp');
const refresher = new TokenRefresher(stack, 'TokenRefresher');
const consumer = new lambda.Function(stack, 'Consumer', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('export const handler = async () => {};'),
});
refresher.grantReadAccessToken(consumer, 'askara-prod');
refresher.grantRequestRefresh(consumer);
app.synth();
`;

/** The construct used from an ESM TypeScript module (type-checked only). */
const CONSTRUCT_TYPES = `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TokenRefresher, type TokenRefresherProps } from 'token-refresher';

const props: TokenRefresherProps = { stackOutputs: false };
const stack = new Stack(new App(), 'Typed');
const refresher: TokenRefresher = new TokenRefresher(stack, 'TokenRefresher', props);
const fn: lambda.Function = refresher.onDemandFunction;
refresher.bindConsumer(fn, 'askara-prod');
`;

/** A consumer Lambda handler importing the client (README "Consumer usage"). */
const CONSUMER_HANDLER = `import { getAccessToken } from '@token-refresher/client';

export const handler = async (event) => {
  const { accessToken, expiresAt } = await getAccessToken(event.connection);
  return { accessToken, expiresAt };
};
`;

/** The same imports, type-checked under each moduleResolution a consumer may use. */
const CONSUMER_TYPES = `import { getAccessToken, TokenClient, type AccessToken } from '@token-refresher/client';

export async function token(): Promise<AccessToken> {
  const client: TokenClient = new TokenClient({ prefix: 'p/' });
  void client;
  return getAccessToken('askara-prod');
}
`;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read by path in assertions
type Json = any;

describe('the packed package, outside this repository', () => {
  let work: string;
  let tarball: string;
  let clientTarball: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'token-refresher-outside-'));
    const packs = join(work, 'packs');
    mkdirSync(packs);
    // prepack builds everything (scripts/build.ts) from source.
    await run(
      'npm',
      ['pack', '--workspaces', '--include-workspace-root', '--pack-destination', packs, '--loglevel=error'],
      {
        cwd: ROOT,
      },
    );
    tarball = join(packs, 'token-refresher-0.1.0.tgz');
    clientTarball = join(packs, 'token-refresher-client-0.1.0.tgz');
    expect(existsSync(tarball) && existsSync(clientTarball)).toBe(true);
  }, 180_000);

  it("ships what the README's npm pack listing says (declaration files aside)", async () => {
    const { stdout } = await run('tar', ['-tzf', tarball], { cwd: work });
    const packed = stdout
      .split('\n')
      .filter((line) => line !== '' && !line.endsWith('.d.ts'))
      .map((line) => line.replace(/^package\//, ''))
      // The refresher's chunks are named by their content's hash: the README lists them as one glob.
      .map((line) => line.replace(/^(dist\/handlers\/refresher\/chunks\/).*$/, '$1*'));
    const packedNames = [...new Set(packed)].sort();
    expect(packed.filter((line) => line.endsWith('chunks/*')).length).toBeGreaterThan(2);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const listing = /What `npm pack --dry-run` lists[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const listed = listing
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.split(/\s+/)[0])
      .sort();
    expect(listed).toEqual(packedNames);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('a cdk init TypeScript app (CommonJS, no tsx for the package) synthesizes the construct and a bound consumer', async () => {
    const app = join(work, 'my-app');
    mkdirSync(app);
    await run(CDK, ['init', 'app', '--language', 'typescript', '--generate-only'], { cwd: app });
    await run('npm', NPM_INSTALL, { cwd: app });
    await run('npm', [...NPM_INSTALL, tarball], { cwd: app });
    writeFileSync(join(app, 'lib', 'my-app-stack.ts'), CDK_INIT_STACK);
    mkdirSync(join(app, 'consumer'));
    writeFileSync(join(app, 'consumer', 'index.mjs'), 'export const handler = async () => {};\n');
    await run('npx', ['cdk', 'synth', '--quiet'], { cwd: app });

    // One aws-cdk-lib and one constructs: the app's (peer dependencies).
    expect(copiesOf(app, 'aws-cdk-lib')).toBe(1);
    expect(copiesOf(app, 'constructs')).toBe(1);

    const resources = template(app, 'MyAppStack').Resources!;
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const refreshers = functions.filter(
      (f) => f.Properties.Handler === 'index.handler' && f.Properties.Architectures,
    );
    expect(refreshers).toHaveLength(2);
    // The refresher's code is the pre-bundled asset shipped in the tarball, unchanged: the
    // entry file and every chunk beside it.
    const shippedDirectory = join(app, 'node_modules', 'token-refresher', 'dist', 'handlers', 'refresher');
    const shippedFiles = readdirSync(shippedDirectory, { recursive: true, encoding: 'utf8' }).sort();
    expect(shippedFiles.filter((file) => file.startsWith('chunks/')).length).toBeGreaterThan(1);
    const assets = readdirSync(join(app, 'cdk.out')).filter((entry) => entry.startsWith('asset.'));
    const handlerAssets = assets.filter((asset) => {
      const directory = join(app, 'cdk.out', asset);
      const files = readdirSync(directory, { recursive: true, encoding: 'utf8' }).sort();
      return (
        JSON.stringify(files) === JSON.stringify(shippedFiles) &&
        files.every(
          (file) =>
            statSync(join(directory, file)).isDirectory() ||
            readFileSync(join(directory, file)).equals(readFileSync(join(shippedDirectory, file))),
        )
      );
    });
    expect(handlerAssets).toHaveLength(1);

    expectBoundConsumer(resources);
    // The outputs the CLI reads.
    expect(Object.keys(template(app, 'MyAppStack').Outputs!)).toEqual(
      expect.arrayContaining(['FunctionName', 'OnDemandFunctionName', 'ConnectionPrefix', 'LeaseTableName']),
    );
  }, 300_000);

  it('a plain-JavaScript ESM app synthesizes the construct with both grants', async () => {
    const app = join(work, 'esm-app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'esm-app', private: true, type: 'module' })}\n`,
    );
    writeFileSync(join(app, 'cdk.json'), `${JSON.stringify({ app: 'node app.mjs' })}\n`);
    writeFileSync(join(app, 'app.mjs'), ESM_APP);
    await run('npm', [...NPM_INSTALL, 'aws-cdk-lib', 'constructs', tarball], { cwd: app });
    await run('npm', [...NPM_INSTALL, '--save-dev', 'aws-cdk'], { cwd: app });
    await run('npx', ['cdk', 'synth', '--quiet'], { cwd: app });
    // The construct's types from an ESM TypeScript module, under nodenext and bundler resolution.
    writeFileSync(join(app, 'check.mts'), CONSTRUCT_TYPES);
    await typeCheck(
      app,
      'check.mts',
      ['--skipLibCheck'],
      [
        ['nodenext', 'nodenext'],
        ['esnext', 'bundler'],
      ],
    );

    const resources = template(app, 'EsmApp').Resources!;
    expectBoundConsumer(resources);
  }, 300_000);

  describe('against moto', () => {
    let auth: AuthServer;
    let h: RefresherHarness;
    let stackName: string;
    const awsEnv = () => ({
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
      AWS_REGION: process.env.AWS_REGION,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
      AWS_SESSION_TOKEN: process.env.AWS_SESSION_TOKEN,
    });

    beforeAll(async () => {
      auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
      h = await new RefresherHarness(auth).setUp();
      await h.createConnection('askara-prod', { client: auth.client('client_secret_basic') });
      await h.invoke();
      // A deployed stack's outputs (the construct's), naming the harness's resources.
      stackName = uniqueName('OutsideProject');
      const outputs: Record<string, string> = {
        FunctionName: `${stackName}-Refresher`,
        ConnectionPrefix: h.prefix,
        LeaseTableName: h.config.leaseTableName,
        RefreshTokenKeyArn: h.config.refreshTokenKeyId,
        SecretsKeyArn: h.config.refreshTokenKeyId,
        ClientCredentialsPrefix: `${h.prefix.replace(/\/$/, '')}-clients/`,
        AllowedTokenOrigins: auth.issuer,
      };
      await new CloudFormationClient({}).send(
        new CreateStackCommand({
          StackName: stackName,
          TemplateBody: JSON.stringify({
            Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
            Outputs: Object.fromEntries(
              Object.entries(outputs).map(([key, value]) => [key, { Value: value }]),
            ),
          }),
        }),
      );
    }, 60_000);

    afterAll(async () => {
      await auth?.stop();
    });

    it('the CLI installed globally runs --help and status, with production dependencies only', async () => {
      const prefix = join(work, 'global');
      await run('npm', [...NPM_INSTALL, '--global', '--prefix', prefix, tarball], { cwd: work });
      const bin = join(prefix, 'bin', 'token-refresher');
      const installed = join(prefix, 'lib', 'node_modules', 'token-refresher');
      expect(existsSync(join(installed, 'node_modules', 'tsx'))).toBe(false);
      expect(existsSync(join(installed, 'node_modules', 'aws-cdk-lib'))).toBe(false);

      const help = await run(bin, ['--help'], { cwd: work });
      expect(help.stdout).toMatch(/^Usage: token-refresher/);

      const status = await run(bin, ['--stack', stackName, 'status', '--json'], { cwd: work, env: awsEnv() });
      const report = JSON.parse(status.stdout);
      expect(
        report.connections.map((c: { connection: string; status: string }) => [c.connection, c.status]),
      ).toEqual([['askara-prod', 'active']]);
    }, 180_000);

    it('a consumer installs only the client and its two AWS SDK clients, bundles it with esbuild and reads a token', async () => {
      const consumer = join(work, 'consumer');
      mkdirSync(consumer);
      await run('npm', ['init', '-y', '--loglevel=error'], { cwd: consumer });
      await run('npm', [...NPM_INSTALL, clientTarball], { cwd: consumer });
      const installKb = await sizeKb(join(consumer, 'node_modules'));
      console.log(`@token-refresher/client install: ${(installKb / 1024).toFixed(1)} MB`);
      for (const operatorOnly of [
        'commander',
        'ora',
        'open',
        'zod',
        '@aws-sdk/client-kms',
        'token-refresher',
      ]) {
        expect(copiesOf(consumer, operatorOnly), operatorOnly).toBe(0);
      }
      expect(installKb).toBeLessThan(25 * 1024);

      await run('npm', [...NPM_INSTALL, '--save-dev', 'esbuild', '@types/node'], { cwd: consumer });
      // CommonJS require and type resolution under node, node16 and bundler.
      await run('node', ['-e', "require('@token-refresher/client').TokenClient"], { cwd: consumer });
      writeFileSync(join(consumer, 'types.ts'), CONSUMER_TYPES);
      await typeCheck(
        consumer,
        'types.ts',
        ['--skipLibCheck', 'false', '--types', 'node'],
        [
          ['commonjs', 'node10'],
          ['node16', 'node16'],
          ['esnext', 'bundler'],
        ],
      );

      writeFileSync(join(consumer, 'handler.mjs'), CONSUMER_HANDLER);
      await run(
        'npx',
        [
          'esbuild',
          'handler.mjs',
          '--bundle',
          '--platform=node',
          '--format=esm',
          '--main-fields=module,main',
          '--outfile=dist/index.mjs',
        ],
        {
          cwd: consumer,
        },
      );
      const invoked = await run(
        'node',
        [
          '--input-type=module',
          '-e',
          "const { handler } = await import('./dist/index.mjs'); console.log(JSON.stringify(await handler({ connection: 'askara-prod' })));",
        ],
        { cwd: consumer, env: { ...awsEnv(), TOKEN_REFRESHER_PREFIX: h.prefix } },
      );
      const { accessToken } = JSON.parse(invoked.stdout);
      expect(accessToken).toBe((await h.current('askara-prod')).record.accessToken);
    }, 180_000);
  });
});
