// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod';
import { HttpTokenEndpoint } from '../adapters/http-token-endpoint.js';
import type { ConnectResponse } from '../contract/on-demand.js';
import type { RefresherConfig } from '../contract/refresher-environment.js';
import { Budget } from '../core/budget.js';
import {
  type AuthorizationCodeEndpoint,
  type ConnectGrant,
  type ConnectResult,
  connectConnection,
  type SecretCreator,
} from '../core/connect-connection.js';
import type { ProviderSettings } from '../core/record.js';
import { clientCredentialsReader } from '../core/run-refresh.js';
import type { InvocationContext, RefresherPorts } from './refresher.js';

/**
 * The operator's `connect` and `import` actions (lambda/core/connect-connection.ts). The
 * provider settings are validated by the core, which names bad fields; the event schema
 * only checks the shape, and its error never echoes a value.
 */
const providerShape = z.record(z.string(), z.unknown());

/** `token-refresher connect`: exchange an authorization code (with its PKCE verifier) here. */
export const connectRequestSchema = z.object({
  action: z.literal('connect'),
  connection: z.string().min(1),
  provider: providerShape,
  code: z.string().min(1),
  codeVerifier: z.string().min(1),
  redirectUri: z.string().min(1),
});

/** `token-refresher connect --refresh-token-stdin`: store this refresh token, then refresh once. */
export const importRequestSchema = z.object({
  action: z.literal('import'),
  connection: z.string().min(1),
  provider: providerShape,
  refreshToken: z.string().min(1),
});

export type ConnectRequestEvent = z.output<typeof connectRequestSchema>;
export type ImportRequestEvent = z.output<typeof importRequestSchema>;

/** Ports a connect needs besides the refresher's; both optional. */
export type ConnectPorts = RefresherPorts & {
  /** Defaults to the refresher's token endpoint when it speaks the code grant (the HTTP adapter does). */
  codeEndpoint?: AuthorizationCodeEndpoint;
  /** When set, a connection without a secret is created (see `SecretCreator`). */
  secretCreator?: SecretCreator;
};

export async function handleConnect(
  ports: ConnectPorts,
  config: RefresherConfig,
  request: ConnectRequestEvent | ImportRequestEvent,
  context: InvocationContext,
): Promise<ConnectResponse> {
  if (config.onDemandOnly) {
    throw new Error(
      'this function serves consumers and does not accept connect or import; operators use the refresher function',
    );
  }
  const grant: ConnectGrant =
    request.action === 'connect'
      ? {
          kind: 'authorization_code',
          code: request.code,
          codeVerifier: request.codeVerifier,
          redirectUri: request.redirectUri,
        }
      : { kind: 'refresh_token', refreshToken: request.refreshToken };
  const codeEndpoint =
    ports.codeEndpoint ??
    (isCodeEndpoint(ports.tokenEndpoint) ? ports.tokenEndpoint : new HttpTokenEndpoint());
  try {
    const result = await connectConnection(
      {
        ...ports,
        settings: config.settings,
        invocationId: context.awsRequestId,
        credentials: clientCredentialsReader(ports.store),
        codeEndpoint,
        secretCreator: ports.secretCreator,
      },
      {
        connection: request.connection,
        // Validated (field by field, never echoing a value) by connectConnection.
        provider: request.provider as ProviderSettings,
        grant,
        budget: Budget.fromRemaining(ports.clock, context.getRemainingTimeInMillis()),
      },
    );
    return toConnectResponse(request.action, result);
  } finally {
    try {
      await ports.metrics.flush();
    } catch (error) {
      ports.logger.warn('metrics could not be flushed', { error: String(error) });
    }
  }
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
