import { randomUUID } from 'node:crypto';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import type { LocalClients } from './aws.js';
import { cpuWindow } from './cpu.js';
import type { BenchMoto } from './moto.js';
import { provisionRefresherResources } from './refresher.js';
import { median } from './stats.js';

export interface MotoCallCost {
  operation: string;
  /** Median wall time of one call, one at a time (client + loopback + moto). */
  wallMs: number;
  /** moto's CPU per call (its service time: moto serves one request at a time). */
  motoCpuMs: number;
  /** This process's CPU per call (the AWS SDK's share: build, sign, send, parse). */
  clientCpuMs: number;
}

/**
 * moto's own cost per call for every operation of a refresh, one call at a time with
 * payloads like the refresher's: the baseline that tells moto's limit from the engine's.
 */
export async function runMotoBaseline(
  moto: BenchMoto,
  clients: LocalClients,
  count: number,
): Promise<MotoCallCost[]> {
  const { keyId, tableName } = await provisionRefresherResources(clients, 'baseline');
  const secretId = `bench-baseline/${randomUUID()}`;
  const value = JSON.stringify({
    schemaVersion: 1,
    accessToken: 'a'.repeat(900),
    refreshToken: 'c'.repeat(400),
  });
  await clients.secretsManager.send(new CreateSecretCommand({ Name: secretId, SecretString: value }));
  const encrypted = await clients.kms.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(64, 1), EncryptionContext: { a: 'b' } }),
  );
  const key = { connection: { S: 'baseline' } };
  const operations: [string, () => Promise<unknown>][] = [
    [
      'GetSecretValue',
      () =>
        clients.secretsManager.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
        ),
    ],
    [
      'PutSecretValue',
      () =>
        clients.secretsManager.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            SecretString: value,
            ClientRequestToken: randomUUID(),
          }),
        ),
    ],
    [
      'Encrypt',
      () =>
        clients.kms.send(
          new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(64, 1), EncryptionContext: { a: 'b' } }),
        ),
    ],
    [
      'Decrypt',
      () =>
        clients.kms.send(
          new DecryptCommand({
            KeyId: keyId,
            CiphertextBlob: encrypted.CiphertextBlob,
            EncryptionContext: { a: 'b' },
          }),
        ),
    ],
    [
      'UpdateItem',
      () =>
        clients.dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET #o = :o',
            ExpressionAttributeNames: { '#o': 'owner' },
            ExpressionAttributeValues: { ':o': { S: randomUUID() } },
            ReturnValues: 'ALL_OLD',
          }),
        ),
    ],
    [
      'GetItem',
      () =>
        clients.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true })),
    ],
  ];
  const costs: MotoCallCost[] = [];
  for (const [operation, call] of operations) {
    await call();
    const walls: number[] = [];
    const stop = cpuWindow(moto.pid);
    for (let i = 0; i < count; i += 1) {
      const started = performance.now();
      await call();
      walls.push(performance.now() - started);
    }
    const cpu = stop();
    costs.push({
      operation,
      wallMs: median(walls),
      motoCpuMs: cpu.motoMs / count,
      clientCpuMs: cpu.selfMs / count,
    });
  }
  return costs;
}
