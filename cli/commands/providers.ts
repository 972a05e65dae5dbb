import {
  PROFILES,
  ProfileError,
  type ProviderProfile,
  profileNamed,
} from '../../lambda/providers/profiles.js';
import { CliError } from '../errors.js';
import { formatDuration, newTable } from '../format.js';
import type { CliIo } from '../io.js';

/**
 * `token-refresher providers [name] [--json]`: the provider profiles (lambda/providers/)
 * that `connect --provider` fills endpoints and behaviour from. Needs no AWS.
 */

/** Schema version of the `--json` output: fields are only ever added within a version. */
export const PROVIDERS_JSON_VERSION = 1;

export function providersCommand(name: string | undefined, options: { json?: boolean }, io: CliIo): void {
  const profiles = name ? [named(name)] : [...PROFILES.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({ version: PROVIDERS_JSON_VERSION, profiles: profiles.map(describe) }, null, 2)}\n`,
    );
    return;
  }
  if (name) {
    io.stdout.write(details(profiles[0]!));
    return;
  }
  const table = newTable(
    ['Profile', 'Provider', 'Rotation', 'Reuse window', 'Access token', 'Refresh token', 'Placeholders'],
    io.stdout,
  );
  for (const profile of profiles) {
    table.push([
      profile.name,
      profile.displayName,
      profile.rotation.model,
      reuseWindow(profile),
      formatSeconds(profile.accessTokenLifetimeSeconds),
      refreshLifetimes(profile),
      placeholders(profile) || '-',
    ]);
  }
  io.stdout.write(`${table.toString()}\n\nQuirks handled (token-refresher providers <name> for sources):\n`);
  for (const profile of profiles) {
    io.stdout.write(`  ${profile.name}\n${profile.quirks.map((quirk) => `    - ${quirk}\n`).join('')}`);
  }
}

function named(name: string): ProviderProfile {
  try {
    return profileNamed(name);
  } catch (error) {
    if (error instanceof ProfileError) throw new CliError(error.message, 'not_found');
    throw error;
  }
}

/** The stable `--json` shape of one profile (explicit, so a change of the data file's layout does not change it). */
function describe(profile: ProviderProfile) {
  return {
    name: profile.name,
    displayName: profile.displayName,
    endpoints: {
      token: profile.endpoints.token,
      authorization: profile.endpoints.authorization ?? null,
      issuer: profile.endpoints.issuer ?? null,
    },
    placeholders: Object.entries(profile.params ?? {}).map(([param, spec]) => ({
      name: param,
      option: `--${param}`,
      kind: spec.kind,
      description: spec.description,
      example: spec.example,
      default: spec.default ?? null,
    })),
    dialect: profile.dialect,
    clientAuth: profile.clientAuth,
    scope: {
      separator: profile.scope.separator,
      sendOnRefresh: profile.scope.sendOnRefresh,
      offlineAccess: profile.scope.offlineAccess ?? null,
      default: profile.scope.default ?? null,
      required: profile.scope.required === true,
    },
    authorizationParams: profile.authorizationParams ?? {},
    accessTokenLifetimeSeconds: profile.accessTokenLifetimeSeconds,
    response: {
      defaultExpiresInSeconds: profile.response.defaultExpiresInSeconds ?? null,
      acceptedTokenTypes: profile.response.acceptedTokenTypes ?? null,
      refreshTokenExpiresInField: profile.response.refreshTokenExpiresInField ?? null,
      keepFields: profile.response.keepFields ?? [],
    },
    errors: {
      in2xx: profile.errors.in2xx,
      codeFields: profile.errors.codeFields,
      codes: profile.errors.codes,
      deadTokenStatuses: profile.errors.deadTokenStatuses ?? (profile.errors.in2xx ? [200] : [400]),
      retryAfterHeader: profile.errors.retryAfterHeader ?? 'retry-after',
    },
    rotation: {
      model: profile.rotation.model,
      reuseWindowSeconds: profile.rotation.reuseWindowSeconds,
      idleLifetimeSeconds: profile.rotation.idleLifetimeSeconds ?? null,
      absoluteLifetimeSeconds: profile.rotation.absoluteLifetimeSeconds ?? null,
    },
    quirks: profile.quirks,
    sources: profile.sources,
  };
}

function details(profile: ProviderProfile): string {
  const d = describe(profile);
  const lines = [
    `${profile.displayName} (${profile.name})`,
    `  token endpoint:          ${d.endpoints.token}`,
    ...(d.endpoints.authorization ? [`  authorization endpoint:  ${d.endpoints.authorization}`] : []),
    ...(d.endpoints.issuer ? [`  issuer (discovery):      ${d.endpoints.issuer}`] : []),
    ...d.placeholders.map(
      (p) =>
        `  ${p.option.padEnd(24)} ${p.description} (e.g. ${p.example}${p.default ? `; default ${p.default}` : ''})`,
    ),
    `  request:                 ${profile.dialect} body, ${profile.clientAuth}`,
    `  scope:                   ${scopeLine(profile)}`,
    ...(Object.keys(d.authorizationParams).length > 0
      ? [`  authorization params:    ${new URLSearchParams(d.authorizationParams).toString()}`]
      : []),
    `  access token:            ${formatSeconds(profile.accessTokenLifetimeSeconds)}${
      d.response.defaultExpiresInSeconds ? ' (no expires_in: assumed)' : ''
    }`,
    `  rotation:                ${profile.rotation.model}, reuse window ${reuseWindow(profile)}`,
    `  refresh token:           ${refreshLifetimes(profile)}`,
    `  errors:                  ${d.errors.in2xx ? 'inside 2xx bodies; ' : ''}code in ${d.errors.codeFields.join(
      ' or ',
    )}; dead-token codes ${Object.entries(profile.errors.codes)
      .filter(([, failure]) => failure === 'reauth_required')
      .map(([code]) => code)
      .join(', ')}`,
    '  quirks:',
    ...profile.quirks.map((quirk) => `    - ${quirk}`),
    '  sources:',
    ...profile.sources.map((source) => `    - ${source}`),
  ];
  return `${lines.join('\n')}\n`;
}

function scopeLine(profile: ProviderProfile): string {
  const parts = [
    profile.scope.default ? `default "${profile.scope.default}"` : undefined,
    profile.scope.offlineAccess
      ? `offline access "${profile.scope.offlineAccess}" (always added)`
      : undefined,
    profile.scope.required ? '--scope required' : undefined,
    `separator "${profile.scope.separator}"`,
    profile.scope.sendOnRefresh ? 'sent on refresh' : 'not sent on refresh',
  ];
  return parts.filter(Boolean).join(', ');
}

function placeholders(profile: ProviderProfile): string {
  return Object.entries(profile.params ?? {})
    .map(([param, spec]) => (spec.default ? `[--${param}=${spec.default}]` : `--${param}`))
    .join(' ');
}

function reuseWindow(profile: ProviderProfile): string {
  if (profile.rotation.model === 'static') return 'n/a (not replaced)';
  return profile.rotation.reuseWindowSeconds > 0
    ? formatSeconds(profile.rotation.reuseWindowSeconds)
    : 'none';
}

function refreshLifetimes(profile: ProviderProfile): string {
  const { idleLifetimeSeconds: idle, absoluteLifetimeSeconds: absolute } = profile.rotation;
  const parts = [
    idle ? `${formatSeconds(idle)} idle` : undefined,
    absolute ? `${formatSeconds(absolute)} absolute` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'no documented expiry';
}

/** `30m`, `8h`, `60d`, `5y`: a documented lifetime, rounded to its natural unit. */
export function formatSeconds(seconds: number): string {
  if (seconds >= 365 * 86_400 && seconds % (365 * 86_400) === 0) return `${seconds / (365 * 86_400)}y`;
  if (seconds >= 2 * 86_400) return `${Math.round(seconds / 86_400)}d`;
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  return formatDuration(seconds * 1000);
}
