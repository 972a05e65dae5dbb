import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { KmsKeyService } from '../../lambda/adapters/kms-key-service.js';
import { systemClock } from '../../lambda/adapters/system-clock.js';
import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import type { RefresherConfig } from '../../lambda/contract/refresher-environment.js';
import { type EngineSettings, settingsWith } from '../../lambda/contract/settings.js';
import type { EngineDeps } from '../../lambda/core/engine.js';
import type { Clock } from '../../lambda/core/ports.js';
import {
  type ConnectionRecord,
  type ProviderSettings,
  parseRecord,
  RECORD_SCHEMA_VERSION,
  refreshTokenContext,
} from '../../lambda/core/record.js';
import type { RunSummary } from '../../lambda/core/run-refresh.js';
import { composeEngine, createPorts, type RefresherPorts } from '../../lambda/refresher/composition.js';
import { handleInvocation } from '../../lambda/refresher/refresher.js';
import type { AuthServer, AuthServerClient } from '../../sandbox/auth-server.js';
import { createKmsKey, createLeaseTable, createSecret, uniqueName } from './aws-fixtures.js';
import { captureOutput, type OutputCapture } from './output-capture.js';

export interface InvokeOptions {
  remainingMs?: number;
  clock?: Clock;
  ports?: RefresherPorts;
}

export interface ConnectionOptions {
  client: AuthServerClient;
  /** `json` uses the fixture's Askara-style JSON endpoint. @default 'form' */
  dialect?: 'form' | 'json';
  scope?: string;
  /** Overrides applied to the initial record (e.g. an access token that is still valid). */
  record?: Partial<ConnectionRecord>;
}

/**
 * What the harness needs of the provider fixture: the oidc-provider fixture
 * (`sandbox/auth-server.ts`), or the provider replay server (`sandbox/provider-replay/`,
 * which grants its tokens per provider: see test/integration/engine-replay.test.ts).
 */
export type HarnessProvider = Pick<AuthServer, 'issuer' | 'clients' | 'tokenEndpoint' | 'jsonTokenEndpoint'> &
  Partial<Pick<AuthServer, 'mintRefreshToken'>> & {
    presentedRefreshTokens(): { refreshToken: string }[];
  };

/**
 * The refresher wired to real peers: moto (Secrets Manager, KMS, DynamoDB) and the
 * oidc-provider fixture. Each harness has its own prefix, keys and lease table.
 * Invocations run the real handler code in-process (moto's Lambda does not run code).
 */
export class RefresherHarness {
  readonly prefix = `${uniqueName('tr')}/`;
  readonly secretsManager = new SecretsManagerClient({});
  readonly kms = new KMSClient({});
  readonly dynamodb = new DynamoDBClient({});
  readonly output: OutputCapture = captureOutput();
  /** Every token and client secret the harness has seen; asserted absent from all output. */
  readonly sensitiveValues = new Set<string>();
  config!: RefresherConfig;
  keys!: KmsKeyService;
  private invocations = 0;

  constructor(
    readonly auth: HarnessProvider,
    private readonly overrides: Partial<EngineSettings> = {},
  ) {}

  async setUp(): Promise<this> {
    const key = await createKmsKey(this.kms);
    const tableName = await createLeaseTable(this.dynamodb);
    this.keys = new KmsKeyService(this.kms, key.keyId);
    this.config = {
      settings: settingsWith(this.prefix, {
        backoffBaseMs: 50,
        backoffCapMs: 200,
        // The fixture provider speaks plain http on loopback: allowed here, as in no deployment.
        allowedTokenOrigins: [this.auth.issuer],
        allowInsecureLoopback: true,
        ...this.overrides,
      }),
      leaseTableName: tableName,
      refreshTokenKeyId: key.keyId,
    };
    for (const client of this.auth.clients) this.sensitiveValues.add(client.clientSecret);
    return this;
  }

  /** Real adapters, as the composition root builds them, optionally on another clock. */
  ports(clock: Clock = systemClock): RefresherPorts {
    return createPorts(this.config, {
      secretsManager: this.secretsManager,
      kms: this.kms,
      dynamodb: this.dynamodb,
      clock,
    });
  }

  /** The engine as the composition root builds it for one invocation (or an operator). */
  engine(invocationId = 'test', clock: Clock = systemClock): EngineDeps {
    return composeEngine(this.ports(clock), this.config, invocationId);
  }

  clientSecretId(client: AuthServerClient): string {
    return `${this.prefix.replace(/\/$/, '')}-clients/${client.clientId}`;
  }

  /**
   * The client credentials secret of `client` (created once), bound to `origins` — by
   * default the fixture provider's own origin.
   */
  async createClientCredentials(
    client: AuthServerClient,
    options: { secretId?: string; origins?: string[] | null } = {},
  ): Promise<string> {
    const secretId = options.secretId ?? this.clientSecretId(client);
    const origins = options.origins === undefined ? [this.auth.issuer] : options.origins;
    await createSecret(
      secretId,
      JSON.stringify({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        ...(origins === null ? {} : { token_endpoint_origins: origins }),
      }),
      { client: this.secretsManager },
    ).catch((error: Error) => {
      if (error.name !== 'ResourceExistsException') throw error;
    });
    return secretId;
  }

