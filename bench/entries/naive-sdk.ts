/**
 * The cold-start baseline from the issue: the three SDK clients a refresher would naively
 * use (Secrets Manager, KMS, CloudWatch), one of each constructed at import, as a handler
 * module does. Bundled exactly like the refresher.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export const clients = [new SecretsManagerClient({}), new KMSClient({}), new CloudWatchClient({})];

export const handler = async (): Promise<number> => clients.length;
