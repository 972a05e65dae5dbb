import { randomUUID } from 'node:crypto';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { AuthorizationServer } from 'oauth4webapi';
import { SecretsManagerCreator, SecretsManagerStore } from '../../lambda/adapters/secrets-manager-store.js';
import { connectionSecretName } from '../../lambda/contract/names.js';
import type { ConnectResponse } from '../../lambda/contract/on-demand.js';
import { DEFAULT_SETTINGS } from '../../lambda/contract/settings.js';
import { parseEndpointUrl } from '../../lambda/core/endpoint-url.js';
import { VersionConflictError } from '../../lambda/core/errors.js';
import type { ClientAuthMethod, TokenDialect } from '../../lambda/core/ports.js';
import { DEFAULT_BEHAVIOUR, type ProviderBehaviour } from '../../lambda/core/provider-behaviour.js';
import { behaviourSchema, type ProviderSettings, placeholderRecord } from '../../lambda/core/record.js';
import { createConnectionSecret } from '../../lambda/core/write-protocol.js';
import {
  PARAM_NAMES,
  type ParamName,
  ProfileError,
  type ResolvedProfile,
  resolveProfile,
  withScope,
} from '../../lambda/providers/profiles.js';
import { runCodeFlow } from '../code-flow.js';
import { checkConnectionName, describeConnection, removedError } from '../connections.js';
import type { Deployment } from '../deployment.js';
import { CliError } from '../errors.js';
import { formatDuration, formatExpiresIn, shortVersion } from '../format.js';
import { invokerFor, type LocalInvokerOptions, type RefresherInvoker } from '../invoker.js';
import type { CliIo } from '../io.js';
import { discoverServer } from '../oauth-metadata.js';
import { progress } from '../progress.js';
import { connectionStatus } from './status.js';

export interface ConnectOptions {
  /** A provider profile (lambda/providers/): fills the endpoints and the behaviour. */
  provider?: string;
  /** Placeholder values of the profile's endpoints. */
  tenant?: string;
  domain?: string;
  realm?: string;
  server?: string;
  /** Extra authorization request parameters (`key=value`), after the profile's. */
  authorizationParam?: string[];
  /** Seconds an access token lives when the provider sends no `expires_in`. */
  accessTokenLifetime?: number;
  tokenEndpoint?: string;
  authorizationEndpoint?: string;
  issuer?: string;
  dialect: TokenDialect;
  clientAuth: ClientAuthMethod;
  /** The options given on the command line (not defaulted): `--provider` conflicts with some. */
  given?: ReadonlySet<string>;
  clientCredentialsSecret?: string;
  clientId?: string;
  scope?: string;
  redirectUri: string;
  /** False with `--no-browser`: print the URL only. */
  browser: boolean;
  /** Seconds to wait for the browser. */
  timeout: number;
  refreshTokenStdin?: boolean;
  allowInsecureLocalhost?: boolean;
  /** One JSON document on stdout; warnings go into it. */
  json?: boolean;
}

/**
 * An endpoint URL the operator gave, by the refresher's own rule (core/endpoint-url.ts),
 * with plain http to loopback only when `--allow-insecure-localhost` is given.
 */
export function checkEndpointUrl(option: string, value: string, allowInsecureLocalhost = false): string {
  const endpoint = parseEndpointUrl(value, option);
  if (!endpoint.ok) {
    const insecure = endpoint.code === 'insecure_http' || endpoint.code === 'unsupported_scheme';
    throw new CliError(insecure ? `${option} must use https` : endpoint.description);
  }
  if (endpoint.url.protocol === 'http:' && !allowInsecureLocalhost) {
    throw new CliError(`${option} must use https (plain http to localhost needs --allow-insecure-localhost)`);
  }
  return endpoint.url.href;
}

