import { App, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { SettingsError, type TokenRefresherProps } from './settings.js';
import { TokenRefresher } from './token-refresher.js';

/** The stack name the operator CLI looks for when none is given. */
export const DEFAULT_STACK_NAME = 'TokenRefresher';

/**
 * The `cdk.json` / `-c key=value` context keys the app reads, each documented (with its
 * default) in docs/deploy.md.
 */
export const CONTEXT_KEYS = [
  'stackName',
  'connectionPrefix',
  'clientCredentialsPrefix',
  'scheduleMinutes',
  'refreshWindowSeconds',
  'minIntervalSeconds',
  'versionFloorSeconds',
  'maxAgeSeconds',
  'timeoutSeconds',
  'memorySizeMb',
  'logRetentionDays',
  'alarmEmail',
  'connections',
  'nearExpirySeconds',
  'reauthDueWithinDays',
  'failureAlarmPeriods',
  'earlyRefreshesPerHour',
  'maxRefreshesPerHour',
  'refreshTokenKeyOperatorRoleArns',
  'allowedTokenOrigins',
  'onDemandReservedConcurrency',
  'operatorRoleArns',
  'createTrail',
  'tokenStoreSourceCidrs',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

export interface TokenRefresherStackProps extends StackProps {
  /** Settings of the {@link TokenRefresher} construct. */
  readonly refresher?: TokenRefresherProps;
}

/** The deployable stack: one {@link TokenRefresher}, which adds the outputs the operator CLI reads. */
export class TokenRefresherStack extends Stack {
  public readonly refresher: TokenRefresher;

  constructor(scope: Construct, id: string, props: TokenRefresherStackProps = {}) {
    super(scope, id, {
      description:
        'token-refresher: keeps OAuth 2.0 access tokens fresh in KMS-encrypted Secrets Manager secrets',
      ...props,
    });
    // The construct adds the outputs the operator CLI reads (its stackOutputs prop).
    this.refresher = new TokenRefresher(this, 'TokenRefresher', props.refresher);
  }
}

type ContextReader = (key: ContextKey) => unknown;

function text(key: ContextKey, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new SettingsError(`context "${key}" must be a string (got ${JSON.stringify(value)})`);
  return value;
}

function whole(key: ContextKey, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isInteger(number)) {
    throw new SettingsError(`context "${key}" must be a whole number (got ${JSON.stringify(value)})`);
  }
  return number;
}

/** A list: a JSON array, or a comma-separated string (`-c connections=a,b`). */
function list(key: ContextKey, value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let items: unknown = value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      try {
        items = JSON.parse(trimmed);
      } catch {
        throw new SettingsError(`context "${key}" is not valid JSON: ${trimmed}`);
      }
    } else {
      items = trimmed.split(',');
    }
  }
  if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) {
    throw new SettingsError(`context "${key}" must be a list of strings (got ${JSON.stringify(value)})`);
  }
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
}

/** A switch: `true` / `false` (JSON) or "true" / "false" (`-c createTrail=true`). */
function flag(key: ContextKey, value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new SettingsError(`context "${key}" must be true or false (got ${JSON.stringify(value)})`);
}

const seconds = (value: number | undefined) => (value === undefined ? undefined : Duration.seconds(value));
const days = (value: number | undefined) => (value === undefined ? undefined : Duration.days(value));

/**
 * The construct's settings from context. Values from `-c key=value` arrive as strings,
 * values from cdk.json as JSON; both are accepted, and a malformed one fails synthesis
 * with a message that names the key.
 */
export function settingsFromContext(read: ContextReader): TokenRefresherProps {
  const scheduleMinutes = whole('scheduleMinutes', read('scheduleMinutes'));
  const props: TokenRefresherProps = {
    connectionPrefix: text('connectionPrefix', read('connectionPrefix')),
    clientCredentialsPrefix: text('clientCredentialsPrefix', read('clientCredentialsPrefix')),
    schedule: scheduleMinutes === undefined ? undefined : Duration.minutes(scheduleMinutes),
    refreshWindow: seconds(whole('refreshWindowSeconds', read('refreshWindowSeconds'))),
    minInterval: seconds(whole('minIntervalSeconds', read('minIntervalSeconds'))),
    versionFloor: seconds(whole('versionFloorSeconds', read('versionFloorSeconds'))),
    maxAge: seconds(whole('maxAgeSeconds', read('maxAgeSeconds'))),
    timeout: seconds(whole('timeoutSeconds', read('timeoutSeconds'))),
    memorySize: whole('memorySizeMb', read('memorySizeMb')),
    logRetention: whole('logRetentionDays', read('logRetentionDays')) as logs.RetentionDays | undefined,
    alarmEmail: text('alarmEmail', read('alarmEmail')),
    connections: list('connections', read('connections')),
    nearExpiryThreshold: seconds(whole('nearExpirySeconds', read('nearExpirySeconds'))),
    reauthDueWithin: days(whole('reauthDueWithinDays', read('reauthDueWithinDays'))),
    failureAlarmPeriods: whole('failureAlarmPeriods', read('failureAlarmPeriods')),
    earlyRefreshesPerHour: whole('earlyRefreshesPerHour', read('earlyRefreshesPerHour')),
    maxRefreshesPerHour: whole('maxRefreshesPerHour', read('maxRefreshesPerHour')),
    refreshTokenKeyOperatorRoleArns: list(
      'refreshTokenKeyOperatorRoleArns',
      read('refreshTokenKeyOperatorRoleArns'),
    ),
    allowedTokenOrigins: list('allowedTokenOrigins', read('allowedTokenOrigins')),
    onDemandReservedConcurrency: whole('onDemandReservedConcurrency', read('onDemandReservedConcurrency')),
    operatorRoleArns: list('operatorRoleArns', read('operatorRoleArns')),
    createTrail: flag('createTrail', read('createTrail')),
    tokenStoreSourceCidrs: list('tokenStoreSourceCidrs', read('tokenStoreSourceCidrs')),
  };
  return Object.fromEntries(
    Object.entries(props).filter(([, value]) => value !== undefined),
  ) as TokenRefresherProps;
}

export interface BuildAppOptions {
  /** Context for the app (tests pass cdk.json's context plus their own keys). */
  readonly context?: Record<string, unknown>;
  /** The cloud assembly directory. @default - the CDK CLI's, or a temporary directory */
  readonly outdir?: string;
}

export interface BuiltApp {
  readonly app: App;
  readonly stack: TokenRefresherStack;
}

/**
 * Builds the app exactly as `npx cdk synth` does (bin/token-refresher.ts calls this):
 * the stack from context, and cdk-nag's AwsSolutions checks as a validation plugin, so a
 * finding that is not acknowledged fails synthesis.
 */
export function buildApp(options: BuildAppOptions = {}): BuiltApp {
  const app = new App({
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
  const read: ContextReader = (key) => app.node.tryGetContext(key);
  const stackName = text('stackName', read('stackName')) ?? DEFAULT_STACK_NAME;
  const stack = new TokenRefresherStack(app, stackName, {
    stackName,
    refresher: settingsFromContext(read),
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return { app, stack };
}
