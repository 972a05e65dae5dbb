// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod/mini';
import { parseEndpointUrl } from '../core/endpoint-url.js';
import type { ClientAuthMethod, TokenDialect } from '../core/ports.js';
import { COMMON_DEAD_TOKEN_CODES, type ProviderBehaviour } from '../core/provider-behaviour.js';
import { behaviourSchema } from '../core/record.js';
import { nonEmptyArray, nonEmptyString, positiveInt } from '../core/schema-helpers.js';
import PROFILE_DATA from './profiles.json' with { type: 'json' };

/**
 * Provider profiles: how each well-known OAuth 2.0 provider behaves, as data
 * (`profiles.json`), each citing the documentation it was written from. A profile resolves,
 * with the values of its placeholders (a tenant, a domain, a realm), to the endpoints the
 * operator's `connect` uses and the `ProviderBehaviour` the record stores at connect time
 * (core/provider-behaviour.ts). A later change of a profile never changes a connection
 * that is already connected: its record keeps what it was connected with.
 *
 * Placeholder values decide where refresh tokens and client secrets are sent, so they are
 * held to their kind strictly (a host is a DNS name, a segment one path segment) and the
 * filled URL must have exactly the host and path the template gives them: nothing in a
 * value can add a path, credentials, a port or a query.
 */

/** The placeholders a profile may use; each is a `connect` option of the same name. */
export const PARAM_NAMES = ['tenant', 'domain', 'realm', 'server'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** The failure classes a profile may map an error code to (lambda/core/errors.ts). */
const errorClass = z.enum(['reauth_required', 'configuration', 'transient']);

const seconds = positiveInt();
const templateUrl = z.string().check(z.startsWith('https://'));

const paramSchema = z.strictObject({
  /** `host`: a DNS name (`acme.okta.com`); `segment`: one path segment (`acme`, a tenant id). */
  kind: z.enum(['host', 'segment']),
  description: nonEmptyString(),
  example: nonEmptyString(),
  default: z.optional(nonEmptyString()),
  /** A host must be one of these domains or under one of them. */
  hostSuffixes: z.optional(z.array(nonEmptyString())),
  /** A host must not be one of these domains nor under one of them. */
  refusedHostSuffixes: z.optional(z.array(nonEmptyString())),
});

const profileSchema = z.strictObject({
  displayName: nonEmptyString(),
  endpoints: z.strictObject({
    token: templateUrl,
    /** Where the operator's browser authorizes; absent: discovered from `issuer`. */
    authorization: z.optional(templateUrl),
    /** OAuth / OIDC metadata (RFC 8414) for endpoints the profile does not name. */
    issuer: z.optional(templateUrl),
  }),
  params: z.optional(z.partialRecord(z.enum(PARAM_NAMES), paramSchema)),
  dialect: z.enum(['json', 'form']),
  clientAuth: z.enum(['client_secret_post', 'client_secret_basic']),
  scope: z.strictObject({
    separator: z.enum([' ', ',', '+']),
    sendOnRefresh: z.boolean(),
    /** The scope that asks for a refresh token (`offline_access`), added to any scope requested. */
    offlineAccess: z.optional(nonEmptyString()),
    /** Requested when the operator names none. */
    default: z.optional(nonEmptyString()),
    /** The provider refuses an authorization request without a scope of the operator's choosing. */
    required: z.optional(z.boolean()),
  }),
  /** Extra authorization request parameters (`access_type=offline`). */
  authorizationParams: z.optional(z.record(nonEmptyString(), z.string())),
  /** The documented (default) access-token lifetime: `providers` shows it, `connect` warns on it. */
  accessTokenLifetimeSeconds: seconds,
  /** As stored (core/record.ts), unknown fields refused. */
  response: z.strictObject(behaviourSchema.shape.response.shape),
  errors: z.strictObject({
    /** Whether errors arrive inside 2xx bodies (GitHub, Slack). */
    in2xx: z.boolean(),
    codeFields: nonEmptyArray(nonEmptyString()),
    /** Documented codes and what they mean; `reauth_required` ones are dead-token codes. */
    codes: z.record(nonEmptyString(), errorClass),
    /** Statuses a dead refresh token is answered with, when not 400 (200 where errors are inside 2xx). */
    deadTokenStatuses: z.optional(z.array(z.number().check(z.int(), z.gte(200), z.lte(599)))),
    retryAfterHeader: z.optional(nonEmptyString()),
  }),
  rotation: z.strictObject(behaviourSchema.shape.rotation.shape),
  /** What the profile handles (and, prefixed `not handled:`, what it does not), one line each. */
  quirks: nonEmptyArray(nonEmptyString()),
  /** The documentation (and bug threads) the profile was written from. */
  sources: nonEmptyArray(z.url({ protocol: /^https$/ })),
});

export type ProfileParam = z.infer<typeof paramSchema>;
export type ProviderProfile = z.infer<typeof profileSchema> & { name: string };

const PROFILE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const PLACEHOLDER = /\{([A-Za-z]+)\}/g;

/**
 * zod/mini loads no messages (every issue would read "Invalid input"): the English ones full
 * zod gave, which name keys, types and limits, never a value.
 */
const ENGLISH = { error: z.locales.en().localeError };

/** A profile that does not exist, a placeholder value that is refused, or a missing one. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

/**
 * Validates profile data (the shipped `profiles.json`, or test data): the schema, the
 * names, and that each template uses only declared placeholders and fills, with each
 * placeholder's example, to an endpoint the refresher would send to.
 */
export function loadProfiles(data: unknown): ReadonlyMap<string, ProviderProfile> {
  const parsed = z.record(z.string(), z.unknown()).parse(data, ENGLISH);
  const profiles = new Map<string, ProviderProfile>();
  for (const [name, raw] of Object.entries(parsed)) {
    if (!PROFILE_NAME.test(name))
      throw new ProfileError(`profile name "${name}" must be lower-case kebab-case`);
    const result = profileSchema.safeParse(raw, ENGLISH);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new ProfileError(`profile "${name}" is invalid: ${problems.join('; ')}`);
    }
    const profile: ProviderProfile = { ...result.data, name };
    for (const [which, template] of Object.entries(profile.endpoints)) {
      for (const [, param] of template.matchAll(PLACEHOLDER)) {
        if (!profile.params?.[param as ParamName]) {
          throw new ProfileError(
            `profile "${name}": the ${which} endpoint uses {${param}}, which it does not declare`,
          );
        }
      }
    }
    // Every template must fill, with the examples, to an endpoint (throws otherwise).
    resolveProfileWith(profile, exampleParams(profile));
    profiles.set(name, profile);
  }
  return profiles;
}

