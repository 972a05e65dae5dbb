import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { OnDemandRequest, OnDemandResponse } from '../contract/on-demand.js';
import { RefreshFailedError } from './errors.js';
import type { RefreshRequester } from './ports.js';

/**
 * Sends on-demand refresh requests to the refresher's on-demand function (synchronous
 * invoke). The Lambda client is imported on first use, so consumers that never see a 401
 * never load it.
 */
type LambdaSdk = typeof import('@aws-sdk/client-lambda');

export class LambdaRefreshRequester implements RefreshRequester {
  private sdk?: Promise<{ client: LambdaClient; InvokeCommand: LambdaSdk['InvokeCommand'] }>;

  constructor(
    private readonly functionName: string,
    private readonly createClient?: () => LambdaClient,
  ) {}

  private load() {
    this.sdk ??= import('@aws-sdk/client-lambda').then((sdk) => ({
      client: this.createClient?.() ?? new sdk.LambdaClient({}),
      InvokeCommand: sdk.InvokeCommand,
    }));
    return this.sdk;
  }

  async requestRefresh(connection: string, ifVersion: string): Promise<OnDemandResponse> {
    const { client, InvokeCommand } = await this.load();
    const request: OnDemandRequest = { action: 'refresh', connection, ifVersion };
    try {
      const result = await client.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
      const body = result.Payload ? new TextDecoder().decode(result.Payload) : '';
      if (result.FunctionError) {
        const errorType = safeErrorType(body);
        throw new RefreshFailedError(connection, 'internal', `the refresher function failed (${errorType})`);
      }
      return JSON.parse(body) as OnDemandResponse;
    } catch (error) {
      // The refresher is at its concurrency limit: it is working; wait and re-read.
      if ((error as Error).name === 'TooManyRequestsException') return { connection, outcome: 'in_progress' };
      throw error;
    }
  }
}

function safeErrorType(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorType?: unknown };
    return typeof parsed.errorType === 'string' ? parsed.errorType : 'unknown error';
  } catch {
    return 'unknown error';
  }
}
