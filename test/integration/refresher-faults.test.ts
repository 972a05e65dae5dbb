import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import {
  GetSecretValueCommand,
  InternalServiceError,
  LimitExceededException,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLeaseStore } from '../../lambda/adapters/dynamodb-lease-store.js';
import { systemClock } from '../../lambda/adapters/system-clock.js';
import type { Clock, LeaseState, Metrics } from '../../lambda/core/ports.js';
import { REAUTH_REPORTED, REAUTH_REPORTED_LATE } from '../../lambda/core/reauth-report.js';
import {
  type ConnectionRecord,
  parseRecord,
  refreshTokenContext,
  rescueAccessTokenContext,
} from '../../lambda/core/record.js';
import type { RunSummary } from '../../lambda/core/run-refresh.js';
import { setConnectionStatus } from '../../lambda/core/set-connection-status.js';
import { clientRequestTokenFor } from '../../lambda/core/write-protocol.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * Faults no real peer produces on demand, injected with aws-sdk-client-mock on the very
 * client instances the harness's adapters use, on top of the real peers (moto and
 * oidc-provider). Every command a rule does not fault is passed through to moto.
 */

type Command = { input: Record<string, unknown>; constructor: { name: string } };
/** Returns a promise to fault the command, or undefined to pass it through to moto. */
type Rule = (command: Command, callThrough: () => Promise<unknown>) => Promise<unknown> | undefined;
// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stub type is generic over any client.
type AnyStub = AwsStub<any, any, any>;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T | PromiseLike<T>): void;
  reject(error: unknown): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (value) => {
      d.settled = true;
      resolve(value);
    },
    reject: (error) => {
      d.settled = true;
      reject(error);
    },
  };
  return d;
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'server', $metadata: { httpStatusCode: 400 } });
}

/** A clock whose sleeps take no real time: long commit-retry loops finish in milliseconds. */
function fastClock(): Clock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: async (ms) => {
      offset += Math.max(ms, 1);
      await yieldToEventLoop();
    },
  };
}

/** A clock past any lease a previous invocation (of at most a minute) can have taken. */
const laterClock: Clock = { now: () => Date.now() + 5 * 60_000, sleep: systemClock.sleep };

