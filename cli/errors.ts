import { describeError } from '../lambda/core/errors.js';

/**
 * The CLI's exit codes: stable, documented in README (Operator CLI, exit codes). The key is
 * also the `code` of the JSON error `--json` writes on stderr.
 */
export const EXIT = {
  /** Done (a refresh declined because none is needed is done too). */
  ok: 0,
  /** The action failed: the provider, AWS or the refresher said no, or something broke. */
  failed: 1,
  /** The command line is wrong: an unknown command or option, a bad value. */
  usage: 2,
  /** No such connection, stack or profile. */
  not_found: 3,
  /** A guard or the connection's state refuses it now: the message names the guard, when it lifts and the override. */
  refused: 4,
  /** Done in part, the rest follows by itself: e.g. an imported token stored, its validation pending. */
  pending: 5,
  /** Not confirmed: the question was answered no, or could not be asked (pass --yes). */
  not_confirmed: 6,
  /** No AWS region, credentials or endpoint to reach. */
  environment: 7,
} as const;

export type ErrorCode = Exclude<keyof typeof EXIT, 'ok'>;

/**
 * A failure the CLI reports as one line on stderr (a JSON document with `--json`), with a
 * non-zero exit. Messages name connections, stacks, options and AWS error codes; never a
 * token or secret value. `details` are extra fields of the JSON error (a guard, when it lifts).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode = 'failed',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }

  get exitCode(): number {
    return EXIT[this.code];
  }

  /** The JSON error document `--json` writes on stderr. */
  toJSON(): { error: { code: ErrorCode; exitCode: number; message: string } & Record<string, unknown> } {
    return { error: { code: this.code, exitCode: this.exitCode, message: this.message, ...this.details } };
  }
}

/** AWS error names that mean the credentials are missing, invalid or expired. */
const BAD_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
]);

/** Turns anything thrown into one line: known AWS and SDK failures get an explanation. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const name = (error as { name?: unknown })?.name;
  const message = firstLine(error instanceof Error ? error.message : String(error));
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new CliError(
      'no AWS credentials found: set AWS_PROFILE (or pass --profile), export AWS_ACCESS_KEY_ID and ' +
        'AWS_SECRET_ACCESS_KEY, or run aws sso login',
      'environment',
    );
  }
  if (/Region is missing/i.test(message))
    return new CliError('no AWS region: set AWS_REGION or pass --region', 'environment');
  if (typeof name === 'string' && BAD_CREDENTIALS.has(name)) {
    return new CliError(
      `AWS rejected the credentials (${name}): refresh them (aws sso login) and try again`,
      'environment',
    );
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new CliError(`access denied: ${message}`);
  }
  if (
    typeof name === 'string' &&
    /ECONNREFUSED|ENOTFOUND|fetch failed/i.test(`${message} ${causeText(error)}`)
  ) {
    return new CliError(
      `AWS could not be reached (${firstLine(causeText(error) || message)})`,
      'environment',
    );
  }
  return new CliError(firstLine(describeError(error)));
}

function causeText(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : '';
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}
