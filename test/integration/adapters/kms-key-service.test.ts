import { DecryptCommand } from '@aws-sdk/client-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  KMS_MAX_PLAINTEXT_BYTES,
  KmsKeyService,
  PlaintextTooLargeError,
} from '../../../lambda/adapters/kms-key-service.js';
import { TokenRefresherError } from '../../../lambda/core/errors.js';
import { createKmsKey, kmsClient } from '../../support/aws-fixtures.js';

const client = kmsClient();
const context = { 'token-refresher:secret': 'conn/a', 'token-refresher:purpose': 'refresh-token' };
const plaintext = 'rt-plaintext-under-test';

let keyA: { keyId: string; arn: string };
let keyB: { keyId: string; arn: string };

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([createKmsKey(client), createKmsKey(client)]);
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenRefresherError);
  const message = (error as Error).message;
  expect(message).not.toContain(plaintext);
  return error as Error;
}

describe('KmsKeyService', () => {
  it('round-trips under the same key and context, reporting the key ARN', async () => {
    const service = new KmsKeyService(client, keyA.keyId);
    const sealed = await service.encrypt(plaintext, context);
    expect(sealed.keyId).toBe(keyA.arn);
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('latin1')).not.toContain(plaintext);
    expect(await service.decrypt(sealed, { ...context })).toBe(plaintext);

    // The ciphertext is a real KMS blob: KMS itself decrypts it with the same context.
    const raw = await client.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(sealed.ciphertext, 'base64'),
        EncryptionContext: context,
      }),
    );
    expect(Buffer.from(raw.Plaintext ?? []).toString('utf8')).toBe(plaintext);
  });

  it('round-trips non-ASCII text', async () => {
    const service = new KmsKeyService(client, keyA.arn);
    const text = 'jeton-été-🔑';
    expect(await service.decrypt(await service.encrypt(text, context), context)).toBe(text);
  });

  it('refuses a different encryption context', async () => {
    const service = new KmsKeyService(client, keyA.keyId);
    const sealed = await service.encrypt(plaintext, context);
    const error = await failure(service.decrypt(sealed, { ...context, 'token-refresher:secret': 'conn/b' }));
    expect(error.message).toMatch(/InvalidCiphertextException/);
    await failure(service.decrypt(sealed, {}));
  });

  it('refuses a ciphertext encrypted under another key', async () => {
    const sealedByB = await new KmsKeyService(client, keyB.keyId).encrypt(plaintext, context);
    const error = await failure(new KmsKeyService(client, keyA.keyId).decrypt(sealedByB, context));
    expect(error.message).toMatch(/not encrypted under this key|access to the key is denied/);
  });

  it('refuses garbage ciphertext', async () => {
    const service = new KmsKeyService(client, keyA.keyId);
    await failure(
      service.decrypt({ ciphertext: Buffer.from('nope').toString('base64'), keyId: keyA.arn }, context),
    );
  });

  it('enforces the 4096-byte plaintext limit in bytes, not characters', async () => {
    const service = new KmsKeyService(client, keyA.keyId);
    const atLimit = 'a'.repeat(KMS_MAX_PLAINTEXT_BYTES);
    expect(await service.decrypt(await service.encrypt(atLimit, context), context)).toBe(atLimit);

    const tooLarge = 'é'.repeat(KMS_MAX_PLAINTEXT_BYTES / 2 + 1); // 2049 characters, 4098 bytes
    const error = await service.encrypt(tooLarge, context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlaintextTooLargeError);
    expect((error as PlaintextTooLargeError).byteLength).toBe(4098);
    expect((error as Error).message).not.toContain('é');
  });

  it('reports an unknown key without values', async () => {
    const service = new KmsKeyService(client, '11111111-2222-3333-4444-555555555555');
    const error = await failure(service.encrypt(plaintext, context));
    expect(error.message).toMatch(/NotFoundException/);
  });
});