/** Each placeholder's example value: what `providers` shows and the tests fill with. */
export function exampleParams(profile: ProviderProfile): Partial<Record<ParamName, string>> {
  return Object.fromEntries(
    Object.entries(profile.params ?? {}).map(([param, spec]) => [param, spec.example]),
  ) as Partial<Record<ParamName, string>>;
}

export function profileNamed(name: string): ProviderProfile {
  const profile = PROFILES.get(name);
  if (!profile) {
    throw new ProfileError(`no provider profile "${name}" (known: ${[...PROFILES.keys()].join(', ')})`);
  }
  return profile;
}

/** A profile with its placeholders filled: what `connect` needs and the record stores. */
export interface ResolvedProfile {
  name: string;
  displayName: string;
  tokenEndpoint: string;
  authorizationEndpoint?: string;
  issuer?: string;
  dialect: TokenDialect;
  clientAuth: ClientAuthMethod;
  /** The placeholder values used, defaults included. */
  params: Partial<Record<ParamName, string>>;
  /** The scope to request when the operator names none (offline access included). */
  defaultScope?: string;
  offlineAccessScope?: string;
  scopeRequired: boolean;
  authorizationParams: Record<string, string>;
  accessTokenLifetimeSeconds: number;
  behaviour: ProviderBehaviour;
}

