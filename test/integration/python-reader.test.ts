import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { spawnChecked } from '../support/child-process.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * The Python reader (consumers/python/token_refresher_reader.py) with boto3 against moto's
 * Secrets Manager and a record the refresher wrote. moto's Lambda cannot run code, so the
 * on-demand function is the refresher's on-demand path run in this process behind the Lambda
 * Invoke API (botocore reaches it through AWS_ENDPOINT_URL_LAMBDA): what arrives is exactly
 * what boto3 sent.
 */

const CONSUMERS = fileURLToPath(new URL('../../consumers/python', import.meta.url));
const REQUEST_SCHEMA = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../schemas/on-demand-request.schema.json', import.meta.url)),
    'utf8',
  ),
);

/** Reads twice, once near expiry, then handles a 401; prints what it saw as JSON. */
const DRIVER = `
import json, sys, time
sys.path.insert(0, sys.argv[1])
import boto3
from token_refresher_reader import TokenReader

secrets = boto3.client("secretsmanager")
stages = []
secrets.meta.events.register(
    "provide-client-params.secrets-manager.GetSecretValue",
    lambda params, **kwargs: stages.append(params.get("VersionStage")),
)
offset = [0.0]
reader = TokenReader(secrets_client=secrets, clock=lambda: time.time() + offset[0])
first = reader.get_access_token("askara-prod")
again = reader.get_access_token("askara-prod")
reads_for_two_calls = len(stages)
offset[0] = first.expires_at - 30 - time.time()
reader.get_access_token("askara-prod")
reads_near_expiry = len(stages)
offset[0] = 0.0
renewed = reader.refresh_after_unauthorized("askara-prod", first)
print(json.dumps({
    "first": first.__dict__, "same": again == first, "readsForTwoCalls": reads_for_two_calls,
    "readsNearExpiry": reads_near_expiry, "stages": sorted(set(stages)), "renewed": renewed.__dict__,
}))
`;

async function python(env: Record<string, string>): Promise<string> {
  return (await spawnChecked('python3', ['-c', DRIVER, CONSUMERS], { env: { ...process.env, ...env } }))
    .stdout;
}

describe('Python reader (boto3, moto)', () => {
  let auth: AuthServer;
  let h: RefresherHarness;
  let lambda: Server;
  const invocations: { path: string; body: unknown }[] = [];

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
    // No minimum interval: the 401 comes moments after the connection's first refresh.
    h = await new RefresherHarness(auth, { minIntervalMs: 0 }).setUp();
    await h.createConnection('askara-prod', { client: auth.client('client_secret_basic') });
    await h.invoke();
    // The on-demand function behind the Lambda Invoke API.
    lambda = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk) => {
        raw += chunk;
      });
      request.on('end', async () => {
        const body = JSON.parse(raw);
        invocations.push({ path: request.url ?? '', body });
        const answer = await h.invokeRaw(body, { config: { onDemandOnly: true } });
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => lambda?.close(resolve));
    await auth?.stop();
  });

  it('reads AWSCURRENT, caches until near expiry, and on a 401 sends the documented request once', async () => {
    const before = await h.current('askara-prod');
    const out = JSON.parse(
      await python({
        AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`,
        // boto3 reads AWS_DEFAULT_REGION (the SDK for JavaScript, AWS_REGION).
        AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1',
        TOKEN_REFRESHER_PREFIX: h.prefix,
        TOKEN_REFRESHER_FUNCTION: 'OnDemandFunction',
      }),
    );
    expect(out.first).toMatchObject({
      access_token: before.record.accessToken,
      version_id: before.versionId,
    });
    expect(out.same).toBe(true);
    expect(out.readsForTwoCalls).toBe(1);
    expect(out.readsNearExpiry).toBe(2);
    expect(out.stages).toEqual(['AWSCURRENT']);

    expect(invocations).toEqual([
      {
        path: '/2015-03-31/functions/OnDemandFunction/invocations',
        body: { action: 'refresh', connection: 'askara-prod', ifVersion: before.versionId },
      },
    ]);
    const validRequest = new Ajv2020({ strict: false, logger: false }).compile(REQUEST_SCHEMA);
    expect(validRequest(invocations[0]?.body)).toBe(true);

    const after = await h.current('askara-prod');
    expect(after.versionId).not.toBe(before.versionId);
    expect(out.renewed).toMatchObject({
      access_token: after.record.accessToken,
      version_id: after.versionId,
    });
    expect((await auth.introspect(out.renewed.access_token)).active).toBe(true);
  });
});
