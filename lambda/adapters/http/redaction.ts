import type { RefreshGrantRequest } from '../../core/ports.js';
import { canonicalPercentEscapes, secretForms } from '../secret-forms.js';
import { basicCredentials } from './grant-request.js';

/** Echoed runs of a secret at least this long are redacted even when the echo is partial. */
const PARTIAL_ECHO_MIN_CHARS = 12;
const REDACTED = '[redacted]';
/** Stands for a redaction while redacting, so short secrets cannot match inside `[redacted]`. */
const MARK = '\uE000';

/**
 * The values a provider must never get to echo back through us (the refresh token and
 * the client secret), in every form the request carried them and every encoding an echo
 * may use (`secret-forms.ts`: percent-escapes of any case, base64 at any alignment),
 * longest first.
 */
export function echoableSecrets(
  request: Pick<RefreshGrantRequest, 'credentials' | 'refreshToken'>,
  /** Further one-time secrets the request carried (an authorization code, a PKCE verifier). */
  extra: readonly string[] = [],
): string[] {
  const { clientId, clientSecret } = request.credentials;
  const raw = [request.refreshToken, ...extra, clientSecret, `${clientId}:${clientSecret}`];
  const forms = raw.flatMap((s) => secretForms(s));
  forms.push(basicCredentials(clientId, clientSecret));
  // Longest first, so a pair is redacted whole before its secret part is.
  return [...new Set(forms.filter((s) => s !== ''))].sort((a, b) => b.length - a.length);
}

/**
 * Makes provider text safe to log: removes every echo of `secrets` (also partial ones)
 * and control characters, and caps the length (counted in code points).
 */
export function sanitizeProviderText(text: string, secrets: readonly string[], maxChars: number): string {
  // Bound the work; a cut secret at the end is still caught as a partial echo. Percent-escapes
  // are compared upper-cased, as the secrets' encoded forms are (`%2f` is `%2F`).
  let out = canonicalPercentEscapes(text.slice(0, 4 * maxChars + 4096));
  const redact = () => {
    for (const secret of secrets) out = out.split(secret).join(MARK);
    for (const secret of secrets) out = redactPartialEchoes(out, secret);
  };
  // Twice: before stripping control characters, which secrets may contain, and after,
  // since turning them into spaces can restore an altered echo to the secret itself.
  redact();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  out = out.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  redact();
  out = out.replace(/\uE000+/g, REDACTED);
  const chars = Array.from(out.trim());
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : chars.join('');
}

/** Replaces every run of `text` covered by a `PARTIAL_ECHO_MIN_CHARS`-long piece of `secret`. */
function redactPartialEchoes(text: string, secret: string): string {
  const k = PARTIAL_ECHO_MIN_CHARS;
  if (secret.length < k || text.length < k) return text;
  const pieces = new Set<string>();
  for (let i = 0; i + k <= secret.length; i++) pieces.add(secret.slice(i, i + k));
  const covered = new Array<boolean>(text.length).fill(false);
  for (let i = 0; i + k <= text.length; i++) {
    if (pieces.has(text.slice(i, i + k))) covered.fill(true, i, i + k);
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) out += text[i];
    else if (i === 0 || !covered[i - 1]) out += MARK;
  }
  return out;
}
