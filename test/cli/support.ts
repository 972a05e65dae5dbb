import { Readable } from 'node:stream';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { expect } from 'vitest';
import { main } from '../../cli/index.js';
import type { LocalInvokerOptions } from '../../cli/invoker.js';
import type { CliIo } from '../../cli/io.js';
import { KmsKeyService } from '../../lambda/adapters/kms-key-service.js';
import { parseRecord, refreshTokenContext } from '../../lambda/core/record.js';
import type { ResolvedProfile } from '../../lambda/providers/profiles.js';
import { type AuthServer, type AuthServerClient, startAuthServer } from '../../sandbox/auth-server.js';
import { headlessAuthorize } from '../../sandbox/headless-browser.js';
import {
  type ProviderReplay,
  type ReplayProfileName,
  startProviderReplay,
} from '../../sandbox/provider-replay/replay-server.js';
import {
  createKmsKey,
  createLeaseTable,
  createSecret,
  kmsClient,
  uniqueName,
} from '../support/aws-fixtures.js';
import { JSON_SCHEMAS, type JsonOutput, validateJsonOutput } from './json-schemas.js';

/**
 * Requests for each profile's real token endpoint go to the replay's endpoint for it: the
 * process's `fetch` (the refresher's HTTP adapter looks it up per call) is replaced until
 * the returned function restores it. The real CLI and the real in-process refresher then
 * talk to a provider that answers as the real one does.
 */
export function routeToReplay(replay: ProviderReplay, routes: Record<string, ReplayProfileName>): () => void {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const profile = routes[url];
    return realFetch(profile ? replay.tokenEndpoint(profile) : input, init);
  };
  return () => {
    globalThis.fetch = realFetch;
  };
}

/** The auth server, the provider replay and a CLI sandbox whose deployment reaches both. */
export interface ReplayCli {
  auth: AuthServer;
  replay: ProviderReplay;
  sandbox: CliSandbox;
  /** The client credentials secret of each profile's client at the replay. */
  credentials: Record<string, string>;
  /** Restores `fetch` and stops both servers. */
  stop(): Promise<void>;
}

/**
 * Starts the auth server and the provider replay, and sets up a CLI sandbox whose
 * deployment may send tokens to the real token endpoints of `profiles` (what
 * `allowedTokenOrigins: ['profile:xero', ...]` synthesizes), with a client credentials
 * secret for each profile's client at the replay, bound to that endpoint's origin; the
 * requests for those endpoints go to the replay (`routeToReplay`).
 */
export async function startReplayCli(
  profiles: Partial<Record<ReplayProfileName, ResolvedProfile>>,
): Promise<ReplayCli> {
  const [auth, replay] = await Promise.all([startAuthServer({ autoApprove: true }), startProviderReplay()]);
  const entries = Object.entries(profiles) as [ReplayProfileName, ResolvedProfile][];
  const origin = (resolved: ResolvedProfile) => new URL(resolved.tokenEndpoint).origin;
  const sandbox = await new CliSandbox(auth).setUp({
    outputs: {
      AllowedTokenOrigins: [auth.issuer, ...entries.map(([, resolved]) => origin(resolved))].join(','),
      VersionFloorSeconds: '900',
    },
  });
  const credentials: Record<string, string> = {};
  for (const [name, resolved] of entries) {
    credentials[name] = await sandbox.createClientCredentials(
      `${sandbox.clientCredentialsPrefix}${name}`,
      replay.client(name),
      [origin(resolved)],
    );
  }
  const restore = routeToReplay(
    replay,
    Object.fromEntries(entries.map(([name, resolved]) => [resolved.tokenEndpoint, name])),
  );
  return {
    auth,
    replay,
    sandbox,
    credentials,
    stop: async () => {
      restore();
      await replay.stop();
      await auth.stop();
    },
  };
}

/**
 * With `--json`, every run's outputs are checked against the command's schema: stdout one
 * document (when there is one), stderr one JSON error when the exit is not 0.
 */
