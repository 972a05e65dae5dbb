import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbLeaseStore } from '../adapters/dynamodb-lease-store.js';
import { EmfMetrics } from '../adapters/emf-metrics.js';
import { HttpTokenEndpoint } from '../adapters/http-token-endpoint.js';
import { KmsKeyService } from '../adapters/kms-key-service.js';
import { SecretsManagerStore } from '../adapters/secrets-manager-store.js';
import { StructuredLogger } from '../adapters/structured-logger.js';
import { systemClock } from '../adapters/system-clock.js';
import type { ConnectResponse, OnDemandResponse } from '../contract/on-demand.js';
import type { RefresherConfig } from '../contract/refresher-environment.js';
import { Budget } from '../core/budget.js';
import type { EngineDeps } from '../core/engine.js';
import { refreshConnection } from '../core/refresh-connection.js';
import { clientCredentialsReader, type RunSummary, runRefresh } from '../core/run-refresh.js';
import { handleConnect } from './connect.js';
import { parseEvent } from './events.js';
import { toOnDemandResponse } from './on-demand.js';

/** The adapters a refresher runs on; built once per cold start, overridable in tests. */
export type RefresherPorts = Omit<EngineDeps, 'settings' | 'invocationId' | 'credentials' | 'logger'> & {
  logger: StructuredLogger;
};

export function createPorts(config: RefresherConfig): RefresherPorts {
  const secretsManager = new SecretsManagerClient({});
  return {
    store: new SecretsManagerStore(secretsManager),
    keys: new KmsKeyService(new KMSClient({}), config.refreshTokenKeyId),
    leases: new DynamoDbLeaseStore({ client: new DynamoDBClient({}), tableName: config.leaseTableName }),
    tokenEndpoint: new HttpTokenEndpoint(),
    metrics: new EmfMetrics(),
    logger: new StructuredLogger(),
    clock: systemClock,
  };
}

export interface InvocationContext {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** Handles one invocation: parses the event, runs the engine, flushes metrics. */
export async function handleInvocation(
  ports: RefresherPorts,
  config: RefresherConfig,
  event: unknown,
  context: InvocationContext,
): Promise<RunSummary | OnDemandResponse | ConnectResponse> {
  ports.logger.forgetSecrets();
  const request = parseEvent(event);
  // An operator's connect or import (lambda/refresher/connect.ts).
  if (request.action === 'connect' || request.action === 'import') {
    return handleConnect(ports, config, request, context);
  }
  if (request.force && config.onDemandOnly) {
    throw new Error(
      'this function serves consumers and does not accept force; operators use the refresher function',
    );
  }
  const engine = { ...ports, settings: config.settings, invocationId: context.awsRequestId };
  const budget = Budget.fromRemaining(ports.clock, context.getRemainingTimeInMillis());
  try {
    if (request.action === 'refresh') {
      const result = await refreshConnection(
        { ...engine, credentials: clientCredentialsReader(ports.store) },
        { connection: request.connection, budget, force: request.force, ifVersionId: request.ifVersion },
      );
      return toOnDemandResponse(result);
    }
    if (config.onDemandOnly) throw new Error('this function serves on-demand refresh requests only');
    return await runRefresh(engine, { budget, force: request.force, connections: request.connections });
  } finally {
    try {
      await ports.metrics.flush();
    } catch (error) {
      ports.logger.warn('metrics could not be flushed', { error: String(error) });
    }
  }
}