describe('refresher under injected AWS faults (aws-sdk-client-mock over moto + oidc-provider)', () => {
  let auth: AuthServer;
  const stubs: AnyStub[] = [];
  const hangs: Deferred<unknown>[] = [];
  const zombies: Promise<unknown>[] = [];
  let presentedAtStart = 0;

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
  });

  afterEach(async () => {
    for (const stub of stubs.splice(0)) stub.restore();
    // A process that "died" never resumes; here the abandoned invocation is ended and awaited.
    for (const hang of hangs.splice(0)) if (!hang.settled) hang.reject(awsError('ProcessKilled', 'killed'));
    const pending = zombies.splice(0);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(pending),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 10_000);
      }),
    ]);
    clearTimeout(timer);
  });

  afterAll(async () => {
    await auth?.stop();
  });

  async function harness(): Promise<RefresherHarness> {
    presentedAtStart = auth.presentedRefreshTokens().length;
    return new RefresherHarness(auth).setUp();
  }

  /** Faults `client.send` by `rule`; every other command reaches moto through the original `send`. */
  function intercept(client: { send: (...args: never[]) => Promise<unknown> }, rule: Rule): AnyStub {
    const original = (client.send as (command: Command) => Promise<unknown>).bind(client);
    // biome-ignore lint/suspicious/noExplicitAny: see AnyStub.
    const stub = mockClient(client as any) as AnyStub;
    // The sinon stub itself: AwsStub#callsFake would hand the rule the input, not the command.
    stub.send.callsFake((command: Command) => rule(command, () => original(command)) ?? original(command));
    stubs.push(stub);
    return stub;
  }

  /** A promise that never settles on its own (a process frozen mid-call); ended in afterEach. */
  function hang(): Deferred<unknown> {
    const d = deferred<unknown>();
    d.promise.catch(() => undefined);
    hangs.push(d);
    return d;
  }

  /**
   * Freezes the first `Command` sent through `client` (a process dying mid-call); every later
   * command goes through. `thaw()` lets the frozen call reach moto after all, as a late write would.
   */
  function freezeFirst(
    client: { send: (...args: never[]) => Promise<unknown> },
    Command: new (...args: never[]) => object,
  ): { reached: Promise<void>; thaw: () => void } {
    const reachedCall = deferred<void>();
    const frozen = hang();
    let frozenCall: (() => Promise<unknown>) | undefined;
    intercept(client, (command, callThrough) => {
      if (frozenCall || !(command instanceof Command)) return undefined;
      frozenCall = callThrough;
      reachedCall.resolve();
      return frozen.promise;
    });
    return { reached: reachedCall.promise, thaw: () => frozen.resolve(frozenCall!()) };
  }

  /** Runs an invocation that is abandoned, as if its process died; awaited in afterEach. */
  function abandon(invocation: Promise<RunSummary>): Promise<RunSummary | undefined> {
    const settled = invocation.catch(() => undefined);
    zombies.push(settled);
    return settled;
  }

  /** Waits for an abandoned invocation to reach its fault; fails at once if it ended before. */
  function reached(fault: Promise<void>, invocation: Promise<RunSummary | undefined>): Promise<void> {
    return Promise.race([
      fault,
      invocation.then((summary) => {
        throw new Error(`the invocation ended before the fault: ${JSON.stringify(summary?.results)}`);
      }),
    ]);
  }

  function leases(h: RefresherHarness): DynamoDbLeaseStore {
    return new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
  }

  function presentationsOf(token: string) {
    return auth.presentedRefreshTokens().filter((p) => p.refreshToken === token);
  }

  /** What every test checks at its end: no reuse at the provider, no secret in any output. */
  function expectInvariants(h: RefresherHarness, allowedReuse: string[] = []) {
    const presentedHere = new Set(
      auth
        .presentedRefreshTokens()
        .slice(presentedAtStart)
        .map((p) => p.refreshToken),
    );
    const reused = auth
      .reusedRefreshTokens()
      .filter(
        (r) =>
          r.replayedAfterConsumption &&
          presentedHere.has(r.refreshToken) &&
          !allowedReuse.includes(r.refreshToken),
      );
    expect(reused.length, 'refresh tokens presented again after a successful answer').toBe(0);
    expect(h.leakedValues(), 'token or secret values in the output').toEqual([]);
  }

  /** The record a PutSecretValue call tried to write, with its tokens (recorded as sensitive). */
  async function attemptedRecord(
    h: RefresherHarness,
    name: string,
    command: Command,
  ): Promise<{ record: ConnectionRecord; refreshToken: string }> {
    const record = parseRecord(name, command.input.SecretString as string);
    const refreshToken = await h.keys.decrypt(record.refreshToken!, refreshTokenContext(h.prefix + name));
    h.sensitiveValues.add(refreshToken);
    if (record.accessToken) h.sensitiveValues.add(record.accessToken);
    return { record, refreshToken };
  }

  function putCalls(stub: AnyStub): Command[] {
    return stub.commandCalls(PutSecretValueCommand).map((call) => call.args[0] as unknown as Command);
  }

  /**
   * One run in which the provider rotates but Secrets Manager refuses every commit and
   * DynamoDB every rescue: the set survives only in the CRITICAL log line. Secrets Manager
   * stays refused (`sm`) until the caller restores it; returns the logged refresh token.
   */
  async function runWithCommitAndRescueFailing(h: RefresherHarness, name: string) {
    const sm = intercept(h.secretsManager, (command) =>
      command instanceof PutSecretValueCommand
        ? Promise.reject(awsError('ThrottlingException', 'x'))
        : undefined,
    );
    const ddb = intercept(h.dynamodb, (command) =>
      /SET #rescue\b/.test(String(command.input.UpdateExpression ?? ''))
        ? Promise.reject(awsError('ProvisionedThroughputExceededException', 'injected'))
        : undefined,
    );
    const clock = fastClock();
    await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
    ddb.restore();
    const entry = h.output
      .jsonLines()
      .find((line) => String(line.message).includes('could be neither committed nor stored'));
    const logged = (entry!.rescue as { refreshToken: { ciphertext: string; keyId: string } }).refreshToken;
    const loggedToken = await h.keys.decrypt(logged, refreshTokenContext(h.prefix + name));
    h.sensitiveValues.add(loggedToken);
    return { sm, clock, loggedToken };
  }

  /**
   * Serves the given version as AWSCURRENT of `name` for the next `times` reads (all, by
   * default), as a read right after a write may; every other call reaches moto.
   */
  function serveStale(
    h: RefresherHarness,
    name: string,
    stale: { versionId: string; record: ConnectionRecord },
    times = Number.POSITIVE_INFINITY,
  ): AnyStub {
    const secretName = h.prefix + name;
    let served = 0;
    return intercept(h.secretsManager, (command) => {
      if (!(command instanceof GetSecretValueCommand) || command.input.SecretId !== secretName)
        return undefined;
      if (served >= times) return undefined;
      served += 1;
      return Promise.resolve({
        Name: secretName,
        VersionId: stale.versionId,
        SecretString: JSON.stringify(stale.record),
      });
    });
  }

  it('commit fails after the provider rotated → rescue in the lease table → the next run restores it; nothing is lost', async () => {
    const h = await harness();
    const name = 'rescued';
    const secretName = h.prefix + name;
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_basic'),
    });
    const before = await h.current(name);

    const stub = intercept(h.secretsManager, (command) =>
      command instanceof PutSecretValueCommand
        ? Promise.reject(new InternalServiceError({ message: 'injected outage', $metadata: {} }))
        : undefined,
    );
    const clock = fastClock();
    const first = await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
    stub.restore();

    expect(first.results).toEqual([
      expect.objectContaining({ connection: name, status: 'failed', failureClass: 'commit_failed' }),
    ]);
    expect((first.results[0] as { message: string }).message).toMatch(/PutSecretValue.*InternalServiceError/);
    const attempts = putCalls(stub);
    expect(attempts.length).toBeGreaterThan(1); // retried within the budget before rescuing
    expect(new Set(attempts.map((c) => c.input.ClientRequestToken)).size).toBe(1);
    expect(new Set(attempts.map((c) => c.input.SecretString)).size).toBe(1);
    const attempted = await attemptedRecord(h, name, attempts[0]!);

    // The record is untouched; the provider did rotate: the stored token is spent.
    const untouched = await h.current(name);
    expect(untouched.versionId).toBe(before.versionId);
    expect(untouched.refreshToken).toBe(original);
    expect(await h.versionCount(name)).toBe(1);
    expect(presentationsOf(original)).toEqual([expect.objectContaining({ status: 200, forwarded: true })]);
    expect((await auth.introspect(original)).active).toBe(false);
    expect(h.metricTotal('CommitFailed')).toBe(1);
    expect(h.metricTotal('RescueStored')).toBe(1);
    expect(h.metricTotal('RefreshFailed', { FailureClass: 'commit_failed' })).toBe(1);

    // The rescue holds the issued token set as ciphertext: the live refresh token and its access token.
    const lease = (await leases(h).get(name)) as LeaseState;
    expect(lease.outcome).toBe('rescued');
    const rescue = lease.rescue!;
    expect(rescue).toBeDefined();
    expect(rescue.fromVersionId).toBe(before.versionId);
    expect(rescue.refreshToken.ciphertext).toBe(attempted.record.refreshToken!.ciphertext);
    const rescuedToken = await h.keys.decrypt(rescue.refreshToken, refreshTokenContext(secretName));
    expect(rescuedToken).toBe(attempted.refreshToken);
    expect(rescuedToken).not.toBe(original);
    expect(JSON.stringify(lease)).not.toContain(rescuedToken);
    expect(await h.keys.decrypt(rescue.accessToken!, rescueAccessTokenContext(secretName))).toBe(
      attempted.record.accessToken,
    );
    expect((await auth.introspect(rescuedToken)).active).toBe(true);
    expect((await auth.introspect(attempted.record.accessToken!)).active).toBe(true);

    // The next run (AWS healthy again) commits the rescue instead of refreshing.
    const second = await h.invoke();
    expect(second.results).toEqual([expect.objectContaining({ connection: name, status: 'restored' })]);
    expect(h.metricTotal('RescueRestored')).toBe(1);
    const restored = await h.current(name);
    expect(restored.versionId).not.toBe(before.versionId);
    expect(second.results[0]).toMatchObject({ versionId: restored.versionId });
    expect(restored.refreshToken).toBe(rescuedToken);
    expect(restored.record).toMatchObject({
      status: 'active',
      accessToken: attempted.record.accessToken,
      expiresAt: attempted.record.expiresAt,
      lastError: null,
    });
    expect(await h.versionCount(name)).toBe(2);
    expect((await leases(h).get(name))?.rescue).toBeUndefined();
    expect(presentationsOf(rescuedToken)).toHaveLength(0); // restored, not refreshed

    // The restored token is the live one: a forced refresh with it succeeds.
    const third = await h.invoke({ action: 'run', force: true });
    expect(third.results).toEqual([expect.objectContaining({ connection: name, status: 'refreshed' })]);
    expect(presentationsOf(rescuedToken)).toEqual([
      expect.objectContaining({ status: 200, forwarded: true }),
    ]);
    const after = await h.current(name);
    expect(after.refreshToken).not.toBe(rescuedToken);
    expect((await auth.introspect(after.refreshToken)).active).toBe(true);
    expect((await auth.introspect(after.record.accessToken!)).active).toBe(true);
    expect(await h.versionCount(name)).toBe(3);
    expect(presentationsOf(original)).toHaveLength(1);
    expect(h.metricTotal('ReauthRequired')).toBe(0);
    expectInvariants(h);
  });

  it('a rescue of a connection that is not due is restored by the very next scheduled run', async () => {
    const h = await harness();
    const name = 'rescued-fresh';
    await h.createConnection(name, { client: auth.client('client_secret_basic') });
    await h.invoke(); // first refresh: the hint now says "fresh for an hour"
    const before = await h.current(name);

    const stub = intercept(h.secretsManager, (command) =>
      command instanceof PutSecretValueCommand
        ? Promise.reject(new InternalServiceError({ message: 'injected outage', $metadata: {} }))
        : undefined,
    );
    const clock = fastClock();
    const forced = await h.invoke(
      { action: 'run', force: true },
      { ports: h.ports(clock), clock, remainingMs: 14_000 },
    );
    stub.restore();
    expect(forced.results[0]).toMatchObject({ status: 'failed', failureClass: 'commit_failed' });
    expect((await h.current(name)).versionId).toBe(before.versionId);

    // A scheduled run, not forced: without the rescue the hint would let it skip this connection.
    const next = await h.invoke();
    expect(next.results[0]).toMatchObject({ connection: name, status: 'restored' });
    const restored = await h.current(name);
    expect((await auth.introspect(restored.refreshToken)).active).toBe(true);
    expectInvariants(h);
  });

  it('a secret at its version quota is not retried: the token set is rescued at once', async () => {
    const h = await harness();
    const name = 'at-quota';
    await h.createConnection(name, { client: auth.client('client_secret_basic') });
    const stub = intercept(h.secretsManager, (command) =>
      command instanceof PutSecretValueCommand
        ? Promise.reject(
            new LimitExceededException({ message: 'too many versions of this secret', $metadata: {} }),
          )
        : undefined,
    );
    const clock = fastClock();
    const first = await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
    stub.restore();
    expect(first.results[0]).toMatchObject({ status: 'failed', failureClass: 'commit_failed' });
    expect(putCalls(stub)).toHaveLength(1); // no retry storm against a quota
    expect(h.metricTotal('CommitFailed')).toBe(1);
    expect((await leases(h).get(name))?.rescue).toBeDefined();
    const next = await h.invoke();
    expect(next.results[0]).toMatchObject({ status: 'restored' });
    expectInvariants(h);
  });

  it('a commit that fails transiently is retried with the same token and value, then lands once', async () => {
    const h = await harness();
    const name = 'flaky-commit';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_post'),
    });
    let failures = 0;
    const stub = intercept(h.secretsManager, (command) => {
      if (!(command instanceof PutSecretValueCommand) || failures >= 2) return undefined;
      failures += 1;
      return Promise.reject(awsError('ThrottlingException', 'Rate exceeded'));
    });

    const summary = await h.invoke(undefined, { ports: h.ports() });
    stub.restore();

    expect(summary.results).toEqual([expect.objectContaining({ connection: name, status: 'refreshed' })]);
    const attempts = putCalls(stub);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((c) => c.input.ClientRequestToken)).size).toBe(1);
    expect(new Set(attempts.map((c) => c.input.SecretString)).size).toBe(1);
    const current = await h.current(name);
    expect(current.versionId).toBe(attempts[0]!.input.ClientRequestToken);
    expect(summary.results[0]).toMatchObject({ versionId: current.versionId });
    expect(await h.versionCount(name)).toBe(2);
    expect(current.refreshToken).not.toBe(original);
    expect((await auth.introspect(current.refreshToken)).active).toBe(true);
    expect((await leases(h).get(name))?.rescue).toBeUndefined();
    expect(h.metricTotal('CommitFailed')).toBe(0);
    expect(h.metricTotal('RescueStored')).toBe(0);
    expect(presentationsOf(original)).toHaveLength(1);
    expectInvariants(h);
  });

  it('a commit whose answer was lost is retried idempotently: moto returns the same version, only one is created', async () => {
    const h = await harness();
    const name = 'lost-commit-answer';
    await h.createConnection(name, { client: auth.client('client_secret_basic') });
    let landed: PutSecretValueCommandOutput | undefined;
    const stub = intercept(h.secretsManager, (command, callThrough) => {
      if (!(command instanceof PutSecretValueCommand) || landed) return undefined;
      return callThrough().then((output) => {
        landed = output as PutSecretValueCommandOutput;
        throw Object.assign(awsError('TimeoutError', 'socket hang up'), { code: 'ECONNRESET' });
      });
    });

    const summary = await h.invoke(undefined, { ports: h.ports() });
    stub.restore();

    expect(landed?.VersionId).toBeDefined();
    const attempts = putCalls(stub);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.input.ClientRequestToken).toBe(attempts[0]!.input.ClientRequestToken);
    expect(attempts[1]!.input.SecretString).toBe(attempts[0]!.input.SecretString);
    expect(summary.results).toEqual([
      expect.objectContaining({ connection: name, status: 'refreshed', versionId: landed!.VersionId }),
    ]);
    expect(await h.versionCount(name)).toBe(2);
    const current = await h.current(name);
    expect(current.versionId).toBe(landed!.VersionId);
    expect((await auth.introspect(current.refreshToken)).active).toBe(true);
    expect(h.metricTotal('CommitFailed')).toBe(0);
    expect((await leases(h).get(name))?.rescue).toBeUndefined();
    expectInvariants(h);
  });

  it('commit and rescue both fail: one ERROR line carries the token set as ciphertext only', async () => {
    const h = await harness();
    const name = 'last-resort';
    const secretName = h.prefix + name;
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_basic'),
    });
    const sm = intercept(h.secretsManager, (command) =>
      command instanceof PutSecretValueCommand
        ? Promise.reject(awsError('ThrottlingException', 'Rate exceeded'))
        : undefined,
    );
    const rescueWrites: Command[] = [];
    const ddb = intercept(h.dynamodb, (command) => {
      const expression = command.input.UpdateExpression;
      if (typeof expression !== 'string' || !/SET #rescue\b/.test(expression)) return undefined;
      rescueWrites.push(command);
      return Promise.reject(awsError('ProvisionedThroughputExceededException', 'injected'));
    });
    const clock = fastClock();

    const summary = await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
    sm.restore();
    ddb.restore();

    expect(summary.results).toEqual([
      expect.objectContaining({ connection: name, status: 'failed', failureClass: 'commit_failed' }),
    ]);
    expect(rescueWrites.length).toBeGreaterThanOrEqual(1);
    expect(h.metricTotal('CommitFailed')).toBe(1);
    expect(h.metricTotal('RescueStored')).toBe(0);
    expect((await leases(h).get(name))?.rescue).toBeUndefined();
    expect(await h.versionCount(name)).toBe(1);
    const attempted = await attemptedRecord(h, name, putCalls(sm)[0]!);

    const lastResort = h.output
      .jsonLines()
      .filter((line) => String(line.message).includes('could be neither committed nor stored'));
    expect(lastResort).toHaveLength(1);
    const [entry] = lastResort;
    expect(entry).toMatchObject({ level: 'ERROR', connection: name });
    const logged = entry!.rescue as {
      refreshToken: { ciphertext: string; keyId: string };
      fromVersionId: string;
    };
    expect(logged.refreshToken.ciphertext).toBe(attempted.record.refreshToken!.ciphertext);
    const loggedToken = await h.keys.decrypt(logged.refreshToken, refreshTokenContext(secretName));
    expect(loggedToken).toBe(attempted.refreshToken);
    expect(loggedToken).not.toBe(original);
    expect((await auth.introspect(loggedToken)).active).toBe(true);
    expect(h.output.text()).toContain(logged.refreshToken.ciphertext);
    expectInvariants(h); // neither the issued refresh token nor the access token in plaintext
  });

  it('after the last-resort log, the next run does not replay the refresh token the provider already answered', async () => {
    const h = await harness();
    const name = 'last-resort-next-run';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_basic'),
    });
    const { sm, loggedToken } = await runWithCommitAndRescueFailing(h, name);
    sm.restore();

    // AWS is healthy again; the operator has not restored yet. The next scheduled run must not
    // present the spent token: the provider would revoke the grant, and the logged token with it.
    const next = await h.invoke();
    expect(next.results[0]).toMatchObject({ connection: name, status: 'failed' });
    expect(presentationsOf(original)).toHaveLength(1);
    expect((await auth.introspect(loggedToken)).active).toBe(true);
    const { record } = await h.current(name);
    expect(record.status).toBe('reauth_required');
    expect(record.lastError?.message).toMatch(/log/);
    expect(record.lastError?.message).not.toMatch(/answer was lost/);
    expectInvariants(h);
  });

  it('(a) unsaved, then the next run cannot even record reauth_required: the third run still sends nothing', async () => {
    const h = await harness();
    const name = 'unsaved-then-status-fails';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_basic'),
    });
    const before = await h.current(name);

    // Run 1: the provider rotates; the commit and the rescue both fail → released `unsaved`.
    const { sm, clock } = await runWithCommitAndRescueFailing(h, name);
    expect(presentationsOf(original)).toHaveLength(1);
    expect(await leases(h).get(name)).toMatchObject({
      sentFromVersionId: before.versionId,
      sentOutcome: 'unsaved',
    });

    // Run 2: Secrets Manager still refuses writes, so reauth_required cannot be recorded.
    const second = await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
    sm.restore();
    expect(second.results[0]).toMatchObject({
      connection: name,
      status: 'failed',
      failureClass: 'commit_failed',
    });
    expect((await h.current(name)).versionId).toBe(before.versionId);
    expect(presentationsOf(original)).toHaveLength(1);
    // The marker is exactly as run 1 left it.
    expect(await leases(h).get(name)).toMatchObject({
      sentFromVersionId: before.versionId,
      sentOutcome: 'unsaved',
      outcome: 'not_sent',
    });

    // Run 3, AWS healthy: still nothing sent; now the status is recorded.
    const third = await h.invoke();
    expect(third.results[0]).toMatchObject({
      connection: name,
      status: 'failed',
      failureClass: 'commit_failed',
    });
    expect(presentationsOf(original)).toHaveLength(1);
    expect((await h.current(name)).record.status).toBe('reauth_required');
    expect(h.metricTotal('SpentTokenRefused')).toBe(2);
    // Run 4: the connection waits for an operator; nothing is sent, nothing is written.
    const fourth = await h.invoke({ action: 'run', connections: [name] });
    expect(fourth.results[0]).toMatchObject({ status: 'skipped', reason: 'not_active' });
    expect(presentationsOf(original)).toHaveLength(1);
    expectInvariants(h);
  });

  it('(b) AWSCURRENT read stale once right after a commit: re-read, the answered token is not sent again', async () => {
    const h = await harness();
    const name = 'stale-once';
    // Due now (no access token yet): the first run refreshes it.
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_post'),
    });
    const before = await h.current(name);
    expect((await h.invoke()).results[0]).toMatchObject({ status: 'refreshed' });
    const after = await h.current(name);

    // Secrets Manager serves the replaced version once, as a read after a write may.
    const stub = serveStale(h, name, before, 1);
    const second = await h.invoke({ action: 'run', connections: [name] });
    stub.restore();
    // The stale record says "due"; the lease says that version was replaced: read again, not due.
    expect(second.results[0]).toMatchObject({
      status: 'skipped',
      reason: 'fresh',
      versionId: after.versionId,
    });
    expect(presentationsOf(original)).toHaveLength(1);
    expect(h.metricTotal('StaleRead')).toBe(1);
    expect(
      h.output.jsonLines().some((line) => String(line.message).includes('AWSCURRENT was read stale')),
    ).toBe(true);
    expectInvariants(h);
  });

  it('(b) AWSCURRENT stays stale: nothing is sent, and the run says why', async () => {
    const h = await harness();
    const name = 'stale-always';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_post'),
    });
    const before = await h.current(name);
    await h.invoke();
    const stub = serveStale(h, name, before);
    const second = await h.invoke({ action: 'run', force: true, connections: [name] });
    stub.restore();
    expect(second.results[0]).toMatchObject({
      status: 'failed',
      failureClass: 'transient',
      message: expect.stringMatching(/stale read.*nothing was sent/),
    });
    expect(presentationsOf(original)).toHaveLength(1);
    expect(h.metricTotal('StaleRead')).toBe(3);
    expectInvariants(h);
  });

  it('(b) a commit landed but its release failed: a stale read of the replaced version still sends nothing', async () => {
    const h = await harness();
    const name = 'landed-unrecorded';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_post'),
    });
    const before = await h.current(name);
    // The refresh commits, but the lease table refuses the release: the marker says "sent,
    // no outcome" (interrupted) and no lastCommit records the new version.
    const ddb = intercept(h.dynamodb, (command) =>
      /#sentOutcome = :outcome/.test(String(command.input.UpdateExpression ?? ''))
        ? Promise.reject(awsError('ProvisionedThroughputExceededException', 'injected'))
        : undefined,
    );
    expect((await h.invoke()).results[0]).toMatchObject({ status: 'refreshed' });
    ddb.restore();
    expect((await leases(h).get(name))?.sentOutcome).toBeUndefined();

    // The next holder (after the lease expired) is served the replaced version: its marker
    // alone would allow the one retry of an interrupted token. The landed version is found.
    const stub = serveStale(h, name, before);
    const next = await h.invoke(
      { action: 'run', connections: [name] },
      { ports: h.ports(laterClock), clock: laterClock },
    );
    stub.restore();
    expect(next.results[0]).toMatchObject({ status: 'failed', failureClass: 'transient' });
    expect(presentationsOf(original)).toHaveLength(1);
    expect(h.metricTotal('InterruptedRefresh')).toBe(0);
    // What it learnt is not recorded as the last commit: it never read the landed version
    // (had that been a move to reauth_required, it would not have reported it; the first
    // holder that reads it does, lambda/core/reauth-report.ts). The next stale holder asks
    // Secrets Manager again, and sends nothing either.
    expect((await leases(h).get(name))?.lastCommit?.fromVersionId).not.toBe(before.versionId);
    const again = serveStale(h, name, before);
    const third = await h.invoke(
      { action: 'run', connections: [name] },
      { ports: h.ports(laterClock), clock: laterClock },
    );
    again.restore();
    expect(third.results[0]).toMatchObject({ status: 'failed', failureClass: 'transient' });
    expect(presentationsOf(original)).toHaveLength(1);
    expectInvariants(h);
  });

  it('(b) a stale read after an operator’s change is caught too: a disabled connection is not refreshed', async () => {
    const h = await harness();
    const name = 'stale-after-disable';
    // Due (no access token): the stale version would be refreshed if it were believed.
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_post'),
    });
    const before = await h.current(name);
    await setConnectionStatus(h.engine('operator'), name, 'disabled');
    const stub = serveStale(h, name, before);
    const run = await h.invoke({ action: 'run', connections: [name] });
    stub.restore();
    expect(run.results[0]).toMatchObject({ status: 'failed', failureClass: 'transient' });
    expect(presentationsOf(original)).toHaveLength(0);
    expect((await h.current(name)).record.status).toBe('disabled');
    expectInvariants(h);
  });

  it('the new refresh token cannot be encrypted: the next run does not replay the token the provider answered', async () => {
    const h = await harness();
    const name = 'encrypt-down';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_basic'),
    });
    const kms = intercept(h.kms, (command) =>
      command instanceof EncryptCommand
        ? Promise.reject(awsError('KMSInternalException', 'injected'))
        : undefined,
    );
    const clock = fastClock();
    const first = await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
    kms.restore();
    expect(first.results).toEqual([
      expect.objectContaining({ connection: name, status: 'failed', failureClass: 'commit_failed' }),
    ]);
    expect(kms.commandCalls(EncryptCommand).length).toBeGreaterThan(0);
    expect(presentationsOf(original)).toEqual([expect.objectContaining({ status: 200, forwarded: true })]);
    expect(await h.versionCount(name)).toBe(1);

    // The issued set is lost (nothing to rescue without encryption). The engine received the
    // provider's answer, so the next run must not present the spent token as if it had been lost.
    const next = await h.invoke();
    expect(next.results[0]).toMatchObject({ connection: name, status: 'failed' });
    expect(presentationsOf(original)).toHaveLength(1);
    const { record } = await h.current(name);
    expect(record.status).toBe('reauth_required');
    expect(record.lastError?.message).not.toMatch(/answer was lost/);
    expectInvariants(h);
  });

  it('a crash after sending, before the commit: the next run sees InterruptedRefresh, retries once, and explains the re-authentication', async () => {
    const h = await harness();
    const name = 'crashed-after-send';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_basic'),
    });
    const before = await h.current(name);
    const freeze = freezeFirst(h.secretsManager, PutSecretValueCommand);
    const zombie = abandon(h.invoke(undefined, { ports: h.ports(), remainingMs: 15_000 }));
    await reached(freeze.reached, zombie);
    expect(presentationsOf(original)).toEqual([expect.objectContaining({ status: 200, forwarded: true })]);
    const interrupted = await leases(h).get(name);
    expect(interrupted).toMatchObject({ sentFromVersionId: before.versionId });
    expect(interrupted?.outcome).toBeUndefined();

    const summary = await h.invoke(undefined, { ports: h.ports(laterClock), clock: laterClock });
    expect(h.metricTotal('InterruptedRefresh')).toBe(1);
    expect(summary.results).toEqual([
      expect.objectContaining({ connection: name, status: 'failed', failureClass: 'reauth_required' }),
    ]);
    const { record, versionId } = await h.current(name);
    expect(record.status).toBe('reauth_required');
    expect(record.lastError?.class).toBe('reauth_required');
    expect(record.lastError?.message).toMatch(/invalid_grant/);
    expect(record.lastError?.message).toMatch(/sent before in a request whose answer was lost/);
    expect(h.metricTotal('ReauthRequired')).toBe(1);
    expect(await h.versionCount(name)).toBe(2);
    // The original presentation and the one deliberate retry, never more.
    expect(presentationsOf(original).map((p) => [p.forwarded, p.status])).toEqual([
      [true, 200],
      [true, 400],
    ]);

    // Were the dead process to resume, its commit from the same version is refused by the
    // deterministic ClientRequestToken, and its rescue by the lease it no longer holds.
    freeze.thaw();
    const late = await zombie;
    expect(late?.results[0]).toMatchObject({
      status: 'failed',
      failureClass: 'commit_failed',
      message: expect.stringMatching(/VersionConflictError.*another writer/),
    });
    expect((await h.current(name)).versionId).toBe(versionId);
    expect(await h.versionCount(name)).toBe(2);
    expect(presentationsOf(original)).toHaveLength(2);
    expectInvariants(h, [original]);
  });

  it('a crash before sending: the next run refreshes normally, and the provider saw the token once', async () => {
    const h = await harness();
    const name = 'crashed-before-send';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_post'),
    });
    const freeze = freezeFirst(h.kms, DecryptCommand);
    const zombie = abandon(h.invoke(undefined, { ports: h.ports(), remainingMs: 15_000 }));
    await reached(freeze.reached, zombie);
    const abandoned = await leases(h).get(name);
    expect(abandoned?.sentFromVersionId).toBeUndefined();
    expect(abandoned?.outcome).toBeUndefined();
    expect(presentationsOf(original)).toHaveLength(0);

    const summary = await h.invoke(undefined, { ports: h.ports(laterClock), clock: laterClock });
    expect(summary.results).toEqual([expect.objectContaining({ connection: name, status: 'refreshed' })]);
    expect(h.metricTotal('InterruptedRefresh')).toBe(0);
    expect(h.metricTotal('AmbiguousRefresh')).toBe(0);
    const current = await h.current(name);
    expect(current.refreshToken).not.toBe(original);
    expect((await auth.introspect(current.refreshToken)).active).toBe(true);
    expect(presentationsOf(original)).toEqual([expect.objectContaining({ status: 200, forwarded: true })]);

    // Were the dead process to resume with the decrypted token, it may not send it: the lease is gone.
    freeze.thaw();
    const late = await zombie;
    expect(late?.results[0]).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/being refreshed by another invocation/),
    });
    expect(presentationsOf(original)).toHaveLength(1);
    expect((await h.current(name)).versionId).toBe(current.versionId);
    expect((await auth.introspect(current.refreshToken)).active).toBe(true);
    expectInvariants(h);
  });

  it('a throttled read fails only its own connection; the other is refreshed in the same run', async () => {
    const h = await harness();
    const { refreshToken: throttledToken } = await h.createConnection('throttled', {
      client: auth.client('client_secret_basic'),
    });
    const { refreshToken: healthyToken } = await h.createConnection('healthy', {
      client: auth.client('client_secret_basic'),
    });
    const throttledSecret = `${h.prefix}throttled`;
    const stub = intercept(h.secretsManager, (command) =>
      command instanceof GetSecretValueCommand && command.input.SecretId === throttledSecret
        ? Promise.reject(awsError('ThrottlingException', 'Rate exceeded'))
        : undefined,
    );

    const summary = await h.invoke(undefined, { ports: h.ports() });
    stub.restore();

    expect(stub.commandCalls(GetSecretValueCommand, { SecretId: throttledSecret }).length).toBeGreaterThan(0);
    const byName = Object.fromEntries(summary.results.map((r) => [r.connection, r]));
    expect(byName.healthy).toMatchObject({ status: 'refreshed' });
    expect(byName.throttled).toMatchObject({ status: 'failed' });
    expect((byName.throttled as { failureClass: string }).failureClass).toBe('transient');
    const message = (byName.throttled as { message: string }).message;
    expect(message).toContain(throttledSecret);
    expect(message).toMatch(/GetSecretValue.*ThrottlingException/);
    expect(summary).toMatchObject({ refreshed: 1, failed: 1 });
    expect(presentationsOf(throttledToken)).toHaveLength(0);
    expect(presentationsOf(healthyToken)).toHaveLength(1);
    expect(await h.versionCount('throttled')).toBe(1);
    expect(await leases(h).get('throttled')).toMatchObject({ outcome: 'not_sent' });

    // The lease was released untouched: the next run refreshes it.
    const next = await h.invoke();
    expect(next.results.find((r) => r.connection === 'throttled')).toMatchObject({ status: 'refreshed' });
    expect(presentationsOf(throttledToken)).toEqual([expect.objectContaining({ status: 200 })]);
    expectInvariants(h);
  });

  describe('what an operator must see is published as it happens: every move to reauth_required that landed, every refused endpoint', () => {
    /** The lines a report of `versionId` wrote (lambda/core/reauth-report.ts). */
    function reportLines(h: RefresherHarness, versionId: string) {
      return h.output
        .jsonLines()
        .filter(
          (line) =>
            (line.message === REAUTH_REPORTED || line.message === REAUTH_REPORTED_LATE) &&
            line.versionId === versionId,
        );
    }

    /**
     * Runs an invocation whose first PutSecretValue reaches moto (it lands) and whose answer
     * never comes back: the process died right after its status commit landed.
     */
    async function dieOnceTheStatusCommitLands(h: RefresherHarness): Promise<void> {
      const landed = deferred<void>();
      intercept(h.secretsManager, (command, callThrough) => {
        if (!(command instanceof PutSecretValueCommand) || landed.settled) return undefined;
        return callThrough().then(() => {
          landed.resolve();
          return hang().promise;
        });
      });
      const zombie = abandon(h.invoke(undefined, { ports: h.ports(), remainingMs: 15_000 }));
      await reached(landed.promise, zombie);
    }

    /** A connection whose refresh token the provider no longer honours (the user revoked the grant). */
    async function revokedConnection(h: RefresherHarness, name: string): Promise<string> {
      const { refreshToken } = await h.createConnection(name, { client: auth.client('client_secret_post') });
      expect(await auth.revokeGrantOf(refreshToken)).toBe(true);
      return refreshToken;
    }

    it('a status commit that never lands publishes no ReauthRequired; the run after records and reports it', async () => {
      const h = await harness();
      const name = 'reauth-commit-refused';
      const original = await revokedConnection(h, name);
      const before = await h.current(name);
      const sm = intercept(h.secretsManager, (command) =>
        command instanceof PutSecretValueCommand
          ? Promise.reject(new InternalServiceError({ message: 'injected outage', $metadata: {} }))
          : undefined,
      );
      const clock = fastClock();
      const first = await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
      sm.restore();
      expect(first.results[0]).toMatchObject({ status: 'failed', failureClass: 'reauth_required' });
      expect(h.output.text()).toContain('the connection status could not be recorded');
      expect((await h.current(name)).versionId).toBe(before.versionId);
      expect(h.metricTotal('ReauthRequired')).toBe(0);

      const second = await h.invoke();
      expect(second.results[0]).toMatchObject({ status: 'failed', failureClass: 'reauth_required' });
      const { versionId, record } = await h.current(name);
      expect(record.status).toBe('reauth_required');
      expect(h.metricTotal('ReauthRequired')).toBe(1);
      expect(reportLines(h, versionId).map((line) => line.message)).toEqual([REAUTH_REPORTED]);
      expect(presentationsOf(original).map((p) => p.status)).toEqual([400, 400]);
      expectInvariants(h);
    });

    it('a holder that dies after its status commit landed, before reporting it: the next run reports it late, once', async () => {
      const h = await harness();
      const name = 'reauth-died-after-commit';
      const original = await revokedConnection(h, name);
      const before = await h.current(name);
      await dieOnceTheStatusCommitLands(h);
      const { versionId, record } = await h.current(name);
      expect(record.status).toBe('reauth_required');
      expect(versionId).toBe(clientRequestTokenFor(h.prefix + name, before.versionId));
      expect(h.metricTotal('ReauthRequired'), 'the dead holder published nothing').toBe(0);
      expect((await leases(h).get(name))?.lastCommit?.versionId).not.toBe(versionId);

      // Its hint still describes the replaced version, so the next run reads the record.
      const next = await h.invoke(undefined, { ports: h.ports(laterClock), clock: laterClock });
      expect(next.results[0]).toMatchObject({ status: 'skipped', reason: 'not_active' });
      expect(h.metricTotal('ReauthRequired')).toBe(1);
      const [line] = reportLines(h, versionId);
      expect(line).toMatchObject({
        message: REAUTH_REPORTED_LATE,
        connection: name,
        replacedVersionId: before.versionId,
      });
      expect(await leases(h).get(name)).toMatchObject({
        lastCommit: { fromVersionId: before.versionId, versionId },
      });

      // Recorded: no run reports it again.
      await h.invoke(undefined, { ports: h.ports(laterClock), clock: laterClock });
      await h.invoke(
        { action: 'run', connections: [name] },
        { ports: h.ports(laterClock), clock: laterClock },
      );
      expect(h.metricTotal('ReauthRequired')).toBe(1);
      expect(presentationsOf(original)).toHaveLength(1);
      expectInvariants(h);
    });

    it('a holder that only learns the move landed (served the replaced version) does not record it; the first that reads it reports it', async () => {
      const h = await harness();
      const name = 'reauth-landed-seen-stale';
      await revokedConnection(h, name);
      const before = await h.current(name);
      await dieOnceTheStatusCommitLands(h);
      const { versionId } = await h.current(name);

      // Served the replaced version on every read: the interrupted marker makes it ask whether
      // the commit from it landed; it did, so the read is stale and nothing is sent.
      const stub = serveStale(h, name, before);
      const stale = await h.invoke(
        { action: 'run', connections: [name] },
        { ports: h.ports(laterClock), clock: laterClock },
      );
      stub.restore();
      expect(stale.results[0]).toMatchObject({ status: 'failed', failureClass: 'transient' });
      expect(h.metricTotal('ReauthRequired')).toBe(0);
      expect((await leases(h).get(name))?.lastCommit?.versionId).not.toBe(versionId);

      await h.invoke(undefined, { ports: h.ports(laterClock), clock: laterClock });
      expect(h.metricTotal('ReauthRequired')).toBe(1);
      expect(reportLines(h, versionId)).toEqual([expect.objectContaining({ message: REAUTH_REPORTED_LATE })]);
      expectInvariants(h);
    });

    it('a refused token endpoint is published as it happens: a run that dies writing lastError still reported it', async () => {
      const h = await harness();
      const name = 'edited-then-died';
      await h.createConnection(name, { client: auth.client('client_secret_post') });
      expect((await h.invoke()).refreshed).toBe(1); // its hint now says "fresh for an hour"
      const { record, refreshToken: original } = await h.current(name);
      record.provider!.tokenEndpoint = 'https://exfil.example/oauth2/token';
      record.refreshedAt = new Date(Date.now() - 20 * 60_000).toISOString(); // past the version floor
      await h.secretsManager.send(
        new PutSecretValueCommand({ SecretId: h.prefix + name, SecretString: JSON.stringify(record) }),
      );
      const freeze = freezeFirst(h.secretsManager, PutSecretValueCommand);
      const zombie = abandon(h.invoke(undefined, { ports: h.ports(), remainingMs: 15_000 }));
      await reached(freeze.reached, zombie);
      expect(h.metricTotal('EndpointRefused'), 'published before the lastError write').toBe(1);

      // Nothing rewrote the hint: the next run reads the edited record and refuses it again.
      const next = await h.invoke(undefined, { ports: h.ports(laterClock), clock: laterClock });
      expect(next.results[0]).toMatchObject({ status: 'failed', failureClass: 'configuration' });
      expect(h.metricTotal('EndpointRefused')).toBe(2);
      expect(presentationsOf(original)).toHaveLength(0);
      expectInvariants(h);
    });

    it('the answer to every attempt of the status commit is lost: its holder reports nothing, the next run reports it', async () => {
      const h = await harness();
      const name = 'reauth-answers-lost';
      await revokedConnection(h, name);
      const before = await h.current(name);
      const sm = intercept(h.secretsManager, (command, callThrough) =>
        command instanceof PutSecretValueCommand
          ? callThrough().then(() => Promise.reject(awsError('TimeoutError', 'socket hang up')))
          : undefined,
      );
      const clock = fastClock();
      await h.invoke(undefined, { ports: h.ports(clock), clock, remainingMs: 14_000 });
      sm.restore();
      expect(putCalls(sm).length).toBeGreaterThan(1);
      expect(h.output.text()).toContain('the connection status could not be recorded');
      const { versionId, record } = await h.current(name);
      expect(record.status).toBe('reauth_required');
      expect(h.metricTotal('ReauthRequired')).toBe(0);

      await h.invoke();
      expect(h.metricTotal('ReauthRequired')).toBe(1);
      expect(reportLines(h, versionId)).toEqual([
        expect.objectContaining({ message: REAUTH_REPORTED_LATE, replacedVersionId: before.versionId }),
      ]);
      await h.invoke();
      expect(h.metricTotal('ReauthRequired')).toBe(1);
      expectInvariants(h);
    });
  });

  it('a metrics sink that throws never fails a refresh', async () => {
    const h = await harness();
    const name = 'metrics-down';
    const { refreshToken: original } = await h.createConnection(name, {
      client: auth.client('client_secret_post'),
    });
    let adds = 0;
    const brokenMetrics: Metrics = {
      add: () => {
        adds += 1;
        throw new Error('metrics backend unavailable');
      },
      flush: () => {
        throw new Error('metrics backend unavailable');
      },
    };

    const summary = await h.invoke(undefined, { ports: { ...h.ports(), metrics: brokenMetrics } });
    expect(summary.results).toEqual([expect.objectContaining({ connection: name, status: 'refreshed' })]);
    expect(adds).toBeGreaterThan(0);
    const current = await h.current(name);
    expect(current.refreshToken).not.toBe(original);
    expect((await auth.introspect(current.record.accessToken!)).active).toBe(true);
    expect(await h.versionCount(name)).toBe(2);
    expect(h.output.text()).toContain('metric could not be recorded');
    expectInvariants(h);
  });
});
