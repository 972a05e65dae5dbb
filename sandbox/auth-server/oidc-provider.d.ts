/**
 * Minimal typings for the parts of `oidc-provider` 9.x the sandbox's auth server uses. The
 * package ships no types and `@types/oidc-provider` lags behind 9.x, so only what
 * `sandbox/auth-server.ts` touches is declared here.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    token_endpoint_auth_method?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    scope?: string;
    [key: string]: unknown;
  }

  /** The Koa context oidc-provider hands to configuration callbacks. */
  export interface KoaContextWithOIDC {
    type: string;
    body: unknown;
    [key: string]: unknown;
  }

  export interface AdapterPayload {
    [key: string]: unknown;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export type AdapterFactory = (model: string) => Adapter;

  export interface Account {
    accountId: string;
    claims(...args: unknown[]): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export interface Configuration {
    adapter?: AdapterFactory;
    clients?: ClientMetadata[];
    clockTolerance?: number;
    jwks?: { keys: object[] };
    scopes?: string[];
    features?: Record<string, { enabled: boolean; [key: string]: unknown }>;
    ttl?: Record<string, number | ((...args: unknown[]) => number)>;
    rotateRefreshToken?: boolean | ((ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
    issueRefreshToken?: (...args: unknown[]) => boolean | Promise<boolean>;
    expiresWithSession?: (...args: unknown[]) => boolean | Promise<boolean>;
    findAccount?: (ctx: KoaContextWithOIDC | undefined, sub: string, token?: unknown) => Promise<Account>;
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, unknown>, error: Error) => Promise<void>;
    [key: string]: unknown;
  }

  export interface Client {
    clientId: string;
  }

  interface BaseToken {
    readonly jti: string;
    clientId?: string;
    grantId?: string;
    accountId?: string;
    consumed?: number;
    save(): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface GrantInstance extends BaseToken {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
  }

  /** What `interactionDetails` returns (the parts the auto-approving fixture reads). */
  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string };
    grantId?: string;
  }

  export interface RefreshTokenInstance extends BaseToken {
    readonly isValid: boolean;
  }

  export interface AccessTokenInstance extends BaseToken {
    readonly isValid: boolean;
  }

  interface TokenModel<T> {
    find(value: string, options?: { ignoreExpiration?: boolean }): Promise<T | undefined>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    urlFor(route: string): string;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;

    readonly Client: { find(id: string): Promise<Client | undefined> };
    readonly Grant: (new (properties: {
      accountId: string;
      clientId: string;
    }) => GrantInstance) & {
      find(id: string): Promise<GrantInstance | undefined>;
      readonly adapter: Adapter;
    };
    readonly RefreshToken: (new (properties: {
      accountId: string;
      client: Client;
      grantId: string;
      scope: string;
      gty?: string;
      authTime?: number;
      expiresWithSession?: boolean;
    }) => RefreshTokenInstance) &
      TokenModel<RefreshTokenInstance>;
    readonly AccessToken: TokenModel<AccessTokenInstance>;
    readonly AuthorizationCode: TokenModel<BaseToken>;
  }

  export default Provider;
}
