import { describeError } from '../lambda/core/errors.js';

/**
 * A failure the CLI reports as one line on stderr, with a non-zero exit. Messages name
 * connections, stacks, options and AWS error codes; never a token or secret value.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
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
    );
  }
  if (/Region is missing/i.test(message))
    return new CliError('no AWS region: set AWS_REGION or pass --region');
  if (typeof name === 'string' && BAD_CREDENTIALS.has(name)) {
    return new CliError(`AWS rejected the credentials (${name}): refresh them (aws sso login) and try again`);
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new CliError(`access denied: ${message}`);
  }
  if (
    typeof name === 'string' &&
    /ECONNREFUSED|ENOTFOUND|fetch failed/i.test(`${message} ${causeText(error)}`)
  ) {
    return new CliError(`AWS could not be reached (${firstLine(causeText(error) || message)})`);
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
