import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JsonLogger, type JsonLoggerOptions } from '../../../lambda/adapters/json-logger.js';
import { StructuredLogger } from '../../../lambda/adapters/structured-logger.js';
import { captureOutput } from '../../support/output-capture.js';

/**
 * The log lines Powertools Logger wrote, and the settings it read (@aws-lambda-powertools/logger
 * 2.36, which these lines replace; its output was compared line by line before it was removed).
 */

const SETTINGS = [
  'AWS_LAMBDA_LOG_LEVEL',
  'POWERTOOLS_LOG_LEVEL',
  'LOG_LEVEL',
  'POWERTOOLS_LOGGER_SAMPLE_RATE',
  'POWERTOOLS_DEV',
  '_X_AMZN_TRACE_ID',
];

beforeEach(() => {
  for (const name of SETTINGS) vi.stubEnv(name, undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Each level once through a new logger (made under the current environment); the lines written. */
async function logEachLevel(options: Partial<JsonLoggerOptions> = {}) {
  const output = captureOutput();
  await output.during(async () => {
    const logger = new JsonLogger({ serviceName: 'svc', ...options });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
  });
  return output;
}

const levels = (lines: Record<string, unknown>[]) => lines.map((line) => line.level);

describe('JsonLogger', () => {
  it("writes one compact JSON line a record in Powertools' key order: DEBUG and INFO to stdout, WARN and ERROR to stderr", async () => {
    const output = captureOutput();
    await output.during(async () => {
      const logger = new JsonLogger({ serviceName: 'svc', logLevel: 'DEBUG' });
      logger.debug('d', { connection: 'c1', attempt: 2 });
      logger.info('i');
      logger.warn('w', { nested: { list: [1, 'x'] } });
      logger.error('e');
    });
    expect(output.text('stdout')).toMatch(/^\{"level":"DEBUG",[^\n]*\}\n\{"level":"INFO",[^\n]*\}\n$/);
    expect(output.text('stderr')).toMatch(/^\{"level":"WARN",[^\n]*\}\n\{"level":"ERROR",[^\n]*\}\n$/);
    const [debug] = output.jsonLines('stdout');
    expect(Object.keys(debug!)).toEqual([
      'level',
      'message',
      'timestamp',
      'service',
      'sampling_rate',
      'connection',
      'attempt',
    ]);
    expect(debug).toMatchObject({
      message: 'd',
      service: 'svc',
      sampling_rate: 0,
      connection: 'c1',
      attempt: 2,
    });
    expect(debug!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(output.jsonLines('stderr')[0]).toMatchObject({ level: 'WARN', nested: { list: [1, 'x'] } });
  });

  it.each([
    [{}, {}, ['INFO', 'WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'DEBUG' }, {}, ['DEBUG', 'INFO', 'WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: ' debug ' }, {}, ['DEBUG', 'INFO', 'WARN', 'ERROR']],
    [{ LOG_LEVEL: 'WARN' }, {}, ['WARN', 'ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'ERROR', LOG_LEVEL: 'DEBUG' }, {}, ['ERROR']],
    [{ POWERTOOLS_LOG_LEVEL: 'SILENT' }, {}, []],
    [{ POWERTOOLS_LOG_LEVEL: 'ERROR' }, { logLevel: 'DEBUG' }, ['DEBUG', 'INFO', 'WARN', 'ERROR']],
    [
      { AWS_LAMBDA_LOG_LEVEL: 'WARN', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
      { logLevel: 'DEBUG' },
      ['WARN', 'ERROR'],
    ],
    [
      { AWS_LAMBDA_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOG_LEVEL: 'ERROR' },
      {},
      ['DEBUG', 'INFO', 'WARN', 'ERROR'],
    ],
    [{ AWS_LAMBDA_LOG_LEVEL: 'FATAL' }, {}, []],
  ])('level: environment %j and options %j write %j', async (env, options, written) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const output = await logEachLevel(options);
    expect(levels(output.jsonLines())).toEqual(written);
  });

  it('names the X-Ray trace: the Root of the runtime store’s header, else of _X_AMZN_TRACE_ID, else none', async () => {
    const traceOf = async () => {
      const output = captureOutput();
      await output.during(async () => new JsonLogger({ serviceName: 'svc' }).info('i'));
      return output.jsonLines()[0]!.xray_trace_id;
    };
    expect(await traceOf()).toBeUndefined();
    vi.stubEnv(
      '_X_AMZN_TRACE_ID',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    );
    expect(await traceOf()).toBe('1-5759e988-bd862e3fe1be46a994272793');
    vi.stubEnv('_X_AMZN_TRACE_ID', '1-plain');
    expect(await traceOf()).toBe('1-plain');
    const lambda = globalThis as { awslambda?: unknown };
    const saved = lambda.awslambda;
    lambda.awslambda = { InvokeStore: { getXRayTraceId: () => 'Root=1-from-store;Sampled=0' } };
    try {
      expect(await traceOf()).toBe('1-from-store');
    } finally {
      lambda.awslambda = saved;
    }
  });

  it('drops reserved field names with a warning, and top-level fields that are undefined, null or empty', async () => {
    const output = captureOutput();
    await output.during(async () =>
      new JsonLogger({ serviceName: 'svc' }).info('i', {
        level: 'x',
        service: 'other',
        undef: undefined,
        nul: null,
        empty: '',
        zero: 0,
        no: false,
        nested: { nul: null, empty: '' },
        big: 12n,
      }),
    );
    const lines = output.jsonLines();
    expect(lines.map((line) => line.message)).toEqual([
      'The key "level" is a reserved key and will be dropped.',
      'The key "service" is a reserved key and will be dropped.',
      'i',
    ]);
    const { timestamp: _, ...line } = lines[2]!;
    expect(line).toEqual({
      level: 'INFO',
      message: 'i',
      service: 'svc',
      sampling_rate: 0,
      zero: 0,
      no: false,
      nested: { nul: null, empty: '' },
      big: '12',
    });
  });

  it('POWERTOOLS_LOGGER_SAMPLE_RATE: written as sampling_rate; at 1 the level drops to DEBUG, unless Lambda sets the level', async () => {
    vi.stubEnv('POWERTOOLS_LOGGER_SAMPLE_RATE', '1');
    let lines = (await logEachLevel()).jsonLines();
    expect(levels(lines)).toEqual(['DEBUG', 'DEBUG', 'INFO', 'WARN', 'ERROR']);
    expect(lines[0]).toMatchObject({
      message: 'Setting log level to DEBUG due to sampling rate',
      sampling_rate: 1,
    });
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', 'INFO');
    lines = (await logEachLevel()).jsonLines();
    expect(levels(lines)).toEqual(['INFO', 'WARN', 'ERROR']);
    expect(lines[0]!.sampling_rate).toBe(1);
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', undefined);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'TRACE');
    lines = (await logEachLevel()).jsonLines();
    expect(lines.map((line) => line.message)).toEqual(['d', 'i', 'w', 'e']);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', undefined);
    vi.stubEnv('POWERTOOLS_LOGGER_SAMPLE_RATE', '2');
    lines = (await logEachLevel()).jsonLines();
    expect(levels(lines)).toEqual(['INFO', 'WARN', 'ERROR']);
    expect(lines[0]!.sampling_rate).toBe(0);
  });

  it('POWERTOOLS_LOGGER_SAMPLE_RATE: the level drops to DEBUG with that probability, never at 0', async () => {
    const draw = vi.spyOn(Math, 'random');
    try {
      const sampledLevels = async (rate: string, random: number) => {
        vi.stubEnv('POWERTOOLS_LOGGER_SAMPLE_RATE', rate);
        draw.mockReturnValue(random);
        return levels((await logEachLevel()).jsonLines());
      };
      expect(await sampledLevels('0.5', 0.49)).toEqual(['DEBUG', 'DEBUG', 'INFO', 'WARN', 'ERROR']);
      expect(await sampledLevels('0.5', 0.51)).toEqual(['INFO', 'WARN', 'ERROR']);
      expect(await sampledLevels('0', 0)).toEqual(['INFO', 'WARN', 'ERROR']);
    } finally {
      draw.mockRestore();
    }
  });

  it('POWERTOOLS_DEV: each record indented by 4, through the global console', async () => {
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    const methods = (['debug', 'info', 'warn', 'error'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(() => {}),
    );
    try {
      const output = await logEachLevel();
      expect(output.text()).toBe('');
      expect(methods.map((method) => method.mock.calls.length)).toEqual([0, 1, 1, 1]);
      expect(methods[1]!.mock.calls[0]![0]).toMatch(/^\{\n {4}"level": "INFO",\n {4}"message": "i",/);
    } finally {
      for (const method of methods) method.mockRestore();
    }
  });

  it('is the StructuredLogger’s default: service token-refresher, INFO', async () => {
    const output = captureOutput();
    await output.during(async () => {
      const logger = new StructuredLogger();
      logger.debug('d');
      logger.info('i');
    });
    expect(output.jsonLines()).toEqual([
      expect.objectContaining({ level: 'INFO', service: 'token-refresher' }),
    ]);
  });
});
