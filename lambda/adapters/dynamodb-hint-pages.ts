import {
  type AttributeValue,
  DynamoDBClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { LEASE_TABLE_KEY } from '../contract/names.js';
import type { ConnectionHint } from '../core/ports.js';
import { dependencyFailure } from './aws-errors.js';

/** The lease item's attribute holding the scheduling hint (core/hint.ts) its last release recorded. */
export const HINT_ATTRIBUTE = 'hint';

/**
 * Every lease item's hint: a Scan projected to the key and the hint (strongly consistent, so
 * a hint a release just recorded is seen), page by page (up to 1 MB each, a few thousand
 * connections; `pageSize` items when given). Its own module, apart from the lease store's
 * item parsing, because this is all an idle run needs of DynamoDB.
 */
export async function* scanHints(
  client: DynamoDBClient,
  tableName: string,
  pageSize?: number,
): AsyncIterable<ConnectionHint> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    let page: ScanCommandOutput;
    try {
      page = await client.send(
        new ScanCommand({
          TableName: tableName,
          ProjectionExpression: '#key, #hint',
          FilterExpression: 'attribute_exists(#hint)',
          ExpressionAttributeNames: { '#key': LEASE_TABLE_KEY, '#hint': HINT_ATTRIBUTE },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
          Limit: pageSize,
        }),
      );
    } catch (error) {
      throw dependencyFailure(`DynamoDB Scan of the lease table "${tableName}"`, error);
    }
    for (const item of page.Items ?? []) {
      const connection = item[LEASE_TABLE_KEY]?.S;
      const hint = item[HINT_ATTRIBUTE]?.S;
      if (connection !== undefined && hint !== undefined) yield { connection, hint };
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey && Object.keys(startKey).length > 0);
}

/** A DynamoDB client with the default configuration (the Lambda's Region and credentials). */
export function newDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({});
}
