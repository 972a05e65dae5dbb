import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from '../contract/names.js';
import type { Logger } from '../core/ports.js';

/** Values shorter than this are not scrubbed (they would match ordinary words). */
const MIN_SECRET_LENGTH = 8;
const REDACTED = '[REDACTED]';

/**
 * Structured JSON logs through Powertools Logger, with a second line of defence: every
 * token and client secret the engine handles is registered, and any occurrence of one in
 * a message or field (an error echoing a request, say) is replaced before it is written.
 */
export class StructuredLogger implements Logger {
  private readonly secrets = new Set<string>();

  constructor(
    private readonly logger: PowertoolsLogger = new PowertoolsLogger({ serviceName: SERVICE_NAME }),
  ) {}

  registerSecret(value: string): void {
    if (value && value.length >= MIN_SECRET_LENGTH) this.secrets.add(value);
  }

  /** Forgets registered secrets (called per invocation so the set stays bounded). */
  forgetSecrets(): void {
    this.secrets.clear();
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

  private scrub(text: string): string {
    let result = text;
    for (const secret of this.secrets) {
      if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    }
    return result;
  }
}
