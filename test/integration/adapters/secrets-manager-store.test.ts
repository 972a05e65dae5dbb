import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../../lambda/adapters/secrets-manager-store.js';
import { HINT_TAG_KEY } from '../../../lambda/contract/names.js';
import {
  SecretNotFoundError,
  TokenRefresherError,
  VersionConflictError,
} from '../../../lambda/core/errors.js';
import type { SecretSummary } from '../../../lambda/core/ports.js';
import { createSecret, secretsManagerClient, uniqueName } from '../../support/aws-fixtures.js';

const client = secretsManagerClient();
const store = new SecretsManagerStore(client);

/** A 36-character ClientRequestToken (Secrets Manager wants 32-64). */
const requestToken = () => randomUUID();

async function collect(prefix: string): Promise<SecretSummary[]> {
  const out: SecretSummary[] = [];
  for await (const summary of store.list(prefix)) out.push(summary);
  return out;
}

async function stagesOf(secretId: string): Promise<Record<string, string[]>> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return described.VersionIdsToStages ?? {};
}

describe('SecretsManagerStore.list', () => {
  it('yields only secrets whose names start with the prefix, with current version, ignoring tags', async () => {
    const prefix = `${uniqueName('tr-list')}/`;
    const a = await createSecret(`${prefix}alpha`, '{"v":1}', { tags: { [HINT_TAG_KEY]: 'due=123' } });
    await createSecret(`${prefix}beta`, '{"v":1}', { tags: { other: 'x' } });
    // Not under the prefix: different case, the prefix in the middle, a sibling prefix.
    await createSecret(`${prefix.toUpperCase()}gamma`, '{}');
    await createSecret(`x-${prefix}delta`, '{}');
    await createSecret(`${prefix.slice(0, -1)}-sibling`, '{}');
    // Scheduled for deletion: skipped.
    await createSecret(`${prefix}deleted`, '{}');
    await client.send(new DeleteSecretCommand({ SecretId: `${prefix}deleted`, RecoveryWindowInDays: 7 }));

    // Rotate alpha so AWSCURRENT differs from the first version.
    const rotated = await store.putVersion(`${prefix}alpha`, '{"v":2}', requestToken());

    const listed = await collect(prefix);
    expect(listed.map((s) => s.name).sort()).toEqual([`${prefix}alpha`, `${prefix}beta`]);
    const alpha = listed.find((s) => s.name === `${prefix}alpha`);
    expect(alpha?.currentVersionId).toBe(rotated.versionId);
    expect(alpha?.currentVersionId).not.toBe(a.versionId);
    // A hint tag of an older release is ignored: hints are in the lease table now.
    expect(alpha).toEqual({ name: `${prefix}alpha`, currentVersionId: rotated.versionId });
    const beta = listed.find((s) => s.name === `${prefix}beta`);
    expect(beta?.currentVersionId).toMatch(/.+/);
  });

  it('follows NextToken across pages', async () => {
    const prefix = `${uniqueName('tr-page')}/`;
    const names = Array.from({ length: 130 }, (_, i) => `${prefix}c${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((name) => createSecret(name, '{}', { client })));
    }
    const listed = await collect(prefix);
    expect(listed.map((s) => s.name).sort()).toEqual(names);
  });
});

describe('SecretsManagerStore.getCurrent', () => {
  it('returns the AWSCURRENT value and version, also right after a put', async () => {
    const name = uniqueName('tr-get');
    const created = await createSecret(name, 'first');
    expect(await store.getCurrent(name)).toEqual({ versionId: created.versionId, value: 'first' });

    const token = requestToken();
    await store.putVersion(name, 'second', token);
    expect(await store.getCurrent(name)).toEqual({ versionId: token, value: 'second' });
    // Also by ARN.
    expect((await store.getCurrent(created.arn)).value).toBe('second');
  });

  it('throws SecretNotFoundError for a missing secret', async () => {
    const name = uniqueName('tr-missing');
    const error = await store.getCurrent(name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect((error as SecretNotFoundError).secretId).toBe(name);
  });

  it('refuses a binary-only secret with a clear error', async () => {
    const name = uniqueName('tr-binary');
    await client.send(new CreateSecretCommand({ Name: name, SecretBinary: Buffer.from([1, 2, 3, 4]) }));
    const error = await store.getCurrent(name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRefresherError);
    expect((error as Error).message).toMatch(/binary/);
    expect((error as Error).message).toContain(name);
  });
});

describe('SecretsManagerStore.putVersion', () => {
  it('makes the new version AWSCURRENT and the old one AWSPREVIOUS', async () => {
    const name = uniqueName('tr-put');
    const created = await createSecret(name, 'v1');
    const token = requestToken();
    const { versionId } = await store.putVersion(name, 'v2', token);
    expect(versionId).toBe(token);
    const stages = await stagesOf(name);
    expect(stages[versionId]).toContain('AWSCURRENT');
    expect(stages[created.versionId]).toContain('AWSPREVIOUS');
    expect(stages[created.versionId]).not.toContain('AWSCURRENT');
    const raw = await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
    expect(raw.SecretString).toBe('v2');
  });

  it('is idempotent for the same token and value', async () => {
    const name = uniqueName('tr-idem');
    await createSecret(name, 'v1');
    const token = requestToken();
    const first = await store.putVersion(name, 'v2', token);
    const second = await store.putVersion(name, 'v2', token);
    expect(second.versionId).toBe(first.versionId);
    const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    expect(versions.Versions).toHaveLength(2);
    expect(await store.getCurrent(name)).toEqual({ versionId: token, value: 'v2' });
  });

  it('throws VersionConflictError when the token was used for another value, changing nothing', async () => {
    const name = uniqueName('tr-conflict');
    await createSecret(name, 'v1');
    const token = requestToken();
    await store.putVersion(name, 'winner-value', token);
    const error = await store.putVersion(name, 'loser-value', token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect((error as Error).message).not.toContain('loser-value');
    expect((error as Error).message).not.toContain('winner-value');
    expect(await store.getCurrent(name)).toEqual({ versionId: token, value: 'winner-value' });
  });

  it('throws SecretNotFoundError for a missing secret', async () => {
    const error = await store.putVersion(uniqueName('tr-nope'), 'v', requestToken()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretNotFoundError);
  });
});

describe('SecretsManagerStore.list against looser service filtering', () => {
  // Real Secrets Manager matches the name filter case-insensitively and lists secrets
  // scheduled for deletion when asked to; moto does neither, so this one case uses a
  // scripted client to check the adapter's own filtering.
  it('filters by exact prefix and skips secrets scheduled for deletion', async () => {
    const sent: unknown[] = [];
    const pages = [
      {
        SecretList: [
          { Name: 'conn/a', SecretVersionsToStages: { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] } },
          { Name: 'CONN/b', SecretVersionsToStages: { v3: ['AWSCURRENT'] } },
          { Name: 'conn/deleted', DeletedDate: new Date(), SecretVersionsToStages: { v4: ['AWSCURRENT'] } },
        ],
        NextToken: 'page-2',
      },
      { SecretList: [{ Name: 'conn/c', Tags: [{ Key: HINT_TAG_KEY, Value: 'h' }] }] },
    ];
    const fake = {
      send: async (command: { input: unknown }) => {
        sent.push(command.input);
        return pages[sent.length - 1];
      },
    } as unknown as ConstructorParameters<typeof SecretsManagerStore>[0];
    const listed: SecretSummary[] = [];
    for await (const summary of new SecretsManagerStore(fake).list('conn/')) listed.push(summary);
    expect(listed).toEqual([{ name: 'conn/a', currentVersionId: 'v2' }, { name: 'conn/c' }]);
    expect(sent).toEqual([
      { MaxResults: 100, NextToken: undefined, Filters: [{ Key: 'name', Values: ['conn/'] }] },
      { MaxResults: 100, NextToken: 'page-2', Filters: [{ Key: 'name', Values: ['conn/'] }] },
    ]);
  });
});
