import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EmfMetrics } from '../adapters/emf-metrics.js';
import { SecretsManagerStore } from '../adapters/secrets-manager-store.js';
import { StructuredLogger } from '../adapters/structured-logger.js';
import { systemClock } from '../adapters/system-clock.js';
import type { RefresherConfig } from '../contract/refresher-environment.js';
import type { AuthorizationCodeEndpoint } from '../core/connect-connection.js';
import type { EngineDeps } from '../core/engine.js';
import type {
  ClientCredentials,
  Clock,
  KeyService,
  LeaseStore,
  Metrics,
  SecretCreator,
  SecretStore,
  TokenEndpoint,
} from '../core/ports.js';
import { writeLimiter } from '../core/rate-limiter.js';

/**
 * The composition root: the one place that builds the refresher's adapters (`createPorts`)
 * and, per invocation, the engine over them (`composeEngine`). The Lambda handler, the
 * CLI's local invoker, the demo, the benchmarks, the test harness and the simulator all
 * run through `handleInvocation`, which composes with this — so every path gets the same
 * write limiter, credentials reader and settings.
 */

/** The adapters a refresher runs on; built once per cold start. */
export interface RefresherPorts {
  store: SecretStore;
  keys: KeyService;
  leases: LeaseStore;
  tokenEndpoint: TokenEndpoint;
  metrics: Metrics;
  logger: StructuredLogger;
  clock: Clock;
  /** Source of randomness (jitter, lease owners); `Math.random` when absent. */
  random?: () => number;
  /** The code grant's endpoint; the token endpoint when it speaks it (the HTTP adapter does). */
  codeEndpoint?: AuthorizationCodeEndpoint;
  /** Creates connection secrets that do not exist (local sandboxes); in AWS the CLI does. */
  secretCreator?: SecretCreator;
}

/** What a caller may supply instead of the defaults (clients pointed elsewhere, a test clock...). */
export interface PortOverrides extends Partial<Omit<RefresherPorts, 'store' | 'keys' | 'leases'>> {
  secretsManager?: SecretsManagerClient;
  kms?: KMSClient;
  dynamodb?: DynamoDBClient;
}

/** The refresher's adapters over AWS, from its configuration. */
export function createPorts(config: RefresherConfig, overrides: PortOverrides = {}): RefresherPorts {
  const { secretsManager, kms, dynamodb, ...rest } = overrides;
  const clock = rest.clock ?? systemClock;
  // One DynamoDB client for the lease store and the hint pages, made on first use.
  const dynamodbClient = onFirstUse(
    async () => dynamodb ?? (await import('../adapters/dynamodb-hint-pages.js')).newDynamoDbClient(),
  );
  return {
    tokenEndpoint: lazyTokenEndpoint(
      async () => new (await import('../adapters/http-token-endpoint.js')).HttpTokenEndpoint(),
    ),
    metrics: new EmfMetrics(),
    logger: new StructuredLogger(),
    ...rest,
    clock,
    store: new SecretsManagerStore(secretsManager ?? new SecretsManagerClient({})),
    // Our adapter modules, not the SDK packages: a dynamic import keeps every export of
    // what it names, and these name only the commands they send.
    keys: lazyKeyService(async () =>
      (await import('../adapters/kms-key-service.js')).createKmsKeyService(config.refreshTokenKeyId, kms),
    ),
    leases: lazyLeaseStore(
      async () =>
        (await import('../adapters/dynamodb-lease-store.js')).createDynamoDbLeaseStore({
          client: await dynamodbClient(),
          tableName: config.leaseTableName,
          clock,
        }),
      // The hints alone (all an idle run reads) load without the lease store's item parsing.
      async () => {
        const { scanHints } = await import('../adapters/dynamodb-hint-pages.js');
        const client = await dynamodbClient();
        return () => scanHints(client, config.leaseTableName);
      },
    ),
  };
}

/**
 * Loads an adapter (and its AWS SDK client) on first use, once; a failed load is tried
 * again on the next use. The KMS and DynamoDB clients and the HTTP token endpoint are
 * imported this way, so a cold start loads only the Secrets Manager client: KMS and HTTP
 * code when a connection is due, DynamoDB's when a run reads the hints or takes a lease.
 * The bundle is code-split (lib/handler-code.ts), so each lives in chunks a cold start
 * neither reads nor parses (test/cdk/bundle.test.ts checks the deployed bundle).
 */
function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    if (loaded === undefined) {
      loaded = load();
      loaded.catch(() => {
        loaded = undefined;
      });
    }
    return loaded;
  };
}

function lazyKeyService(load: () => Promise<KeyService>): KeyService {
  const keys = onFirstUse(load);
  return {
    encrypt: async (plaintext, context) => (await keys()).encrypt(plaintext, context),
    decrypt: async (ciphertext, context) => (await keys()).decrypt(ciphertext, context),
  };
}

function lazyTokenEndpoint(
  load: () => Promise<TokenEndpoint & AuthorizationCodeEndpoint>,
): TokenEndpoint & AuthorizationCodeEndpoint {
  const endpoint = onFirstUse(load);
  return {
    refresh: async (request) => (await endpoint()).refresh(request),
    exchangeCode: async (request) => (await endpoint()).exchangeCode(request),
  };
}

function lazyLeaseStore(
  load: () => Promise<LeaseStore>,
  loadHints: () => Promise<LeaseStore['hints']>,
): LeaseStore {
  const leases = onFirstUse(load);
  const hints = onFirstUse(loadHints);
  return {
    acquire: async (...args) => (await leases()).acquire(...args),
    markSending: async (...args) => (await leases()).markSending(...args),
    release: async (...args) => (await leases()).release(...args),
    storeRescue: async (...args) => (await leases()).storeRescue(...args),
    get: async (...args) => (await leases()).get(...args),
    async *hints() {
      yield* (await hints())();
    },
  };
}

/** The engine for one invocation. */
export function composeEngine(
  ports: RefresherPorts,
  config: RefresherConfig,
  invocationId: string,
): EngineDeps {
  const { settings } = config;
  return {
    store: ports.store,
    writeLimiter: writeLimiter(ports.clock, settings.writesPerSecond),
    keys: ports.keys,
    tokenEndpoint: ports.tokenEndpoint,
    leases: ports.leases,
    metrics: ports.metrics,
    logger: ports.logger,
    clock: ports.clock,
    random: ports.random,
    secretCreator: ports.secretCreator,
    settings,
    invocationId,
    credentials: clientCredentialsReader(ports.store),
  };
}

/** Reads each client-credentials secret at most once per invocation. */
export function clientCredentialsReader(store: SecretStore): EngineDeps['credentials'] {
  const cache = new Map<string, Promise<ClientCredentials>>();
  return (secretId) => {
    let pending = cache.get(secretId);
    if (!pending) {
      pending = store.getCurrent(secretId).then(async (secret) => {
        // Loaded with the refresh path, which alone reads client credentials.
        const { parseClientCredentials } = await import('../core/client-credentials.js');
        return parseClientCredentials(secretId, secret.value);
      });
      // A failed read is not cached: another connection may retry it.
      pending.catch(() => cache.delete(secretId));
      cache.set(secretId, pending);
    }
    return pending;
  };
}

/** Runs an invocation's work, then flushes its metrics whatever happened (a flush failure is only logged). */
export async function withMetricsFlush<T>(ports: RefresherPorts, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    try {
      await ports.metrics.flush();
    } catch (error) {
      ports.logger.warn('metrics could not be flushed', { error: String(error) });
    }
  }
}
