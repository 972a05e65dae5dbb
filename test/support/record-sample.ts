import { RECORD_SCHEMA_VERSION } from '../../lambda/core/record.js';

/** A valid, active connection record as the refresher writes it (docs/connection-record.md). */
export const SAMPLE_RECORD = {
  schemaVersion: RECORD_SCHEMA_VERSION,
  connection: 'askara-prod',
  provider: {
    tokenEndpoint: 'https://api.askara.example/oauth2/token',
    dialect: 'json',
    clientAuth: 'client_secret_post',
    clientCredentialsSecretId: 'token-refresher-clients/askara',
  },
  status: 'active',
  accessToken: 'at-value',
  tokenType: 'Bearer',
  expiresAt: '2026-11-26T16:00:00.000Z',
  refreshToken: { ciphertext: 'AQID', keyId: 'arn:aws:kms:us-east-1:1:key/x' },
  refreshedAt: '2026-11-26T15:00:00.000Z',
  lastError: null,
};