export async function connectCommand(
  name: string,
  options: ConnectOptions,
  deployment: Deployment,
  io: CliIo,
  invokerOptions: LocalInvokerOptions = {},
): Promise<void> {
  checkConnectionName(name);
  const allowHttp = Boolean(options.allowInsecureLocalhost);
  if (!Number.isFinite(options.timeout) || options.timeout <= 0) {
    throw new CliError('--timeout must be a positive number of seconds');
  }
  checkCustomProviderOptions(options);
  const profile = options.provider ? providerProfile(options) : undefined;
  const extraParams = authorizationParams(options.authorizationParam ?? []);
  let tokenEndpoint =
    (profile && checkEndpointUrl(`the "${profile.name}" token endpoint`, profile.tokenEndpoint)) ||
    (options.tokenEndpoint && checkEndpointUrl('--token-endpoint', options.tokenEndpoint, allowHttp));
  let authorizationEndpoint =
    (profile?.authorizationEndpoint &&
      checkEndpointUrl(`the "${profile.name}" authorization endpoint`, profile.authorizationEndpoint)) ||
    (options.authorizationEndpoint &&
      checkEndpointUrl('--authorization-endpoint', options.authorizationEndpoint, allowHttp));
  const issuer = profile?.issuer ?? options.issuer;
  let server: AuthorizationServer | undefined;
  if (issuer && (!tokenEndpoint || (!authorizationEndpoint && !options.refreshTokenStdin))) {
    const discovered = await discoverServer(
      checkEndpointUrl('--issuer', issuer, allowHttp && !profile),
      allowHttp && !profile,
    );
    server = discovered.server;
    tokenEndpoint ??=
      discovered.tokenEndpoint &&
      checkEndpointUrl("the issuer's token_endpoint", discovered.tokenEndpoint, allowHttp);
    authorizationEndpoint ??=
      discovered.authorizationEndpoint &&
      checkEndpointUrl("the issuer's authorization_endpoint", discovered.authorizationEndpoint, allowHttp);
  }
  if (!tokenEndpoint) throw new CliError('--token-endpoint (or --issuer, or --provider) is required');
  const scope = connectionScope(options, profile);
  if (!options.refreshTokenStdin) {
    if (!authorizationEndpoint) {
      throw new CliError(
        '--authorization-endpoint (or --issuer) is required for the authorization code flow',
      );
    }
    if (!options.clientId) throw new CliError('--client-id is required for the authorization code flow');
    if (profile?.scopeRequired && !scope) {
      throw new CliError(`--scope is required with --provider ${profile.name}: it grants no default scope`);
    }
  }
  const behaviour = connectionBehaviour(options, profile);

  // The imported token is read before any AWS call, and never echoed.
  const refreshToken = options.refreshTokenStdin ? await readRefreshToken(io) : undefined;

  await deployment.checkEnvironment();
  const clientCredentialsSecretId =
    options.clientCredentialsSecret ?? `${await deployment.value('ClientCredentialsPrefix')}${name}`;
  await requireClientCredentials(deployment, clientCredentialsSecretId);
  const created = await ensureConnectionSecret(deployment, name, io, Boolean(options.json));
  const invoker = await invokerFor(deployment, io.stderr, invokerOptions);

  const provider: ProviderSettings = {
    tokenEndpoint,
    dialect: profile?.dialect ?? options.dialect,
    clientAuth: profile?.clientAuth ?? options.clientAuth,
    clientCredentialsSecretId,
    ...(scope ? { scope } : {}),
    // The profile and the behaviour it resolved to are stored: a later change of the profile
    // never changes this connection (reconnect to take it).
    ...(profile ? { profile: profile.name } : {}),
    ...(behaviour ? { behaviour: behaviourSchema.parse(behaviour) } : {}),
  };

  let event: Record<string, unknown>;
  if (refreshToken !== undefined) {
    event = { action: 'import', connection: name, provider, refreshToken };
  } else {
    io.stderr.write(`Authorize token-refresher for "${name}" in your browser.\n`);
    // Ctrl-C while the browser is out: stop waiting, and take back what this connect created.
    const interrupted = new AbortController();
    const onSignal = () => interrupted.abort();
    process.once('SIGINT', onSignal);
    const flow = await runCodeFlow({
      signal: interrupted.signal,
      ...(server ? { server } : {}),
      authorizationEndpoint: authorizationEndpoint!,
      clientId: options.clientId!,
      scope,
      extraParams: {
        // A profile says what its provider needs for a refresh token (Google: access_type=offline,
        // prompt=consent). Otherwise, OpenID Connect grants offline_access only with explicit
        // consent (Core §11).
        ...(profile
          ? profile.authorizationParams
          : scope?.split(' ').includes('offline_access')
            ? { prompt: 'consent' }
            : {}),
        ...extraParams,
      },
      redirectUri: options.redirectUri,
      timeoutMs: options.timeout * 1000,
      open: options.browser ? (url) => io.openBrowser(url) : () => Promise.reject(new Error('--no-browser')),
      show: (url, opened) =>
        io.stderr.write(
          opened
            ? `If the browser did not open, visit:\n  ${url}\n`
            : `Open this URL in a browser to authorize:\n  ${url}\n`,
        ),
    })
      .catch(async (error: unknown) => {
        if (created) await abandon(deployment, created, io);
        throw error;
      })
      .finally(() => process.off('SIGINT', onSignal));
    event = {
      action: 'connect',
      connection: name,
      provider,
      code: flow.code,
      codeVerifier: flow.codeVerifier,
      redirectUri: flow.redirectUri,
    };
  }

  const spinner = progress(
    io.stderr,
    refreshToken !== undefined
      ? 'The refresher is storing and validating the refresh token…'
      : 'The refresher is exchanging the authorization code…',
  );
  let response: ConnectResponse;
  try {
    response = await invokeConnect(invoker, event);
  } catch (error) {
    spinner.fail('connect failed');
    throw error;
  }
  const importPending =
    refreshToken !== undefined &&
    response.outcome === 'failed' &&
    response.failureClass === 'transient' &&
    response.versionId !== undefined;
  if (importPending) {
    // Stored: only its validating refresh met a transient failure; the next run retries it.
    spinner.fail('imported; validation pending');
    const next = (await connectionStatus(deployment, name).catch(() => undefined))?.lease?.backoff
      ?.nextAttemptAt;
    const at = next
      ? `at ${next} (in ${formatDuration(Math.max(0, Date.parse(next) - Date.now()))})`
      : 'at its next run';
    const text =
      `imported the refresh token of "${name}": stored (version ${shortVersion(response.versionId)}), validation pending: ` +
      `the validating refresh met a transient failure (${response.message?.replace(/^the imported refresh token was stored, but refreshing with it failed: /, '') ?? 'no detail'}); ` +
      `the refresher refreshes it ${at}, with no action from you (token-refresher status shows it; ` +
      `token-refresher refresh ${name} --force tries now)`;
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ connection: name, action: 'import', outcome: 'pending', versionId: response.versionId, validated: false, failureClass: response.failureClass, nextAttemptAt: next ?? null, warnings: [] }, null, 2)}\n`,
      );
    }
    throw new CliError(text, 'pending', { versionId: response.versionId, nextAttemptAt: next ?? null });
  }
  if (response.outcome !== 'refreshed') {
    spinner.fail('connect failed');
    throw new CliError(
      response.outcome === 'in_progress'
        ? `connection "${name}" is being refreshed right now; run connect again in a minute`
        : `connect "${name}" failed (${response.failureClass ?? 'unknown'}): ${response.message ?? 'no detail'}`,
      response.outcome === 'in_progress' ? 'refused' : 'failed',
    );
  }
  spinner.succeed(`connected "${name}"`);
  const expiry = response.expiresAt ? Date.parse(response.expiresAt) : undefined;
  const valid = expiry !== undefined ? `access token valid for ${formatExpiresIn(expiry, Date.now())}` : '';
  const text =
    refreshToken === undefined
      ? `connected "${name}": ${valid} (version ${shortVersion(response.versionId)})`
      : response.validated
        ? `imported the refresh token of "${name}" and refreshed it: ${valid} (version ${shortVersion(response.versionId)})`
        : `imported the refresh token of "${name}" (version ${shortVersion(response.versionId)}); a refresh already in progress will validate it`;
  const lifetimeSeconds =
    expiry !== undefined
      ? Math.round((expiry - Date.now()) / 1000)
      : (options.accessTokenLifetime ?? profile?.accessTokenLifetimeSeconds);
  const floorSeconds = Number(await deployment.optionalValue('VersionFloorSeconds')) || DEFAULT_FLOOR_SECONDS;
  const warning = shortTokenWarning(name, lifetimeSeconds, floorSeconds);
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify(
        {
          connection: name,
          action: refreshToken === undefined ? 'connect' : 'import',
          outcome: 'connected',
          versionId: response.versionId,
          expiresAt: response.expiresAt ?? null,
          validated: response.validated ?? true,
          warnings: warning ? [warning.replace(/^warning: /, '')] : [],
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  io.stdout.write(`${text}\n`);
  if (warning) io.stderr.write(`${warning}\n`);
}

/**
 * A connect that created the connection's placeholder and did not get as far as the
 * refresher (no browser answer, Ctrl-C, a refused authorization) deletes it again, with no
 * recovery window: nothing was stored in it, and the name stays free.
 */
async function abandon(deployment: Deployment, secretName: string, io: CliIo): Promise<void> {
  try {
    await new SecretsManagerStore(deployment.clients.secretsManager).deleteSecret(secretName, 'none');
    io.stderr.write(`removed the placeholder secret ${secretName} this connect had created\n`);
  } catch (error) {
    io.stderr.write(
      `warning: could not remove the placeholder secret ${secretName} (${(error as Error).name}); ` +
        'token-refresher status shows it as pending, with the command that removes it\n',
    );
  }
}

const DEFAULT_FLOOR_SECONDS = DEFAULT_SETTINGS.versionFloorMs / 1000;

/**
 * The warning for a connection whose access tokens live less than the deployment's
 * version floor (the hard floor between two refreshes of one connection), or undefined.
 */
export function shortTokenWarning(
  name: string,
  lifetimeSeconds: number | undefined,
  floorSeconds: number,
): string | undefined {
  if (lifetimeSeconds === undefined || lifetimeSeconds <= 0 || lifetimeSeconds >= floorSeconds)
    return undefined;
  const floor = formatDuration(floorSeconds * 1000);
  const share = Math.max(1, Math.round((100 * lifetimeSeconds) / floorSeconds));
  return (
    `warning: the access tokens of "${name}" live ${formatDuration(lifetimeSeconds * 1000)}, less than this ` +
    `deployment's version floor of ${floor}: the refresher refreshes a connection at most once per ${floor}, so ` +
    `the stored access token is valid only about ${share}% of the time. Consumers will see 401s, answered by ` +
    `on-demand refreshes at most once per ${floor}. Lengthen the provider's access-token lifetime to at least ` +
    `${floor} (or lower versionFloor, within the secret version quota: docs/deploy.md)`
  );
}

