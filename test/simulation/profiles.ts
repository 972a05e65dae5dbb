import type { ProviderBehaviour } from '../../lambda/core/provider-behaviour.js';
import { exampleParams, profileNamed, resolveProfile } from '../../lambda/providers/profiles.js';

/**
 * The simulated providers are real provider profiles (`lambda/providers/profiles.json`):
 * each is resolved as `connect --provider NAME` resolves it (with its placeholders'
 * examples), records carry the profile's name and behaviour, and the simulated
 * authorization server answers as the profile says the provider does: its rotation model,
 * reuse window, idle and absolute refresh-token lifetimes, where its errors arrive (inside
 * a 200 for GitHub and Slack), which field carries the code (HubSpot's `status`), whether
 * a success has `expires_in` (not Salesforce's), its token types and the fields it adds.
 */

/** The profiles the simulation uses, and each one's share of the connections. */
export const SIM_PROFILES: readonly (readonly [name: string, weight: number])[] = [
  /** JSON dialect, strict single-use rotation: the first provider the refresher served. */
  ['askara', 20],
  /** Rotating with a 30-minute reuse window; refresh tokens die after 60 days unused. */
  ['xero', 12],
  /** No `expires_in` (the connection's session timeout is its default), `instance_url`; rotation optional. */
  ['salesforce', 10],
  /** Errors inside 200 (`ok: false`), `token_type` bot or user, strict rotation. */
  ['slack', 10],
  /** Errors inside 200 (`error=bad_refresh_token`), `refresh_token_expires_in`, absolute lifetime. */
  ['github-app', 10],
  /** Errors without an `error` member (`status: BAD_REFRESH_TOKEN`), static refresh tokens. */
  ['hubspot', 8],
  /** Strict single-use rotation, 60 days idle. */
  ['box', 8],
  /** `refresh_expires_in`; strict rotation. */
  ['keycloak', 6],
  /** Static refresh tokens, 6 months idle, `refresh_token_expires_in`. */
  ['google', 8],
  /** An absolute lifetime (6 months from the grant) that no response mentions; rotation optional. */
  ['spotify', 8],
];

/** How a provider's answers look on the wire: what its profile says, resolved. */
export interface Wire {
  /** Answers carry Slack's `ok` member. */
  okMember: boolean;
  /** Answers are form-encoded unless the request's `Accept` asks for JSON (GitHub). */
  formUnlessJsonAccepted: boolean;
  /** The answer to a dead refresh token. */
  dead: { status: number; codeField: string; code: string; descriptionField: string };
  /** `token_type` values a success carries (one per connection). */
  tokenTypes: readonly string[];
  /** A success has no `expires_in` (the profile gives a default lifetime instead). */
  omitsExpiresIn: boolean;
}

/** One simulated provider: a resolved profile, its client, and how it answers. */
export interface SimProfile {
  /** The profile's name (connections are named after it). */
  id: string;
  tokenEndpoint: string;
  dialect: 'json' | 'form';
  clientAuth: 'client_secret_post' | 'client_secret_basic';
  /** The scope `connect` would ask for (the profile's default, offline access included). */
  scope?: string;
  behaviour: ProviderBehaviour;
  wire: Wire;
}

/**
 * Quirks of the wire that a profile states in words only (its `quirks`): Slack's `ok`
 * member, GitHub's form-encoded answers.
 */
const WIRE_QUIRKS: Record<string, Partial<Pick<Wire, 'okMember' | 'formUnlessJsonAccepted'>>> = {
  slack: { okMember: true },
  'github-app': { formUnlessJsonAccepted: true },
};

/** Resolves a profile as `connect --provider NAME` does, with the examples of its placeholders. */
export function simProfile(name: string): SimProfile {
  const profile = profileNamed(name);
  const resolved = resolveProfile(name, exampleParams(profile));
  const deadCode = Object.entries(profile.errors.codes).find(([, c]) => c === 'reauth_required')?.[0];
  if (deadCode === undefined) throw new Error(`sim: profile ${name} names no dead-token code`);
  // A code that is not the RFC's lives in the last field the profile names for codes (HubSpot: status).
  const codeField = deadCode === 'invalid_grant' ? 'error' : profile.errors.codeFields.at(-1)!;
  return {
    id: name,
    tokenEndpoint: resolved.tokenEndpoint,
    dialect: resolved.dialect,
    clientAuth: resolved.clientAuth,
    ...(resolved.defaultScope !== undefined ? { scope: resolved.defaultScope } : {}),
    behaviour: resolved.behaviour,
    wire: {
      okMember: false,
      formUnlessJsonAccepted: false,
      ...WIRE_QUIRKS[name],
      dead: {
        status: profile.errors.deadTokenStatuses?.[0] ?? (profile.errors.in2xx ? 200 : 400),
        codeField,
        code: deadCode,
        descriptionField: codeField === 'error' ? 'error_description' : 'message',
      },
      tokenTypes: resolved.behaviour.response.acceptedTokenTypes ?? ['Bearer'],
      omitsExpiresIn: resolved.behaviour.response.defaultExpiresInSeconds !== undefined,
    },
  };
}
