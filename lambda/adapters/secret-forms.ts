import { formEncode } from './http/grant-request.js';

/**
 * The forms in which a secret can come back to us — echoed by a provider in an error, or
 * quoted by an SDK error in a log line — for redaction (`http/redaction.ts`) and the
 * logger's scrubbing (`structured-logger.ts`):
 *
 * - as is, form-encoded, URI-encoded and JSON-escaped;
 * - percent-escapes in any case: matching runs on text whose escapes were upper-cased
 *   ({@link canonicalPercentEscapes}), and these forms are upper-case;
 * - base64 and base64url of each of those, at every byte alignment: the secret inside a
 *   larger encoded value (a request body, a header) shows as the characters that only its
 *   own bytes determine, whatever came before or after it.
 */

/** Encoded forms shorter than this are left out: they would match ordinary text. */
const MIN_ENCODED_FORM_CHARS = 8;

/** Every form of `value`, longest first, without duplicates or empty strings. */
export function secretForms(value: string): string[] {
  if (value === '') return [];
  const texts = [value, formEncode(value), uriEncode(value)];
  const forms = [...texts, JSON.stringify(value).slice(1, -1)];
  for (const text of new Set(texts)) {
    for (const core of base64Cores(text)) {
      if (core.length >= MIN_ENCODED_FORM_CHARS) forms.push(core, toBase64Url(core));
    }
  }
  return [...new Set(forms.filter((form) => form !== ''))].sort((a, b) => b.length - a.length);
}

/** `text` with every percent-escape's hex digits upper-cased (`%2f` → `%2F`); same length. */
export function canonicalPercentEscapes(text: string): string {
  return text.replace(/%[0-9a-f]{2}/gi, (percent) => percent.toUpperCase());
}

/**
 * The base64 characters determined by `text`'s bytes alone, for each of the three
 * alignments it can have inside a longer byte string.
 */
function base64Cores(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    if (end > start) cores.push(encoded.slice(start, end));
  }
  return cores;
}

function toBase64Url(base64: string): string {
  return base64.replace(/\+/g, '-').replace(/\//g, '_');
}

/** `encodeURIComponent`, except that a lone surrogate (which makes it throw) leaves the value as is. */
function uriEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}
