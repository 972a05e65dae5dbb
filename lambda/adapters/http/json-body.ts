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