/** `--provider` resolved with its placeholder options; a refusal is one CLI error. */
function providerProfile(options: ConnectOptions): ResolvedProfile {
  const params: Partial<Record<ParamName, string>> = {};
  for (const param of PARAM_NAMES) if (options[param] !== undefined) params[param] = options[param];
  try {
    return resolveProfile(options.provider!, params);
  } catch (error) {
    if (error instanceof ProfileError) throw new CliError(error.message);
    throw error;
  }
}

/** The custom-provider options `--provider` fills: giving both is a mistake, said clearly. */
const FILLED_BY_PROFILE = [
  ['tokenEndpoint', '--token-endpoint'],
  ['authorizationEndpoint', '--authorization-endpoint'],
  ['issuer', '--issuer'],
  ['dialect', '--dialect'],
  ['clientAuth', '--client-auth'],
] as const;

function checkCustomProviderOptions(options: ConnectOptions): void {
  if (options.provider !== undefined) {
    const conflicting = FILLED_BY_PROFILE.filter(([key]) =>
      options.given ? options.given.has(key) : key !== 'dialect' && key !== 'clientAuth' && options[key],
    ).map(([, flag]) => flag);
    if (conflicting.length > 0) {
      throw new CliError(
        `--provider ${options.provider} fills ${conflicting.join(', ')} from its profile: drop ${
          conflicting.length > 1 ? 'them' : 'it'
        }, or drop --provider to describe a custom provider`,
      );
    }
    return;
  }
  const placeholders = PARAM_NAMES.filter((param) => options[param] !== undefined).map(
    (param) => `--${param}`,
  );
  if (placeholders.length > 0) {
    const one = placeholders.length === 1;
    throw new CliError(
      `${placeholders.join(', ')} ${one ? 'fills' : 'fill'} a provider profile's endpoints: ${one ? 'it needs' : 'they need'} --provider`,
    );
  }
}

