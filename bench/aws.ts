import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The region every benchmark client uses (moto keeps one state per region). */
export const REGION = 'us-east-1';

/**
 * Points the default AWS SDK configuration at moto with dummy credentials, for clients
 * built without explicit options (the consumer library's, Powertools'), and makes sure
 * nothing can reach a real account.
 */
export function useLocalAws(endpoint: string): void {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_REGION = REGION;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_SESSION_TOKEN = 'testing';
  delete process.env.AWS_PROFILE;
}

/** `PutSecretValueCommand` → `PutSecretValue`. */
function operationName(commandName: string | undefined): string {
  return (commandName ?? 'unknown').replace(/Command$/, '');
}

/** One HTTP request an SDK client sent, by operation. */
export interface CallRecord {
  operation: string;
  /** performance.now() when the request was handed to the HTTP stack, and when it answered. */
  start: number;
  end: number;
}

/**
 * Records every request the clients it is installed on send, by operation name
 * (`context.commandName`), from SDK middleware: real calls to moto, nothing mocked.
 * The middleware sits in the `deserialize` step, inside the retry loop, so a retried
 * request counts once per attempt.
 */
export class CallLog {
  private records: CallRecord[] = [];

  install<T extends { middlewareStack: unknown }>(client: T): T {
    // Every client's stack has the same shape; only its input and output types differ.
    const stack = client.middlewareStack as SecretsManagerClient['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        const start = performance.now();
        try {
          return await next(args);
        } finally {
          this.records.push({ operation: operationName(context.commandName), start, end: performance.now() });
        }
      },
      { step: 'deserialize', name: 'benchCallLog', priority: 'low' },
    );
    return client;
  }

  /** Starts a new measurement window; returns what was recorded before. */
  reset(): CallRecord[] {
    const previous = this.records;
    this.records = [];
    return previous;
  }

  all(): readonly CallRecord[] {
    return this.records;
  }

  total(): number {
    return this.records.length;
  }

  byOperation(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const record of this.records) counts[record.operation] = (counts[record.operation] ?? 0) + 1;
    return counts;
  }

  count(operation: string): number {
    return this.records.filter((r) => r.operation === operation).length;
  }

  /** Sum of the latencies of `operation` (or of all calls). */
  latencyMs(operation?: string): number {
    let total = 0;
    for (const r of this.records)
      if (operation === undefined || r.operation === operation) total += r.end - r.start;
    return total;
  }

  ofOperation(operation: string): CallRecord[] {
    return this.records.filter((r) => r.operation === operation);
  }
}

/** One moto per service: each service's calls served by its own process. */
export interface ServiceEndpoints {
  secretsManager: string;
  kms: string;
  dynamodb: string;
}

/** Clients on moto (one endpoint, or one per service) with explicit configuration, each counted by `log`. */
export function localClients(endpoint: string | ServiceEndpoints, log: CallLog) {
  const endpoints =
    typeof endpoint === 'string' ? { secretsManager: endpoint, kms: endpoint, dynamodb: endpoint } : endpoint;
  const configFor = (url: string) => ({
    endpoint: url,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing', sessionToken: 'testing' },
  });
  return {
    config: configFor(endpoints.secretsManager),
    secretsManager: log.install(new SecretsManagerClient(configFor(endpoints.secretsManager))),
    kms: log.install(new KMSClient(configFor(endpoints.kms))),
    dynamodb: log.install(new DynamoDBClient(configFor(endpoints.dynamodb))),
  };
}

export type LocalClients = ReturnType<typeof localClients>;
