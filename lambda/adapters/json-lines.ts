/**
 * One JSON document a line on the process's output, where Powertools for AWS Lambda wrote its
 * logs and EMF metrics (in Lambda, stdout and stderr both go to CloudWatch Logs): compact,
 * written as `console[method]` would, so warnings and errors go to stderr and the rest to
 * stdout. In Powertools' dev mode (`POWERTOOLS_DEV`) a line goes through the global console,
 * which a test runner shows.
 */

/** The console method Powertools called for a line. */
export type ConsoleMethod = 'log' | 'debug' | 'info' | 'warn' | 'error';

const TRUE_WORDS = ['1', 'y', 'yes', 't', 'true', 'on'];

/**
 * A boolean environment variable as Powertools reads one: `1`, `y`, `yes`, `t`, `true` or
 * `on` in any case is true, anything else false; undefined when the variable is not set.
 */
export function envFlag(name: string): boolean | undefined {
  const value = process.env[name];
  return value === undefined ? undefined : TRUE_WORDS.includes(value.trim().toLowerCase());
}

/** Powertools' dev mode: `POWERTOOLS_DEV` set to a true word. */
export function isDevMode(): boolean {
  return envFlag('POWERTOOLS_DEV') === true;
}

/** Writes `document` as JSON; `indent` spaces a level make it several lines (dev mode logs). */
export function writeJsonLine(document: object, method: ConsoleMethod = 'log', indent = 0): void {
  const text = JSON.stringify(document, jsonValue, indent);
  if (isDevMode()) {
    // biome-ignore lint/suspicious/noConsole: dev mode writes through the global console, as Powertools did.
    console[method](text);
    return;
  }
  const stream = method === 'warn' || method === 'error' ? process.stderr : process.stdout;
  stream.write(`${text}\n`);
}

/** A bigint, which `JSON.stringify` refuses, as its decimal digits (as Powertools wrote it). */
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