  /** Creates a connection whose first refresh token is minted at the provider. */
  async createConnection(name: string, options: ConnectionOptions): Promise<{ refreshToken: string }> {
    const { client } = options;
    const credentialsId = await this.createClientCredentials(client);
    if (!this.auth.mintRefreshToken) throw new Error('this provider fixture mints no refresh tokens');
    const refreshToken = await this.auth.mintRefreshToken({
      clientId: client.clientId,
      scope: options.scope,
    });
    return this.storeConnection(
      name,
      {
        tokenEndpoint: options.dialect === 'json' ? this.auth.jsonTokenEndpoint : this.auth.tokenEndpoint,
        dialect: options.dialect ?? 'form',
        clientAuth: client.authMethod,
        clientCredentialsSecretId: credentialsId,
        ...(options.scope ? { scope: options.scope } : {}),
      },
      refreshToken,
      options.record,
    );
  }

  /**
   * Stores an active connection to `provider` holding `refreshToken` (encrypted as the
   * refresher would), with `overrides` applied to the record.
   */
  async storeConnection(
    name: string,
    provider: ProviderSettings,
    refreshToken: string,
    overrides: Partial<ConnectionRecord> = {},
  ): Promise<{ refreshToken: string }> {
    this.sensitiveValues.add(refreshToken);
    const secretName = this.prefix + name;
    const record: ConnectionRecord = {
      schemaVersion: RECORD_SCHEMA_VERSION,
      connection: name,
      provider,
      status: 'active',
      refreshToken: await this.keys.encrypt(refreshToken, refreshTokenContext(secretName)),
      lastError: null,
      ...overrides,
    };
    // Written as plain JSON so tests can also store records the schema rejects.
    await createSecret(secretName, JSON.stringify(record), { client: this.secretsManager });
    return { refreshToken };
  }

  /** Invokes the handler in-process with a run event, capturing everything it writes. */
  async invoke(
    event: unknown = { 'detail-type': 'Scheduled Event', source: 'aws.events' },
    options: InvokeOptions = {},
  ): Promise<RunSummary> {
    const response = await this.invokeRaw(event, options);
    if (!('results' in response)) throw new Error(`expected a run summary, got ${JSON.stringify(response)}`);
    return response;
  }

  /** Sends an on-demand refresh request, as a consumer (or an operator with force) would. */
  async request(
    event: { connection: string; ifVersion?: string; force?: boolean },
    options: InvokeOptions & { config?: Partial<RefresherConfig> } = {},
  ): Promise<OnDemandResponse> {
    const response = await this.invokeRaw({ action: 'refresh', ...event }, options);
    if ('results' in response) throw new Error('expected an on-demand response');
    return response;
  }

  async invokeRaw(
    event: unknown,
    options: InvokeOptions & { config?: Partial<RefresherConfig> } = {},
  ): Promise<RunSummary | OnDemandResponse> {
    const clock = options.clock ?? systemClock;
    const ports = options.ports ?? this.ports(clock);
    const remainingMs = options.remainingMs ?? 60_000;
    const started = clock.now();
    this.invocations += 1;
    return this.output.during(() =>
      handleInvocation(ports, { ...this.config, ...options.config }, event, {
        awsRequestId: `req-${this.invocations}`,
        getRemainingTimeInMillis: () => remainingMs - (clock.now() - started),
      }),
    );
  }

  /** The AWSCURRENT record, with its refresh token decrypted (for assertions only). */
  async current(
    name: string,
  ): Promise<{ versionId: string; record: ConnectionRecord; refreshToken: string }> {
    const secretName = this.prefix + name;
    const result = await this.secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSCURRENT' }),
    );
    const record = parseRecord(name, result.SecretString!);
    const refreshToken = record.refreshToken
      ? await this.keys.decrypt(record.refreshToken, refreshTokenContext(secretName))
      : '';
    this.sensitiveValues.add(refreshToken);
    if (record.accessToken) this.sensitiveValues.add(record.accessToken);
    return { versionId: result.VersionId!, record, refreshToken };
  }

  async versionCount(name: string): Promise<number> {
    const result = await this.secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: this.prefix + name, IncludeDeprecated: true }),
    );
    return result.Versions?.length ?? 0;
  }

  /** Records every token the provider saw, so output assertions cover them too. */
  collectProviderTokens(): void {
    for (const presentation of this.auth.presentedRefreshTokens())
      this.sensitiveValues.add(presentation.refreshToken);
  }

  /** Returns the sensitive values that appear anywhere in the captured output. */
  leakedValues(): string[] {
    this.collectProviderTokens();
    const text = this.output.text();
    return [...this.sensitiveValues].filter((value) => value.length >= 8 && text.includes(value));
  }

  /** Parsed EMF metric values by name, summed over all captured output. */
  metricTotal(name: string, dimensions: Record<string, string> = {}): number {
    let total = 0;
    for (const entry of this.output.jsonLines()) {
      const aws = entry._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
      if (!aws?.CloudWatchMetrics) continue;
      const names = aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((metric) => metric.Name));
      if (!names.includes(name)) continue;
      if (!Object.entries(dimensions).every(([key, value]) => entry[key] === value)) continue;
      const value = entry[name];
      total += Array.isArray(value) ? value.reduce((a: number, b: number) => a + b, 0) : Number(value);
    }
    return total;
  }
}