/** Resolves the shipped profile `name` with `params` (see `resolveProfileWith`). */
export function resolveProfile(
  name: string,
  params: Partial<Record<ParamName, string>> = {},
): ResolvedProfile {
  return resolveProfileWith(profileNamed(name), params);
}

/**
 * Fills `profile`'s placeholders with `params` (or their defaults) and derives the
 * behaviour a connection stores. Throws a `ProfileError` naming the placeholder (as its
 * `connect` option) when a value is missing, unknown or refused.
 */
export function resolveProfileWith(
  profile: ProviderProfile,
  params: Partial<Record<string, string | undefined>>,
): ResolvedProfile {
  const declared = profile.params ?? {};
  for (const [param, value] of Object.entries(params)) {
    if (value !== undefined && !(param in declared)) {
      const takes = Object.keys(declared).map((p) => `--${p}`);
      throw new ProfileError(
        `provider "${profile.name}" takes no --${param}` +
          (takes.length > 0 ? ` (it takes ${takes.join(', ')})` : ' (its endpoints have no placeholders)'),
      );
    }
  }
  const values: Partial<Record<ParamName, string>> = {};
  for (const [param, spec] of Object.entries(declared) as [ParamName, ProfileParam][]) {
    const given = params[param] ?? spec.default;
    if (given === undefined) {
      throw new ProfileError(
        `provider "${profile.name}" needs --${param}: ${spec.description} (for example ${spec.example})`,
      );
    }
    values[param] = checkParam(profile.name, param, spec, given);
  }
  const fill = (which: string, template: string) => fillTemplate(profile.name, which, template, values);
  const offline = profile.scope.offlineAccess;
  const defaultScope = profile.scope.default
    ? withScope(profile.scope.default, offline, profile.scope.separator)
    : offline;
  const codes = Object.entries(profile.errors.codes);
  const transientCodes = codes.filter(([, failure]) => failure === 'transient').map(([code]) => code);
  const behaviour: ProviderBehaviour = {
    scope: { sendOnRefresh: profile.scope.sendOnRefresh, separator: profile.scope.separator },
    response: { ...profile.response },
    errors: {
      codeFields: profile.errors.codeFields,
      deadTokenCodes: [
        ...new Set([
          ...COMMON_DEAD_TOKEN_CODES,
          ...codes.filter(([, failure]) => failure === 'reauth_required').map(([code]) => code),
        ]),
      ],
      ...(transientCodes.length > 0 ? { transientCodes } : {}),
      retryAfterHeader: (profile.errors.retryAfterHeader ?? 'retry-after').toLowerCase(),
    },
    rotation: { ...profile.rotation },
  };
  return {
    name: profile.name,
    displayName: profile.displayName,
    tokenEndpoint: fill('token', profile.endpoints.token),
    ...(profile.endpoints.authorization
      ? { authorizationEndpoint: fill('authorization', profile.endpoints.authorization) }
      : {}),
    ...(profile.endpoints.issuer ? { issuer: fill('issuer', profile.endpoints.issuer) } : {}),
    dialect: profile.dialect,
    clientAuth: profile.clientAuth,
    params: values,
    ...(defaultScope ? { defaultScope } : {}),
    ...(offline ? { offlineAccessScope: offline } : {}),
    scopeRequired: profile.scope.required === true,
    authorizationParams: { ...profile.authorizationParams },
    accessTokenLifetimeSeconds: profile.accessTokenLifetimeSeconds,
    behaviour,
  };
}

/** `scope` with `extra` added (once), joined by `separator`. */
export function withScope(scope: string, extra: string | undefined, separator: ' ' | ',' | '+'): string {
  const parts = scope.split(/[\s,+]+/).filter((part) => part !== '');
  if (extra && !parts.includes(extra)) parts.push(extra);
  return parts.join(separator);
}

