import { type ConsoleMethod, isDevMode, writeJsonLine } from './json-lines.js';

/** Where log lines go, one method a level: what the StructuredLogger writes its scrubbed lines to. */
export type LogSink = Record<
  'debug' | 'info' | 'warn' | 'error',
  (message: string, fields?: Record<string, unknown>) => void
>;

/**
 * Powertools Logger's thresholds: a line is written when its level's number is at least the
 * logger's. The engine writes DEBUG to ERROR; the others are settings (SILENT: nothing).
 */
const THRESHOLDS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 };

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The line's own keys: a field by one of these names is dropped, with a warning. */
const RESERVED_KEYS = ['level', 'message', 'sampling_rate', 'service', 'timestamp'];

export interface JsonLoggerOptions {
  /** The `service` key of every line. */
  serviceName: string;
  /** The level below which nothing is written; see {@link JsonLogger} for what overrides it. */
  logLevel?: string;
}

/**
 * Structured JSON log lines in Powertools Logger's format, keys in its order: `level`,
 * `message`, `timestamp` (ISO 8601, UTC), `service`, `sampling_rate`, `xray_trace_id` (when
 * the invocation has one), then the fields; a top-level value that is undefined, null or an
 * empty string is left out. DEBUG and INFO go to stdout, WARN and ERROR to stderr; in
 * Powertools' dev mode (`POWERTOOLS_DEV`) a line is indented by 4, for reading.
 *
 * The level, as Powertools chose it: Lambda's advanced logging controls
 * (`AWS_LAMBDA_LOG_LEVEL`, FATAL read as CRITICAL) over the `logLevel` option, over
 * `POWERTOOLS_LOG_LEVEL` (or, when that is empty, `LOG_LEVEL`); INFO by default. Names are
 * read in any case. `POWERTOOLS_LOGGER_SAMPLE_RATE` (0 to 1) is written as `sampling_rate`
 * and, with that probability per logger, lowers the level to DEBUG.
 */
export class JsonLogger implements LogSink {
  private readonly threshold: number;
  private readonly samplingRate: number;

  constructor(private readonly options: JsonLoggerOptions) {
    const controls = threshold(process.env.AWS_LAMBDA_LOG_LEVEL);
    this.threshold =
      controls ??
      threshold(options.logLevel) ??
      threshold(process.env.POWERTOOLS_LOG_LEVEL?.trim() || process.env.LOG_LEVEL) ??
      THRESHOLDS.INFO;
    const rate = Number(process.env.POWERTOOLS_LOGGER_SAMPLE_RATE ?? 0);
    this.samplingRate = rate >= 0 && rate <= 1 ? rate : 0;
    const sampled = this.samplingRate > 0 && Math.floor(Math.random() * 100) / 100 <= this.samplingRate;
    if (sampled && controls === undefined && this.threshold > THRESHOLDS.TRACE) {
      this.threshold = THRESHOLDS.DEBUG;
      this.debug('Setting log level to DEBUG due to sampling rate');
    }
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write('DEBUG', message, fields);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.write('INFO', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('WARN', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.write('ERROR', message, fields);
  }

  private write(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    if (THRESHOLDS[level] < this.threshold) return;
    const line: Record<string, unknown> = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.options.serviceName,
      sampling_rate: this.samplingRate,
      xray_trace_id: xrayTraceId(),
    };
    for (const [key, value] of Object.entries(fields)) {
      if (RESERVED_KEYS.includes(key)) this.warn(`The key "${key}" is a reserved key and will be dropped.`);
      else line[key] = value;
    }
    for (const [key, value] of Object.entries(line)) {
      if (value === undefined || value === null || value === '') delete line[key];
    }
    writeJsonLine(line, level.toLowerCase() as ConsoleMethod, isDevMode() ? 4 : 0);
  }
}

/** A level name's threshold, or undefined for anything that names none. */
function threshold(name: string | undefined): number | undefined {
  const upper = name?.trim().toUpperCase();
  const level = upper === 'FATAL' ? 'CRITICAL' : upper;
  return level && Object.hasOwn(THRESHOLDS, level) ? THRESHOLDS[level as keyof typeof THRESHOLDS] : undefined;
}

interface LambdaGlobal {
  awslambda?: { InvokeStore?: { getXRayTraceId?(): string | undefined } };
}

/**
 * The invocation's X-Ray trace id (the `Root` of its trace header): from the Lambda
 * runtime's per-invocation store where there is one (concurrent invocations share the
 * environment), else from `_X_AMZN_TRACE_ID`.
 */
function xrayTraceId(): string | undefined {
  const header =
    (globalThis as LambdaGlobal).awslambda?.InvokeStore?.getXRayTraceId?.() ??
    process.env._X_AMZN_TRACE_ID?.trim();
  if (!header) return undefined;
  if (!header.includes('=')) return header;
  for (const field of header.split(';')) {
    const [key, value] = field.split('=');
    if (key === 'Root') return value;
  }
  return undefined;
}
