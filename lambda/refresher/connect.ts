import { HttpTokenEndpoint } from '../adapters/http-token-endpoint.js';
import type { ConnectResponse } from '../contract/on-demand.js';
import type { Budget } from '../core/budget.js';
import {
  type AuthorizationCodeEndpoint,
  type ConnectGrant,
  type ConnectResult,
  connectConnection,
} from '../core/connect-connection.js';
import type { EngineDeps } from '../core/engine.js';
import type { ProviderSettings } from '../core/record.js';
import type { ConnectRequestEvent, ImportRequestEvent } from './requests.js';

/** The operator's `connect` and `import` actions, on the composed engine. */
export async function handleConnect(
  engine: EngineDeps,
  codeEndpoint: AuthorizationCodeEndpoint | undefined,
  request: ConnectRequestEvent | ImportRequestEvent,
  budget: Budget,
): Promise<ConnectResponse> {
  const grant: ConnectGrant =
    request.action === 'connect'
      ? {
          kind: 'authorization_code',
          code: request.code,
          codeVerifier: request.codeVerifier,
          redirectUri: request.redirectUri,
        }
      : { kind: 'refresh_token', refreshToken: request.refreshToken };
  const result = await connectConnection(
    {
      ...engine,
      codeEndpoint:
        codeEndpoint ??
        (isCodeEndpoint(engine.tokenEndpoint) ? engine.tokenEndpoint : new HttpTokenEndpoint()),
    },
    {
      connection: request.connection,
      // Validated (field by field, never echoing a value) by connectConnection.
      provider: request.provider as ProviderSettings,
      grant,
      budget,
    },
  );
  return toConnectResponse(request.action, result);
}

function isCodeEndpoint(endpoint: unknown): endpoint is AuthorizationCodeEndpoint {
  return typeof (endpoint as Partial<AuthorizationCodeEndpoint>).exchangeCode === 'function';
}

function toConnectResponse(action: 'connect' | 'import', result: ConnectResult): ConnectResponse {
  const { connection } = result;
  switch (result.status) {
    case 'connected':
      return {
        action,
        connection,
        outcome: 'refreshed',
        versionId: result.versionId,
        ...(result.expiresAt !== undefined ? { expiresAt: new Date(result.expiresAt).toISOString() } : {}),
        validated: result.validated,
      };
    case 'in_progress':
      return { action, connection, outcome: 'in_progress' };
    case 'failed':
      return {
        action,
        connection,
        outcome: 'failed',
        failureClass: result.failureClass,
        message: result.message,
        ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
      };
  }
}
