/** The media type essence of the response, lower-cased, when it is a plausible `type/subtype`. */
export function mediaType(response: Response): string | undefined {
  const essence = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(essence) ? essence : undefined;
}

export type JsonObjectParse =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; code: 'invalid_json' | 'not_an_object'; reason: string };

/**
 * Parses strict UTF-8 JSON that must be an object. The reason never carries the parser's
 * message: it quotes the body, which may hold tokens.
 */
export function parseJsonObject(bytes: Uint8Array): JsonObjectParse {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, code: 'invalid_json', reason: 'response body is not valid JSON' };
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? { ok: true, value: value as Record<string, unknown> }
    : { ok: false, code: 'not_an_object', reason: 'response body is not a JSON object' };
}

/** `application/x-www-form-urlencoded`: GitHub's token endpoint answers in it by default. */
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** JSON media types: `application/json` and any `+json` type. */
export function isJsonMediaType(type: string | undefined): boolean {
  return type === 'application/json' || (type?.endsWith('+json') ?? false);
}

/**
 * A form-encoded body (strict UTF-8) as an object of its first value per name. Not an
 * object when it holds no name=value pair at all.
 */
export function parseFormObject(bytes: Uint8Array): JsonObjectParse {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, code: 'invalid_json', reason: 'form-encoded response body is not valid UTF-8' };
  }
  const fields = new Map<string, string>();
  for (const [name, field] of new URLSearchParams(text.trim())) {
    if (!fields.has(name)) fields.set(name, field);
  }
  // fromEntries defines own properties: a `__proto__` field cannot reach the prototype.
  const value: Record<string, unknown> = Object.fromEntries(fields);
  return fields.size > 0 && text.includes('=')
    ? { ok: true, value }
    : { ok: false, code: 'not_an_object', reason: 'form-encoded response body has no fields' };
}