/** `key=value` pairs of `--authorization-param`. */
function authorizationParams(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at) : '';
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new CliError('--authorization-param must be key=value');
    const reserved = [
      'client_id',
      'redirect_uri',
      'response_type',
      'state',
      'code_challenge',
      'code_challenge_method',
      'scope',
    ];
    if (reserved.includes(key))
      throw new CliError(`--authorization-param cannot set ${key}: connect sets it`);
    params[key] = pair.slice(at + 1);
  }
  return params;
}

/** The scope to request and store: the operator's (plus the profile's offline-access scope), or the profile's default. */
function connectionScope(options: ConnectOptions, profile: ResolvedProfile | undefined): string | undefined {
  if (!profile) return options.scope;
  if (!options.scope) return profile.defaultScope;
  return withScope(options.scope, profile.offlineAccessScope, profile.behaviour.scope.separator);
}

/** What the record stores as the provider's behaviour: the profile's, or the defaults with the operator's lifetime. */
function connectionBehaviour(
  options: ConnectOptions,
  profile: ResolvedProfile | undefined,
): ProviderBehaviour | undefined {
  const lifetime = options.accessTokenLifetime;
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime <= 0)) {
    throw new CliError('--access-token-lifetime must be a whole number of seconds');
  }
  const base = profile?.behaviour ?? (lifetime !== undefined ? DEFAULT_BEHAVIOUR : undefined);
  if (!base || lifetime === undefined) return base;
  return { ...base, response: { ...base.response, defaultExpiresInSeconds: lifetime } };
}

