import { SERVICE_NAME } from '../contract/names.js';
import type { Logger } from '../core/ports.js';
import { JsonLogger, type LogSink } from './json-logger.js';
import { canonicalPercentEscapes, secretForms } from './secret-forms.js';

/** Values shorter than this are not scrubbed (they would match ordinary words). */
const MIN_SECRET_LENGTH = 8;
const REDACTED = '[REDACTED]';

/**
 * Structured JSON logs (`json-logger.ts`), with a second line of defence: every
 * token and client secret the engine handles is registered, and any occurrence of one in
 * a message or field (an error echoing a request, say) is replaced before it is written —
 * also encoded: form- or URI-encoded with percent-escapes of any case, JSON-escaped, or
 * base64 / base64url at any alignment (`secret-forms.ts`).
 */
export class StructuredLogger implements Logger {
  /**
   * Every form of every registered secret, by its first `MIN_SECRET_LENGTH` characters, so
   * a line is scrubbed in one pass whatever the number of secrets (runs register thousands).
   */
  private readonly forms = new Map<string, string[]>();

  constructor(private readonly logger: LogSink = new JsonLogger({ serviceName: SERVICE_NAME })) {}

  registerSecret(value: string): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    for (const form of secretForms(value)) {
      if (form.length < MIN_SECRET_LENGTH) continue;
      const key = form.slice(0, MIN_SECRET_LENGTH);
      const bucket = this.forms.get(key);
      if (!bucket) this.forms.set(key, [form]);
      else if (!bucket.includes(form)) {
        bucket.push(form);
        bucket.sort((a, b) => b.length - a.length);
      }
    }
  }

  /** Forgets registered secrets (called per invocation so the set stays bounded). */
  forgetSecrets(): void {
    this.forms.clear();
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.logger.debug(this.scrub(message), this.scrubFields(fields));
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.logger.info(this.scrub(message), this.scrubFields(fields));
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.logger.warn(this.scrub(message), this.scrubFields(fields));
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.logger.error(this.scrub(message), this.scrubFields(fields));
  }

  private scrubFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
    return (fields ? this.scrubValue(fields) : {}) as Record<string, unknown>;
  }

  private scrubValue(value: unknown): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value instanceof Error) return this.scrub(`${value.name}: ${value.message}`);
    if (Array.isArray(value)) return value.map((item) => this.scrubValue(item));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.scrubValue(item)]));
    }
    return value;
  }

  /** Replaces every occurrence of a registered form, leftmost and longest first. */
  private scrub(text: string): string {
    if (this.forms.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    // Escapes are compared upper-cased, as the forms are; the text keeps its meaning.
    const canonical = canonicalPercentEscapes(text);
    let result = '';
    let redacted = false;
    for (let i = 0; i < canonical.length; ) {
      const form = this.forms
        .get(canonical.slice(i, i + MIN_SECRET_LENGTH))
        ?.find((candidate) => canonical.startsWith(candidate, i));
      if (form) {
        result += REDACTED;
        redacted = true;
        i += form.length;
      } else {
        result += canonical[i];
        i += 1;
      }
    }
    return redacted ? result : text;
  }
}
