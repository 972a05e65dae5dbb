import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { TokenRefresherError } from '../core/errors.js';
import type { Ciphertext, KeyService } from '../core/ports.js';
import { awsErrorName, dependencyFailure } from './aws-errors.js';

/** KMS `Encrypt` accepts at most 4096 bytes of plaintext. */
export const KMS_MAX_PLAINTEXT_BYTES = 4096;

/** Plaintext too large for KMS `Encrypt`. The message gives sizes only. */
export class PlaintextTooLargeError extends TokenRefresherError {
  constructor(readonly byteLength: number) {
    super(
      `plaintext of ${byteLength} bytes exceeds the KMS Encrypt limit of ${KMS_MAX_PLAINTEXT_BYTES} bytes`,
    );
  }
}

/**
 * Describes a KMS failure by error name only: KMS messages carry no plaintext, but
 * naming the class is all an operator needs and keeps the promise trivially true.
 */
function failed(operation: 'Encrypt' | 'Decrypt', keyId: string, error: unknown): TokenRefresherError {
  const name = awsErrorName(error) ?? 'UnknownError';
  let reason: string;
  switch (name) {
    case 'InvalidCiphertextException':
      reason = 'the ciphertext is invalid or its encryption context does not match';
      break;
    case 'IncorrectKeyException':
    case 'AccessDeniedException':
      reason = 'the ciphertext was not encrypted under this key, or access to the key is denied';
      break;
    case 'DisabledException':
      reason = 'the key is disabled';
      break;
    case 'KMSInvalidStateException':
      reason = 'the key is not in a usable state (pending deletion or import?)';
      break;
    case 'NotFoundException':
      reason = 'the key was not found';
      break;
    default:
      reason = 'unexpected error';
  }
  return dependencyFailure(`KMS ${operation} with key "${keyId}"`, error, `(${name}) ${reason}`);
}

/** `KeyService` over one KMS symmetric key, always with an encryption context. */
export class KmsKeyService implements KeyService {
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {}

  async encrypt(plaintext: string, context: Record<string, string>): Promise<Ciphertext> {
    const bytes = Buffer.from(plaintext, 'utf8');
    if (bytes.byteLength > KMS_MAX_PLAINTEXT_BYTES) throw new PlaintextTooLargeError(bytes.byteLength);
    let blob: Uint8Array | undefined;
    let reportedKeyId: string | undefined;
    try {
      const response = await this.client.send(
        new EncryptCommand({ KeyId: this.keyId, Plaintext: bytes, EncryptionContext: context }),
      );
      blob = response.CiphertextBlob;
      reportedKeyId = response.KeyId;
    } catch (error) {
      throw failed('Encrypt', this.keyId, error);
    }
    if (!blob || blob.byteLength === 0) {
      throw new TokenRefresherError(`KMS Encrypt with key "${this.keyId}" returned no ciphertext`);
    }
    return { ciphertext: Buffer.from(blob).toString('base64'), keyId: reportedKeyId ?? this.keyId };
  }

  async decrypt(ciphertext: Ciphertext, context: Record<string, string>): Promise<string> {
    let plaintext: Uint8Array | undefined;
    try {
      const response = await this.client.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(ciphertext.ciphertext, 'base64'),
          // Pinned: a ciphertext under any other key is refused, whatever it claims.
          KeyId: this.keyId,
          EncryptionContext: context,
        }),
      );
      plaintext = response.Plaintext;
    } catch (error) {
      throw failed('Decrypt', this.keyId, error);
    }
    if (!plaintext) {
      throw new TokenRefresherError(`KMS Decrypt with key "${this.keyId}" returned no plaintext`);
    }
    return Buffer.from(plaintext).toString('utf8');
  }
}

/**
 * The key service on `client`, or on a new default client. The composition root imports
 * this module on first use: what it names statically from the SDK is all a bundle carries
 * (a dynamic `import()` of the SDK package itself would keep every command).
 */
export function createKmsKeyService(keyId: string, client?: KMSClient): KmsKeyService {
  return new KmsKeyService(client ?? new KMSClient({}), keyId);
}