/** The lease is held only for a moment by a refresh: try a few times before giving up. */
async function invokeConnect(
  invoker: RefresherInvoker,
  event: Record<string, unknown>,
): Promise<ConnectResponse> {
  for (let attempt = 1; ; attempt += 1) {
    const response = (await invoker.invoke(event)) as ConnectResponse;
    if (response.outcome !== 'in_progress' || attempt >= 4) return response;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** One refresh token from standard input: hidden on a terminal, to EOF from a pipe. Never echoed. */
async function readRefreshToken(io: CliIo): Promise<string> {
  let text: string;
  if (io.stdin.isTTY) {
    text = await io.readHidden('Paste the refresh token and press Enter (it is not shown): ');
  } else {
    const chunks: string[] = [];
    for await (const chunk of io.stdin)
      chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    text = chunks.join('');
  }
  const token = text.trim();
  if (token === '') throw new CliError('--refresh-token-stdin: standard input was empty');
  if (/\s/.test(token))
    throw new CliError('--refresh-token-stdin: expected one refresh token (no spaces or lines)');
  return token;
}

async function requireClientCredentials(deployment: Deployment, secretId: string): Promise<void> {
  try {
    const described = await deployment.clients.secretsManager.send(
      new DescribeSecretCommand({ SecretId: secretId }),
    );
    if (described.DeletedDate)
      throw new CliError(`client credentials secret "${secretId}" is scheduled for deletion`);
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    throw new CliError(
      `client credentials secret "${secretId}" not found: create it holding ` +
        '{"client_id","client_secret","token_endpoint_origins"} (see README, Operator CLI) or pass --client-credentials-secret',
    );
  }
}

/**
 * Creates the connection's secret as a placeholder (status `reauth_required`, no token)
 * with the stack's secrets key when it does not exist, as the stack does for the
 * connections it pre-creates; the refresher then writes the connected record over it.
 */
async function ensureConnectionSecret(
  deployment: Deployment,
  name: string,
  io: CliIo,
  quiet: boolean,
): Promise<string | undefined> {
  const existing = await describeConnection(deployment, name);
  if (existing?.deletedDate) throw removedError(name, existing);
  if (existing) return undefined;
  const secretName = connectionSecretName(await deployment.value('ConnectionPrefix'), name);
  const creator = new SecretsManagerCreator(
    deployment.clients.secretsManager,
    await deployment.value('SecretsKeyArn'),
    `token-refresher connection "${name}" (record written by the refresher; do not edit by hand)`,
  );
  try {
    await createConnectionSecret(creator, secretName, JSON.stringify(placeholderRecord(name)), randomUUID());
    if (!quiet) io.stderr.write(`created the secret ${secretName}\n`);
    return secretName;
  } catch (error) {
    // Another operator created it in the meantime: fine, the refresher writes over it.
    if (!(error instanceof VersionConflictError)) throw error;
    return undefined;
  }
}
