import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { StructuredLogger } from '../../../lambda/adapters/structured-logger.js';
import { captureOutput } from '../../support/output-capture.js';

describe('StructuredLogger', () => {
  it('writes structured JSON and scrubs registered secrets from messages and nested fields', async () => {
    const output = captureOutput();
    const logger = new StructuredLogger(new PowertoolsLogger({ serviceName: 'test', logLevel: 'DEBUG' }));
    const token = 'rt-9f8e7d6c5b4a3210';
    logger.registerSecret(token);
    await output.during(async () => {
      logger.error(`provider said: token ${token} is invalid`, {
        connection: 'c1',
        nested: { list: [`x${token}y`], error: new Error(`boom ${token}`) },
      });
    });
    const [line] = output.jsonLines();
    expect(line).toMatchObject({ level: 'ERROR', connection: 'c1', service: 'test' });
    expect(output.text()).not.toContain(token);
    expect(output.text()).toContain('[REDACTED]');
  });

  it('does not scrub short values that would match ordinary words', async () => {
    const output = captureOutput();
    const logger = new StructuredLogger(new PowertoolsLogger({ serviceName: 'test' }));
    logger.registerSecret('abc');
    await output.during(async () => logger.info('abc is fine'));
    expect(output.text()).toContain('abc is fine');
  });

  it('forgets secrets between invocations so the set stays bounded', async () => {
    const output = captureOutput();
    const logger = new StructuredLogger(new PowertoolsLogger({ serviceName: 'test' }));
    logger.registerSecret('long-secret-value-1');
    logger.forgetSecrets();
    await output.during(async () => logger.info('long-secret-value-1'));
    expect(output.text()).toContain('long-secret-value-1');
  });
});
