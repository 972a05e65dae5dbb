import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SandboxStackOutputKey, StackOutputKey } from '../lambda/contract/stack-outputs.js';
import { CliError, toCliError } from './errors.js';

/** The stack name looked up when `--stack` is not given (the CDK app's default). */
export const DEFAULT_STACK_NAME = 'TokenRefresher';

/** A stack output the CLI reads (lambda/contract/stack-outputs.ts), a sandbox stack's included. */
export type OutputKey = StackOutputKey | SandboxStackOutputKey;

/** Global options shared by every command. */
export interface GlobalOptions {
  stack: string;
  region?: string;
  profile?: string;
  local?: boolean;
  verbose?: boolean;
  function?: string;
  prefix?: string;
  table?: string;
  refreshTokenKey?: string;
  secretsKey?: string;
  clientCredentialsPrefix?: string;
  alarmPrefix?: string;
}

/** Option overrides of stack outputs: an override wins and saves the lookup. */
const OVERRIDES: Partial<Record<OutputKey, keyof GlobalOptions>> = {
  FunctionName: 'function',
  ConnectionPrefix: 'prefix',
  LeaseTableName: 'table',
  RefreshTokenKeyArn: 'refreshTokenKey',
  SecretsKeyArn: 'secretsKey',
  ClientCredentialsPrefix: 'clientCredentialsPrefix',
};

export interface AwsClients {
  secretsManager: SecretsManagerClient;
  dynamodb: DynamoDBClient;
  kms: KMSClient;
  lambda: LambdaClient;
  cloudWatch: CloudWatchClient;
  cloudFormation: CloudFormationClient;
}

/**
 * The deployment a command works on: AWS clients for the chosen region and profile, and
 * the stack's outputs, looked up once (CloudFormation `DescribeStacks`) the first time a
 * value without an override is needed. `AWS_ENDPOINT_URL` (the local sandbox) is honoured
 * by every client.
 */
export class Deployment {
  readonly clients: AwsClients;
  private outputs?: Promise<Map<string, string>>;
  private region?: string;

  constructor(readonly options: GlobalOptions) {
    const config = {
      ...(options.region ? { region: options.region } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
    };
    this.clients = {
      secretsManager: new SecretsManagerClient(config),
      dynamodb: new DynamoDBClient(config),
      kms: new KMSClient(config),
      lambda: new LambdaClient(config),
      cloudWatch: new CloudWatchClient(config),
      cloudFormation: new CloudFormationClient(config),
    };
  }

  get stackName(): string {
    return this.options.stack;
  }

  /** Whether the refresher runs in this process (the sandbox) instead of being invoked in AWS. */
  get local(): boolean {
    return Boolean(this.options.local || process.env.AWS_ENDPOINT_URL);
  }

  /** Alarm names of the stack start with this (the CDK default is `<stack name>-`). */
  get alarmPrefix(): string {
    return this.options.alarmPrefix ?? `${this.options.stack}-`;
  }

  /**
   * Checks, before any AWS call, that a region and credentials are configured, so that
   * their absence is one clear line instead of an SDK error after a timeout.
   */
  async checkEnvironment(): Promise<void> {
    const client = this.clients.cloudFormation;
    try {
      this.region = await client.config.region();
    } catch {
      throw new CliError('no AWS region: set AWS_REGION or pass --region', 'environment');
    }
    if (!this.region) throw new CliError('no AWS region: set AWS_REGION or pass --region', 'environment');
    try {
      await client.config.credentials();
    } catch (error) {
      throw toCliError(error);
    }
  }

  async regionName(): Promise<string> {
    if (!this.region) await this.checkEnvironment();
    return this.region!;
  }

  /** One output (or its override); a clear error when the stack lacks it. */
  async value(key: OutputKey): Promise<string> {
    const option = OVERRIDES[key];
    const override = option ? this.options[option] : undefined;
    if (typeof override === 'string' && override !== '') return override;
    const outputs = await this.describe();
    const value = outputs.get(key);
    if (!value) {
      throw new CliError(
        `stack "${this.stackName}" has no output ${key}: is it a token-refresher stack? (or pass the matching option)`,
      );
    }
    return value;
  }

  /** An output the stack may lack (an older stack): undefined then, instead of an error. */
  async optionalValue(key: OutputKey): Promise<string | undefined> {
    const option = OVERRIDES[key];
    const override = option ? this.options[option] : undefined;
    if (typeof override === 'string' && override !== '') return override;
    return (await this.describe()).get(key) || undefined;
  }

  private describe(): Promise<Map<string, string>> {
    this.outputs ??= this.lookUp();
    return this.outputs;
  }

  private async lookUp(): Promise<Map<string, string>> {
    const region = await this.regionName();
    let stacks: DescribeStacksCommandOutput;
    try {
      stacks = await this.clients.cloudFormation.send(
        new DescribeStacksCommand({ StackName: this.stackName }),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if ((error as Error).name === 'ValidationError' && /does not exist/i.test(message)) {
        throw new CliError(
          `stack "${this.stackName}" not found in ${region}: deploy it (npx cdk deploy), or pass --stack <name> or --region`,
          'not_found',
        );
      }
      throw toCliError(error);
    }
    const stack = stacks.Stacks?.[0];
    if (!stack) throw new CliError(`stack "${this.stackName}" not found in ${region}`, 'not_found');
    return new Map(
      (stack.Outputs ?? []).flatMap((o) =>
        o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
  }
}