export function expectValidJson(argv: readonly string[], run: CliRun): void {
  if (!argv.includes('--json') || argv.includes('--help')) return;
  const command = argv.find((arg): arg is JsonOutput => arg in JSON_SCHEMAS && arg !== 'error');
  if (command && run.stdout !== '') validateJsonOutput(command, JSON.parse(run.stdout));
  if (run.code !== 0) validateJsonOutput('error', JSON.parse(run.stderr.trim().split('\n').at(-1) ?? ''));
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Bad input: a non-zero exit, nothing on stdout, and one line on stderr matching `pattern`. */
export function expectOneLine(run: CliRun, pattern: RegExp): void {
  expect(run.code).not.toBe(0);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

/**
 * What the CDK stack would create, in moto: two KMS keys, the lease table, a client
 * credentials secret, alarms named `<stack>-...`, and a CloudFormation stack whose
 * outputs name them all — so the CLI finds everything by stack name, as in AWS.
 */
export class CliSandbox {
  readonly stackName = uniqueName('TokenRefresherTest');
  readonly prefix = `${uniqueName('tr-cli')}/`;
  readonly clientCredentialsPrefix = `${uniqueName('tr-cli-clients')}/`;
  readonly secretsManager = new SecretsManagerClient({});
  /** Every token, code and secret seen; asserted absent from all CLI output. */
  readonly sensitive = new Set<string>();
  /** Everything every CLI run printed. */
  allOutput = '';
  refreshTokenKeyArn!: string;
  secretsKeyArn!: string;
  tableName!: string;
  keys!: KmsKeyService;
  /** Authorization codes the headless browser carried to the CLI. */
  readonly codes: string[] = [];

  constructor(readonly auth: AuthServer) {}

  async setUp(
    options: {
      alarms?: Record<string, 'OK' | 'ALARM'>;
      /** Stack outputs added to (or replacing) the sandbox's own. */
      outputs?: Record<string, string>;
    } = {},
  ): Promise<this> {
    const [refreshTokenKey, secretsKey, tableName] = await Promise.all([
      createKmsKey(),
      createKmsKey(),
      createLeaseTable(),
    ]);
    this.refreshTokenKeyArn = refreshTokenKey.arn;
    this.secretsKeyArn = secretsKey.arn;
    this.tableName = tableName;
    this.keys = new KmsKeyService(kmsClient(), refreshTokenKey.arn);
    for (const client of this.auth.clients) {
      this.sensitive.add(client.clientSecret);
      await createSecret(
        this.clientSecretId(client),
        JSON.stringify({
          client_id: client.clientId,
          client_secret: client.clientSecret,
          token_endpoint_origins: [this.auth.issuer],
        }),
      );
    }
    const outputs: Record<string, string> = {
      FunctionName: `${this.stackName}-Refresher`,
      AlarmTopicArn: `arn:aws:sns:us-east-1:123456789012:${this.stackName}-alarms`,
      SecretsKeyArn: this.secretsKeyArn,
      RefreshTokenKeyArn: this.refreshTokenKeyArn,
      LeaseTableName: this.tableName,
      ConnectionPrefix: this.prefix,
      ClientCredentialsPrefix: this.clientCredentialsPrefix,
      DashboardName: `${this.stackName}-us-east-1`,
      // The sandbox's refresher may send only to the fixture provider (plain http, loopback).
      AllowedTokenOrigins: this.auth.issuer,
      ...options.outputs,
    };
    await new CloudFormationClient({}).send(
      new CreateStackCommand({
        StackName: this.stackName,
        TemplateBody: JSON.stringify({
          AWSTemplateFormatVersion: '2010-09-09',
          Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
          Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
        }),
      }),
    );
    const cloudWatch = new CloudWatchClient({});
    for (const [name] of Object.entries(options.alarms ?? {})) {
      await cloudWatch.send(
        new PutMetricAlarmCommand({
          AlarmName: `${this.stackName}-${name}`,
          Namespace: 'TokenRefresher',
          MetricName: 'RunCompleted',
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
        }),
      );
    }
    return this;
  }

  /** A client credentials secret for another provider's client, bound to `origins`. */
  async createClientCredentials(
    secretId: string,
    client: { clientId: string; clientSecret: string },
    origins: string[],
  ): Promise<string> {
    this.sensitive.add(client.clientSecret);
    await createSecret(
      secretId,
      JSON.stringify({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        token_endpoint_origins: origins,
      }),
    );
    return secretId;
  }

  clientSecretId(client: AuthServerClient): string {
    return `${this.clientCredentialsPrefix}${client.clientId}`;
  }

  /** Runs the CLI in-process with `argv`, capturing stdout and stderr. */
  async run(
    argv: string[],
    options: {
      stdin?: string;
      stdinIsTTY?: boolean;
      confirm?: boolean;
      /** Sees each confirmation question asked. */
      onConfirm?: (question: string) => void;
      local?: LocalInvokerOptions;
      /** With `--no-browser`: a person copies the printed URL into a (headless) browser. */
      followPrintedUrl?: boolean;
      /** The browser the CLI opens (default: the headless redirect follower). */
      openBrowser?: (url: string) => Promise<void>;
    } = {},
  ): Promise<CliRun> {
    let stdout = '';
    let stderr = '';
    const follow = (text: string) => {
      const url = /^\s+(http\S+)$/m.exec(text)?.[1];
      if (options.followPrintedUrl && url) void this.browse(url).catch(() => {});
    };
    const stdin = Readable.from(
      options.stdin !== undefined ? [Buffer.from(options.stdin)] : [],
    ) as Readable & {
      isTTY?: boolean;
    };
    stdin.isTTY = options.stdinIsTTY ?? false;
    const io: Partial<CliIo> = {
      stdout: { write: (text: string) => (stdout += text), isTTY: false },
      stderr: {
        write: (text: string) => {
          stderr += text;
          follow(text);
          return true;
        },
        isTTY: false,
      },
      stdin,
      openBrowser: options.openBrowser ?? ((url) => this.browse(url)),
      confirm: async (question) => {
        options.onConfirm?.(question);
        return options.confirm ?? false;
      },
      readHidden: async () => options.stdin ?? '',
    };
    const code = await main(['--stack', this.stackName, ...argv], { io, local: options.local });
    this.allOutput += stdout + stderr;
    expectValidJson(argv, { code, stdout, stderr });
    return { code, stdout, stderr };
  }

  /** The headless browser: follows the flow to the CLI's loopback redirect. */
  async browse(url: string): Promise<void> {
    const result = await headlessAuthorize(url);
    const code = new URL(result.finalUrl).searchParams.get('code');
    if (code) {
      this.codes.push(code);
      this.sensitive.add(code);
    }
  }

  /** Common `connect` flags for the fixture's provider. */
  connectArgs(client: AuthServerClient, extra: string[] = []): string[] {
    return [
      '--issuer',
      this.auth.issuer,
      '--client-id',
      client.clientId,
      '--client-auth',
      client.authMethod,
      '--client-credentials-secret',
      this.clientSecretId(client),
      '--scope',
      'openid offline_access api:read',
      '--allow-insecure-localhost',
      ...extra,
    ];
  }

  /** `connect <name> --refresh-token-stdin` flags for the fixture's provider and `client`. */
  importArgs(name: string, client: AuthServerClient): string[] {
    return [
      'connect',
      name,
      '--refresh-token-stdin',
      '--token-endpoint',
      this.auth.tokenEndpoint,
      '--client-auth',
      client.authMethod,
      '--client-credentials-secret',
      this.clientSecretId(client),
      '--allow-insecure-localhost',
    ];
  }

  /** The AWSCURRENT record and its decrypted refresh token (for assertions; added to `sensitive`). */
  async current(name: string) {
    const secretName = this.prefix + name;
    const result = await this.secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSCURRENT' }),
    );
    const record = parseRecord(name, result.SecretString!);
    const refreshToken = record.refreshToken
      ? await this.keys.decrypt(record.refreshToken, refreshTokenContext(secretName))
      : undefined;
    if (refreshToken) this.sensitive.add(refreshToken);
    if (record.accessToken) this.sensitive.add(record.accessToken);
    return { versionId: result.VersionId!, record, refreshToken };
  }

  /** Sensitive values found in any CLI output so far. */
  leaked(): string[] {
    for (const presentation of this.auth.presentedRefreshTokens())
      this.sensitive.add(presentation.refreshToken);
    return [...this.sensitive].filter((value) => value.length >= 8 && this.allOutput.includes(value));
  }
}
