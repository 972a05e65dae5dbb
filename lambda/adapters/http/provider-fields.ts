/**
 * The response fields a provider behaviour keeps for consumers (`keepFields`, e.g.
 * Salesforce's `instance_url`, `api_url`). They land in the consumer-readable record, so a
 * profile's word that a field is harmless is not enough: a field is kept only when its
 * name does not say secret and its value does not look like a credential.
 */

/** Longest value kept (URLs and ids are short; anything longer is not what a consumer needs). */
const MAX_VALUE_CHARS = 512;
/** Names that say the value is a credential, whatever the profile says. */
const SECRET_NAME = /token|secret|password|passwd|signature|assertion|credential|api_?key|private|code/i;
/** A JWT or JWS: three base64url segments. */
const JWT = /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;
/** A long opaque string (base64, hex, random): how tokens and secrets look. URLs have a ':' and pass. */
const OPAQUE = /^[A-Za-z0-9+/=_\-.~]{32,}$/;
/** A URL or text that carries a credential in a parameter. */
const CREDENTIAL_PARAMETER =
  /(?:^|[?&#;\s])(?:access_token|refresh_token|id_token|token|code|key|api_key|secret|client_secret|signature|sig|password)=/i;
/** Printable text only. */
const PRINTABLE = /^[\x20-\x7e\u00a0-\uffff]*$/u;

/**
 * The `names` of `json` whose values pass the guard, as strings (numbers and booleans are
 * kept as their text); undefined when none does. Every token-like string of the response
 * (`access_token`, `refresh_token`, `id_token`) is refused wherever it appears.
 */
export function keptProviderFields(
  json: Record<string, unknown>,
  names: readonly string[],
): Record<string, string> | undefined {
  const responseSecrets = ['access_token', 'refresh_token', 'id_token']
    .map((name) => json[name])
    .filter((value): value is string => typeof value === 'string' && value.length >= 8);
  const kept: Record<string, string> = {};
  for (const name of names) {
    if (!Object.hasOwn(json, name)) continue;
    const value = fieldText(json[name]);
    if (value === undefined || !safeProviderField(name, value, responseSecrets)) continue;
    kept[name] = value;
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** Whether a field may be kept in the consumer-readable record. Exported for the tests. */
export function safeProviderField(name: string, value: string, secrets: readonly string[]): boolean {
  if (SECRET_NAME.test(name)) return false;
  if (value.length > MAX_VALUE_CHARS || !PRINTABLE.test(value)) return false;
  if (JWT.test(value) || OPAQUE.test(value) || CREDENTIAL_PARAMETER.test(value)) return false;
  return !secrets.some((secret) => value.includes(secret) || (value.length >= 12 && secret.includes(value)));
}

function fieldText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}
