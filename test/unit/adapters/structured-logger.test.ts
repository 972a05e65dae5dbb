import { describe, expect, it } from 'vitest';
import { JsonLogger } from '../../../lambda/adapters/json-logger.js';
import { StructuredLogger } from '../../../lambda/adapters/structured-logger.js';
import { captureOutput } from '../../support/output-capture.js';

describe('StructuredLogger', () => {
  it('writes structured JSON and scrubs registered secrets from messages and nested fields', async () => {
    const output = captureOutput();
    const logger = new StructuredLogger(new JsonLogger({ serviceName: 'test', logLevel: 'DEBUG' }));
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

  it('scrubs encoded echoes too: lower-case percent-escapes, base64 and base64url at any alignment', async () => {
    const output = captureOutput();
    const logger = new StructuredLogger(new JsonLogger({ serviceName: 'test' }));
    const secret = 's3cr:t/+&=% ü-0123456789';
    logger.registerSecret(secret);
    const lower = (text: string) => text.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase());
    const echoes = [
      lower(encodeURIComponent(secret)),
      lower(new URLSearchParams([['', secret]]).toString().slice(1)),
      Buffer.from(secret).toString('base64'),
      Buffer.from(`a${secret}`).toString('base64'),
      Buffer.from(`ab${secret}`).toString('base64url'),
      Buffer.from(`client_secret=${secret}&x=1`).toString('base64'),
    ];
    await output.during(async () => {
      logger.error('request failed', { echoes, detail: `body ${echoes[5]} rejected` });
    });
    const text = output.text();
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain(echoes[0]!.slice(0, 12));
    expect(text).not.toContain(echoes[1]!.slice(0, 12));
    // Whatever surrounds it, the secret's own base64 characters at each alignment are gone.
    for (const offset of [0, 1, 2]) {
      const encoded = Buffer.from(`${'.'.repeat(offset)}${secret}`).toString('base64');
      expect(text).not.toContain(encoded.slice(4, 20));
    }
  });

  it('does not scrub short values that would match ordinary words', async () => {
    const output = captureOutput();
    const logger = new StructuredLogger(new JsonLogger({ serviceName: 'test' }));
    logger.registerSecret('abc');
    await output.during(async () => logger.info('abc is fine'));
    expect(output.text()).toContain('abc is fine');
  });

  it('forgets secrets between invocations so the set stays bounded', async () => {
    const output = captureOutput();
    const logger = new StructuredLogger(new JsonLogger({ serviceName: 'test' }));
    logger.registerSecret('long-secret-value-1');
    logger.forgetSecrets();
    await output.during(async () => logger.info('long-secret-value-1'));
    expect(output.text()).toContain('long-secret-value-1');
  });
});
