import { randomUUID } from 'node:crypto';
import { DEFAULT_PROVIDERS } from '@aws-lambda-powertools/parameters/base';
import { getSecret, SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerStore } from '../lambda/adapters/secrets-manager-store.js';
import { TokenClient } from '../lambda/client/token-client.js';
import { type ConnectionRecord, RECORD_SCHEMA_VERSION } from '../lambda/core/record.js';
import type { CallLog, LocalClients } from './aws.js';
import type { BenchMoto } from './moto.js';
import { median } from './stats.js';

const PREFIX = 'bench-consumer/';
const CONNECTION = 'askara';
const SECRET_ID = PREFIX + CONNECTION;
/** Powertools' cache lifetime in the comparison (its default is 5 s). */
export const POWERTOOLS_MAX_AGE_SECONDS = 300;

export interface ConsumerRow {
  id: 'token-client' | 'powertools' | 'raw';
  label: string;
  /** Warm reads per second (median of the batches). */
  warmOpsPerSecond: number;
  /** AWS calls per warm read. */
  warmCallsPerOp: number;
  /** First read in a fresh client: median ms. */
  coldMs: number;
}

export interface ConsumerResult {
  rows: ConsumerRow[];
  batches: number;
  warmOpsPerBatch: number;
  rawOpsPerBatch: number;
  coldRuns: number;
}

/** A connection record as the refresher commits it, with a JWT-sized access token valid for an hour. */
async function seedConnection(moto: BenchMoto): Promise<void> {
  const record: ConnectionRecord = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    connection: CONNECTION,
    provider: {
      tokenEndpoint: 'https://auth.example.com/oauth/token',
      dialect: 'form',
      clientAuth: 'client_secret_basic',
      clientCredentialsSecretId: 'bench-clients/askara',
    },
    status: 'active',
    accessToken: `eyJ${'a'.repeat(900)}`,
    tokenType: 'Bearer',
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    refreshToken: { ciphertext: Buffer.alloc(300, 7).toString('base64'), keyId: 'bench-key' },
    refreshedAt: new Date().toISOString(),
    tokenLifetimeSeconds: 3600,
    lastError: null,
  };
  await moto.seedSecrets([{ name: SECRET_ID, value: JSON.stringify(record), versionId: randomUUID() }]);
}

/** Runs `op` `count` times in sequence; returns operations per second. */
async function opsPerSecond(op: () => Promise<unknown>, count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) await op();
  return count / ((performance.now() - started) / 1000);
}

async function rawRead(client: SecretsManagerClient): Promise<string> {
  const response = await client.send(
    new GetSecretValueCommand({ SecretId: SECRET_ID, VersionStage: 'AWSCURRENT' }),
  );
  return (JSON.parse(response.SecretString ?? '{}') as { accessToken: string }).accessToken;
}

/**
 * Consumer reads: `TokenClient.getAccessToken` next to Powertools Parameters `getSecret`
 * (with `maxAge`) and a raw `GetSecretValue`, warm (cached, in a loop, median of batches,
 * interleaved) and cold (first read in a fresh client, median of many, interleaved).
 */
export async function runConsumer(
  moto: BenchMoto,
  clients: LocalClients,
  log: CallLog,
  options: { batches: number; warmOps: number; rawOps: number; coldRuns: number },
): Promise<ConsumerResult> {
  await seedConnection(moto);
  const tokenClient = new TokenClient({
    prefix: PREFIX,
    secrets: new SecretsManagerStore(clients.secretsManager),
  });
  // getSecret's default provider, on the counted client.
  DEFAULT_PROVIDERS.secrets = new SecretsProvider({ awsSdkV3Client: clients.secretsManager });
  const powertools = () => getSecret(SECRET_ID, { maxAge: POWERTOOLS_MAX_AGE_SECONDS });
  const token = () => tokenClient.getAccessToken(CONNECTION);
  const raw = () => rawRead(clients.secretsManager);
  await token();
  await powertools();
  await raw();

  const warm = { token: [] as number[], powertools: [] as number[], raw: [] as number[] };
  const calls = { token: 0, powertools: 0, raw: 0 };
  for (let batch = 0; batch < options.batches; batch += 1) {
    log.reset();
    warm.token.push(await opsPerSecond(token, options.warmOps));
    calls.token += log.total();
    log.reset();
    warm.powertools.push(await opsPerSecond(powertools, options.warmOps));
    calls.powertools += log.total();
    log.reset();
    warm.raw.push(await opsPerSecond(raw, options.rawOps));
    calls.raw += log.total();
  }

  // Cold: a fresh client each time, as in a new Lambda container (clients from the default
  // configuration, which points at moto through AWS_ENDPOINT_URL).
  const cold = { token: [] as number[], powertools: [] as number[], raw: [] as number[] };
  const time = async (fn: () => Promise<unknown>) => {
    const started = performance.now();
    await fn();
    return performance.now() - started;
  };
  for (let run = 0; run < options.coldRuns; run += 1) {
    cold.token.push(await time(() => new TokenClient({ prefix: PREFIX }).getAccessToken(CONNECTION)));
    cold.powertools.push(
      await time(() => {
        delete DEFAULT_PROVIDERS.secrets;
        return getSecret(SECRET_ID, { maxAge: POWERTOOLS_MAX_AGE_SECONDS });
      }),
    );
    cold.raw.push(await time(() => rawRead(new SecretsManagerClient({}))));
  }
  delete DEFAULT_PROVIDERS.secrets;

  const warmOps = options.batches * options.warmOps;
  return {
    batches: options.batches,
    warmOpsPerBatch: options.warmOps,
    rawOpsPerBatch: options.rawOps,
    coldRuns: options.coldRuns,
    rows: [
      {
        id: 'token-client',
        label: 'TokenClient.getAccessToken',
        warmOpsPerSecond: median(warm.token),
        warmCallsPerOp: calls.token / warmOps,
        coldMs: median(cold.token),
      },
      {
        id: 'powertools',
        label: `Powertools getSecret (maxAge ${POWERTOOLS_MAX_AGE_SECONDS} s)`,
        warmOpsPerSecond: median(warm.powertools),
        warmCallsPerOp: calls.powertools / warmOps,
        coldMs: median(cold.powertools),
      },
      {
        id: 'raw',
        label: 'raw GetSecretValue',
        warmOpsPerSecond: median(warm.raw),
        warmCallsPerOp: calls.raw / (options.batches * options.rawOps),
        coldMs: median(cold.raw),
      },
    ],
  };
}