/** Characters that would change a URL's structure, named in the refusal. */
const STRUCTURAL: [RegExp, string][] = [
  [/\//, '"/"'],
  [/\\/, '"\\"'],
  [/@/, '"@"'],
  [/:/, '":"'],
  [/\?/, '"?"'],
  [/#/, '"#"'],
  [/%/, '"%"'],
  [/\.\./, '".."'],
  [/\s/, 'white space'],
];

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SEGMENT = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,127})$/;

function checkParam(profile: string, param: ParamName, spec: ProfileParam, value: string): string {
  const refuse = (why: string): never => {
    throw new ProfileError(`--${param} for provider "${profile}" ${why}`);
  };
  for (const [pattern, what] of STRUCTURAL) {
    if (pattern.test(value)) refuse(`must not contain ${what}: it is ${spec.description}`);
  }
  if (spec.kind === 'segment') {
    if (!SEGMENT.test(value)) refuse('must be letters, digits, ".", "_" or "-" (at most 128)');
    return value;
  }
  const host = value.toLowerCase();
  const labels = host.split('.');
  if (host.length > 253 || labels.length < 2 || !labels.every((label) => HOST_LABEL.test(label))) {
    refuse(`must be a DNS host name such as ${spec.example}`);
  }
  if (/^\d+$/.test(labels.at(-1)!)) refuse('must be a DNS host name, not an IP address');
  const under = (suffix: string) => host === suffix || host.endsWith(`.${suffix}`);
  if (spec.hostSuffixes && !spec.hostSuffixes.some(under)) {
    refuse(`must be a host under ${spec.hostSuffixes.join(', ')}`);
  }
  const refused = spec.refusedHostSuffixes?.find(under);
  if (refused) refuse(`must not be a host under ${refused}: ${spec.description}`);
  return host;
}

/**
 * Fills a template, then checks the result is an endpoint (core/endpoint-url.ts) whose host
 * and path are exactly the template's with the values in their places.
 */
function fillTemplate(
  profile: string,
  which: string,
  template: string,
  values: Partial<Record<ParamName, string>>,
): string {
  const filled = template.replace(PLACEHOLDER, (_, param: string) => values[param as ParamName] ?? '');
  const endpoint = parseEndpointUrl(filled, `provider "${profile}"'s ${which} endpoint`);
  if (!endpoint.ok) throw new ProfileError(endpoint.description);
  const [, expectedHost = '', expectedPath = ''] = /^https:\/\/([^/]+)(\/[^?]*)?/.exec(filled) ?? [];
  const { url } = endpoint;
  if (url.protocol !== 'https:' || url.host !== expectedHost || url.pathname !== (expectedPath || '/')) {
    throw new ProfileError(`provider "${profile}"'s ${which} endpoint would not be where its template says`);
  }
  return url.href;
}

// Last: loading uses every rule above.
/** The shipped profiles (lambda/providers/profiles.json), validated once. */
export const PROFILES: ReadonlyMap<string, ProviderProfile> = loadProfiles(PROFILE_DATA);

/** How a deployment's `allowedTokenOrigins` names a profile's token endpoint: `profile:okta?domain=acme.okta.com`. */
export const PROFILE_REFERENCE_PREFIX = 'profile:';

/**
 * The token-endpoint origin (`https://host`) a profile reference names, for pinning the
 * endpoints a deployment may send tokens to: `profile:NAME`, with its placeholders as a
 * query (`profile:keycloak?domain=sso.example.com&realm=acme`). Throws a `ProfileError`.
 */
export function profileReferenceOrigin(reference: string): string {
  if (!reference.startsWith(PROFILE_REFERENCE_PREFIX)) {
    throw new ProfileError(
      `"${reference}" is not a profile reference (${PROFILE_REFERENCE_PREFIX}NAME?param=value)`,
    );
  }
  const [name = '', query, ...rest] = reference.slice(PROFILE_REFERENCE_PREFIX.length).split('?');
  if (rest.length > 0) throw new ProfileError(`"${reference}" has more than one "?"`);
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    if (key in params) throw new ProfileError(`"${reference}" names ${key} twice`);
    params[key] = value;
  }
  return new URL(resolveProfile(name, params).tokenEndpoint).origin;
}
