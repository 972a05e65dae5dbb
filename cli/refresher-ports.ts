import { SecretsManagerStore } from '../lambda/adapters/secrets-manager-store.js';
import { StructuredLogger } from '../lambda/adapters/structured-logger.js';
import {
  decodeRefresherEnvironment,
  type RefresherConfig,
  SETTING_VARIABLES,
} from '../lambda/contract/refresher-environment.js';
import { type EngineSettings, settingsWith } from '../lambda/contract/settings.js';
import type { Clock, Metrics, SecretRemover } from '../lambda/core/ports.js';
import type { ProtocolDeps } from '../lambda/core/write-protocol.js';
import { composeEngine, createPorts, type RefresherPorts } from '../lambda/refresher/composition.js';
import { awsClock } from './aws-clock.js';
import type { Deployment } from './deployment.js';
import type { OutputStream } from './io.js';

/**
 * The refresher's ports for a deployment, built by the refresher's own composition root
 * from the stack's outputs and the CLI's clients.
 */
export interface DeploymentRefresherOptions {
  /** Engine settings besides the prefix (the demo shortens the windows). */
  settings?: Partial<EngineSettings>;
  /** The refresher's structured logger; silent by default. */
  logger?: StructuredLogger;
  metrics?: Metrics;
  clock?: Clock;
}

const NO_METRICS: Metrics = { add() {}, flush() {} };

export async function deploymentRefresher(
  deployment: Deployment,
  options: DeploymentRefresherOptions = {},
): Promise<{ ports: RefresherPorts; config: RefresherConfig }> {
  const [prefix, leaseTableName, refreshTokenKeyId, origins, sandbox] = await Promise.all([
    deployment.value('ConnectionPrefix'),
    deployment.value('LeaseTableName'),
    deployment.value('RefreshTokenKeyArn'),
    deployment.optionalValue('AllowedTokenOrigins'),
    deployment.local ? deployment.optionalValue('SandboxRefresherEnvironment') : undefined,
  ]);
  // The deployment's pinned token-endpoint origins, as its stack outputs them (the default otherwise).
  const allowedTokenOrigins = origins
    ?.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  const config: RefresherConfig = {
    settings: settingsWith(prefix, {
      ...(allowedTokenOrigins?.length ? { allowedTokenOrigins } : {}),
      ...sandboxSettings(sandbox),
      ...options.settings,
    }),
    leaseTableName,
    refreshTokenKeyId,
  };
  const { secretsManager, dynamodb, kms } = deployment.clients;
  const ports = createPorts(config, {
    secretsManager,
    dynamodb,
    kms,
    metrics: options.metrics ?? NO_METRICS,
    logger: options.logger ?? lineLogger(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { ports, config };
}

/**
 * A sandbox stack's tuned settings (the demo's short windows, version floor included), so
 * a refresher run by the CLI against the demo guards as the demo's own does. Only the
 * tunable durations and counts are taken: names and origins come from the other outputs.
 */
export function sandboxSettings(json: string | undefined): Partial<EngineSettings> {
  if (!json) return {};
  let env: Record<string, string>;
  try {
    env = JSON.parse(json) as Record<string, string>;
  } catch {
    throw new Error('the stack output SandboxRefresherEnvironment is not JSON');
  }
  const { settings } = decodeRefresherEnvironment(env);
  const tuned: Partial<EngineSettings> = {};
  for (const key of Object.keys(SETTING_VARIABLES) as (keyof typeof SETTING_VARIABLES)[]) {
    if (env[SETTING_VARIABLES[key].variable] !== undefined) tuned[key] = settings[key];
  }
  return tuned;
}

/**
 * The write protocol for an operator's own changes (disable, enable, remove) of
 * `connection`, warnings to `stderr`. Its leases are taken on AWS's clock (`aws-clock.ts`),
 * never on this machine's.
 */
export async function operatorProtocol(
  deployment: Deployment,
  stderr: OutputStream,
  connection: string,
): Promise<{ deps: ProtocolDeps; remover: SecretRemover }> {
  const clock = await awsClock(
    deployment.clients.dynamodb,
    await deployment.value('LeaseTableName'),
    connection,
    (message) => stderr.write(`notice: ${message}\n`),
  );
  const { ports, config } = await deploymentRefresher(deployment, { logger: warningLogger(stderr), clock });
  return {
    deps: composeEngine(ports, config, 'operator'),
    remover: new SecretsManagerStore(deployment.clients.secretsManager),
  };
}

/**
 * The refresher's structured logger writing JSON lines to `log` (or nowhere), keeping its
 * scrubbing of registered secrets. Its default sink would write to stdout, where the CLI's
 * own output goes.
 */
export function lineLogger(log?: (line: string) => void): StructuredLogger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    log?.(JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...fields }));
  };
  return new StructuredLogger({
    debug: write('DEBUG'),
    info: write('INFO'),
    warn: write('WARN'),
    error: write('ERROR'),
  });
}

/** Warnings and errors as `warning: <message>` lines; nothing else. */
function warningLogger(stderr: OutputStream): StructuredLogger {
  const warn = (message: string) => stderr.write(`warning: ${message}\n`);
  return new StructuredLogger({ debug() {}, info() {}, warn, error: warn });
}
