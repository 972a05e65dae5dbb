/** Consumer baseline: what a Lambda imports to call GetSecretValue itself. */
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
