import { InvalidConnectionRecordError } from './errors.js';

/**
 * The part of a connection record (docs/connection-record.md) a consumer reads. Parsed by
 * hand rather than with the refresher's zod schema, to keep the library's import light.
 */
export interface ConsumerView {
  status: 'active' | 'reauth_required' | 'disabled';
  accessToken?: string;
  tokenType: string;
  /** Epoch ms; undefined when the record holds no access token. */
  expiresAt?: number;
  lastErrorMessage?: string;
}

const STATUSES = new Set(['active', 'reauth_required', 'disabled']);

export function readConsumerView(connection: string, raw: string): ConsumerView {
  let json: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    json = parsed as Record<string, unknown>;
  } catch {
    throw new InvalidConnectionRecordError(connection, 'the secret value is not a JSON object');
  }
  // Version 2 only added fields; a consumer reads both.
  if (json.schemaVersion !== 1 && json.schemaVersion !== 2) {
    throw new InvalidConnectionRecordError(
      connection,
      `unsupported schemaVersion ${JSON.stringify(json.schemaVersion ?? null)}`,
    );
  }
  if (typeof json.status !== 'string' || !STATUSES.has(json.status)) {
    throw new InvalidConnectionRecordError(connection, 'status is missing or unknown');
  }
  const accessToken =
    typeof json.accessToken === 'string' && json.accessToken.length > 0 ? json.accessToken : undefined;
  const expiresAt = typeof json.expiresAt === 'string' ? Date.parse(json.expiresAt) : Number.NaN;
  if (accessToken && Number.isNaN(expiresAt)) {
    throw new InvalidConnectionRecordError(connection, 'expiresAt is missing or not a date');
  }
  const lastError = json.lastError as { message?: unknown } | null | undefined;
  return {
    status: json.status as ConsumerView['status'],
    accessToken,
    tokenType: typeof json.tokenType === 'string' ? json.tokenType : 'Bearer',
    expiresAt: accessToken ? expiresAt : undefined,
    lastErrorMessage: typeof lastError?.message === 'string' ? lastError.message : undefined,
  };
}
