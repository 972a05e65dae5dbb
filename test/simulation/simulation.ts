import { StructuredLogger } from '../../lambda/adapters/structured-logger.js';
import { RefreshFailedError } from '../../lambda/client/errors.js';
import type { RefreshRequester } from '../../lambda/client/ports.js';
import { TokenClient } from '../../lambda/client/token-client.js';
import { CONNECTION_STATE_LOG } from '../../lambda/contract/metric-names.js';
import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import type { RefresherConfig } from '../../lambda/contract/refresher-environment.js';
import { type EngineSettings, settingsWith } from '../../lambda/contract/settings.js';
import { decideDue, dueFactsOf } from '../../lambda/core/due.js';
import type { Metrics, MetricUnit, SecretVersion } from '../../lambda/core/ports.js';
import type { ProviderBehaviour } from '../../lambda/core/provider-behaviour.js';
import {
  behaviourSchema,
  type ConnectionRecord,
  RECORD_SCHEMA_VERSION,
  refreshTokenContext,
} from '../../lambda/core/record.js';
import { refreshTokenExpiresAt } from '../../lambda/core/refresh-token-expiry.js';
import { clientRequestTokenFor } from '../../lambda/core/write-protocol.js';
import { handleInvocation, type RefresherPorts } from '../../lambda/refresher/refresher.js';
import {
  type AwsObserver,
  SimKeyService,
  SimKms,
  SimLeaseStore,
  SimLeaseTable,
  SimSecretStore,
  SimSecretsManager,
} from './aws.js';
import { type EditKind, EXFIL_CREDENTIALS_ID, EXFIL_ENDPOINT, EXFIL_ORIGIN } from './endpoints.js';
import {
  DEFAULT_RATES,
  type Episode,
  type FaultKind,
  type FaultScope,
  Faults,
  scaleRates,
} from './faults.js';
import { BURST_SIZE, DEFAULT_FLOODS, type FloodRequest, type FloodWorld, floodRequest } from './floods.js';
import { Oracle, type Violation } from './oracle.js';
import { Prng } from './prng.js';
import { SIM_PROFILES, simProfile } from './profiles.js';
import {
  AuthorizationServer,
  type GrantSettings,
  type IssuedSet,
  type ProviderConfig,
  SimTokenEndpoint,
} from './provider.js';
import {
  type CrashPolicy,
  Invocation,
  type InvocationKind,
  invocationClock,
  type Net,
  trueClock,
} from './runtime.js';
import { Scheduler } from './scheduler.js';
import type { Attribution } from './transitions.js';

export const SIM_START = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;
const PREFIX = 'token-refresher/';
const CLIENTS_PREFIX = 'token-refresher-clients/';
/** The deployed stack's minimum interval (lib/settings.ts): 15 minutes. */
export const DEFAULT_MIN_INTERVAL_MS = 15 * MINUTE;

/** Lifetime mix of access tokens, minutes → weight. The issue asks for 5 min to 24 h. */
export const DEFAULT_LIFETIMES: readonly (readonly [number, number])[] = [
  [5, 5],
  [15, 10],
  [30, 15],
  [60, 35],
  [120, 10],
  [480, 10],
  [1440, 15],
];

/** A deliberate bug, applied to one invocation's ports (test code only, never `lambda/`). */
export interface Mutation {
  name: string;
  wrap(ports: RefresherPorts, context: { inv: Invocation; rng: Prng; sched: Scheduler }): RefresherPorts;
  /**
   * A bug in the simulated service rather than the ports (an old adapter's behaviour), or in
   * the engine's configuration.
   */
  setUp?(world: { leases: SimLeaseTable; sm: SimSecretsManager; settings: EngineSettings }): void;
  /** A bug in the handler's answer (lambda/refresher): rewrites what an invocation returns. */
  answer?(response: unknown, world: { current(connection: string): SecretVersion | undefined }): unknown;
}

export interface SimulationOptions {
  seed: number;
  days: number;
  connections: number;
  /** Multiplies every fault rate. @default 1 */
  faults?: number;
  lifetimes?: readonly (readonly [number, number])[];
  /** Consumers per connection. @default 1 */
  consumers?: number;
  /** Mean minutes between one consumer's reads. @default 30 */
  readEveryMinutes?: number;
  /** Engine settings; default: the deployed stack's (min interval 15 min). */
  settings?: Partial<Omit<EngineSettings, 'prefix'>>;
  scheduleMinutes?: number;
  timeoutSeconds?: number;
  onDemandTimeoutSeconds?: number;
  mutations?: Mutation[];
  /** Bogus on-demand requests per minute, on average, outside bursts (`DEFAULT_FLOODS`). */
  floodPerMinute?: number;
  /** Bursts of bogus requests per day, each just before a scheduled run (`DEFAULT_FLOODS`). */
  floodBurstsPerDay?: number;
  /** Per committed version: a replay naming the version it replaced, within 3 s (`DEFAULT_FLOODS`). */
  floodReplay?: number;
  /** Stop the run at the first violation (tests). */
  stopAtFirstViolation?: boolean;
}

export interface SimulationResult {
  options: Required<Omit<SimulationOptions, 'mutations' | 'settings' | 'stopAtFirstViolation'>> & {
    mutations: string[];
    /** The engine's default version floor (undefined when the engine has none). */
    defaultVersionFloorMs?: number;
  };
  settings: EngineSettings;
  passed: boolean;
  violations: Violation[];
  violationsByInvariant: Map<number, number>;
  counts: Map<string, number>;
  faults: Map<FaultKind, number>;
  fates: Map<string, number>;
  consumerErrors: Map<string, number>;
  versions: { lifetimeMinutes: number; connections: number; maxPer24h: number }[];
  invocations: Map<string, number>;
  events: number;
  digest: string;
  endedAt: number;
  /** Invariant 7: the longest time from a move to reauth_required to its first report. */
  maxReportDelayMs: number;
  /** Moves to reauth_required not yet reported when the run ended (younger than the limit). */
  unreportedMoves: number;
  /** Invariant 8: the longest time from an edit to its first EndpointRefused. */
  maxRefusalDelayMs: number;
  /** Invariant 12: the longest time from a dead-token answer to the move it led to. */
  maxDeadToMoveMs: number;
}

interface ConnectionSpec extends GrantSettings {
  name: string;
  provider: ProviderConfig;
  /**
   * The behaviour its record carries: the profile's, with the connection's lifetime as the
   * default where the provider sends no `expires_in` (`connect --access-token-lifetime`).
   */
  behaviour: ProviderBehaviour;
}

/** The random streams and network one invocation draws from. */
interface Streams {
  net: Net;
  chaos: Prng;
  engineRandom: Prng;
  mutationRng: Prng;
}

/** Runs one simulation to the end (or the first violation) and returns its result. */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  await loadLazyEngineModules();
  const sim = new Simulation(options);
  return sim.run();
}

/**
 * The modules the engine loads on first use with a dynamic `import()` (the deployed bundle
 * keeps them out of a cold start). Loading one for the first time is real I/O, not a
 * microtask: inside a run the scheduler would move virtual time on while the engine waits
 * for it (a first on-demand request would find its time budget gone). Loaded before the
 * run, every later `import()` of them settles in microtasks, as the scheduler needs.
 */
async function loadLazyEngineModules(): Promise<void> {
  await Promise.all([
    import('../../lambda/core/refresh-connection.js'),
    import('../../lambda/core/client-credentials.js'),
    import('../../lambda/refresher/requests.js'),
    import('../../lambda/refresher/connect.js'),
  ]);
}

class Simulation {
  readonly sched = new Scheduler(SIM_START);
  readonly rng: Prng;
  private readonly chaos: Prng;
  /** Records edited by an insider, and the operator's fixes: a stream of their own. */
  private readonly endpointChaos: Prng;
  /** Consumer floods: their schedule, and the streams their invocations draw from. */
  private readonly floodRng: Prng;
  private readonly floodStreams: Streams;
  private readonly mainStreams: Streams;
  private floodSeq = 0;
  private readonly connectionNames: string[] = [];
  private readonly latency: Prng;
  private readonly engineRandom: Prng;
  private readonly consumerRng: Prng;
  private readonly mutationRng: Prng;
  readonly faults: Faults;
  readonly net: Net;
  readonly sm: SimSecretsManager;
  readonly kms: SimKms;
  readonly leases: SimLeaseTable;
  readonly server: AuthorizationServer;
  readonly oracle: Oracle;
  readonly settings: EngineSettings;
  private readonly config: RefresherConfig;
  private readonly onDemandConfig: RefresherConfig;
  private readonly providers: ProviderConfig[];
  private readonly providersByEndpoint = new Map<string, ProviderConfig>();
  private readonly connections = new Map<string, ConnectionSpec>();
  private readonly end: number;
  private readonly periodMs: number;
  private readonly timeoutMs: number;
  private readonly onDemandTimeoutMs: number;
  private readonly invocationCounts = new Map<string, number>();
  private invocationSeq = 0;
  private readonly reconnectPending = new Set<string>();
  private readonly consumerInv: Invocation;
  private readonly resolved: SimulationResult['options'];

  constructor(private readonly options: SimulationOptions) {
    this.resolved = {
      seed: options.seed,
      days: options.days,
      connections: options.connections,
      faults: options.faults ?? 1,
      lifetimes: options.lifetimes ?? DEFAULT_LIFETIMES,
      consumers: options.consumers ?? 1,
      readEveryMinutes: options.readEveryMinutes ?? 30,
      scheduleMinutes: options.scheduleMinutes ?? 5,
      timeoutSeconds: options.timeoutSeconds ?? 240,
      onDemandTimeoutSeconds: options.onDemandTimeoutSeconds ?? 30,
      floodPerMinute: options.floodPerMinute ?? DEFAULT_FLOODS.perMinute,
      floodBurstsPerDay: options.floodBurstsPerDay ?? DEFAULT_FLOODS.burstsPerDay,
      floodReplay: options.floodReplay ?? DEFAULT_FLOODS.replay,
      mutations: (options.mutations ?? []).map((m) => m.name),
      defaultVersionFloorMs: (settingsWith(PREFIX) as { versionFloorMs?: number }).versionFloorMs,
    };
    this.rng = new Prng(options.seed);
    this.chaos = this.rng.fork('chaos');
    this.latency = this.rng.fork('latency');
    this.engineRandom = this.rng.fork('engine');
    this.consumerRng = this.rng.fork('consumers');
    this.mutationRng = this.rng.fork('mutations');
    const world = this.rng.fork('world');
    // Forked last, so every earlier stream is what it was before these faults existed.
    const protocolChaos = this.rng.fork('protocol-faults');
    this.endpointChaos = this.rng.fork('endpoint-faults');
    const floods = this.rng.fork('floods');
    this.end = SIM_START + options.days * DAY;
    this.periodMs = this.resolved.scheduleMinutes * MINUTE;
    this.timeoutMs = this.resolved.timeoutSeconds * 1000;
    this.onDemandTimeoutMs = this.resolved.onDemandTimeoutSeconds * 1000;
    // The deployed stack's defaults (lib/settings.ts): minimum interval 15 minutes.
    this.settings = settingsWith(PREFIX, { minIntervalMs: DEFAULT_MIN_INTERVAL_MS, ...options.settings });
    this.config = {
      settings: this.settings,
      leaseTableName: 'sim-leases',
      refreshTokenKeyId: 'sim-refresh-token-key',
    };
    this.onDemandConfig = { ...this.config, onDemandOnly: true };

    this.faults = new Faults(scaleRates(DEFAULT_RATES, this.resolved.faults), this.chaos);
    const crash: CrashPolicy = { maybeCrash: (inv, where) => this.maybeCrash(inv, where, this.chaos) };
    this.net = {
      sched: this.sched,
      faults: this.faults,
      crash,
      latency: this.latency,
      chaos: this.chaos,
      protocolChaos,
      note: (kind, scope) => this.faults.note(kind, scope, this.sched.now),
    };
    this.mainStreams = {
      net: this.net,
      chaos: this.chaos,
      engineRandom: this.engineRandom,
      mutationRng: this.mutationRng,
    };
    // Floods draw from streams of their own, and their faults are counted but affect nobody
    // (a bogus request that fails hurts only its sender): the rest of a run is what it would
    // be without them, unless a flood does take a lease.
    this.floodRng = floods.fork('schedule');
    const floodChaos = floods.fork('chaos');
    this.floodStreams = {
      net: {
        ...this.net,
        latency: floods.fork('latency'),
        chaos: floodChaos,
        protocolChaos: floods.fork('protocol-faults'),
        crash: { maybeCrash: (inv, where) => this.maybeCrash(inv, where, floodChaos) },
        note: (kind) => this.faults.note(kind, { benign: true }, this.sched.now),
      },
      chaos: floodChaos,
      engineRandom: floods.fork('engine'),
      mutationRng: floods.fork('mutations'),
    };

    this.providers = SIM_PROFILES.map(([name]) => ({
      ...simProfile(name),
      clientId: `client-${name}`,
      clientSecret: `SIMSECRET-${name}-${world.hex(24)}`,
    }));
    // Keyed as the HTTP adapter sends to them (a URL's href).
    for (const p of this.providers) this.providersByEndpoint.set(new URL(p.tokenEndpoint).href, p);
    // Pinned token endpoints (lambda/core/token-origin.ts): the simulated providers' origins.
    this.settings.allowedTokenOrigins = this.providers.map((p) => new URL(p.tokenEndpoint).origin);
    const providerWeights = this.providers.map((p, i) => [p, SIM_PROFILES[i]![1]] as const);
    for (let i = 1; i <= options.connections; i += 1) {
      const p = world.weighted(providerWeights);
      const minutes = world.weighted(this.resolved.lifetimes);
      const name = `${p.id}-${String(i).padStart(3, '0')}`;
      const model = p.behaviour.rotation.model;
      // An `optional` rotation is the provider's setting for this client (Salesforce's connected app).
      const rotating = model === 'rotating' || (model === 'optional' && world.chance(0.5));
      const tokenType = p.wire.tokenTypes.length > 1 ? world.pick(p.wire.tokenTypes) : p.wire.tokenTypes[0]!;
      const behaviour: ProviderBehaviour = p.wire.omitsExpiresIn
        ? { ...p.behaviour, response: { ...p.behaviour.response, defaultExpiresInSeconds: minutes * 60 } }
        : p.behaviour;
      this.connections.set(name, {
        name,
        provider: p,
        lifetimeMs: minutes * MINUTE,
        rotating,
        tokenType,
        behaviour,
      });
    }

    this.server = new AuthorizationServer(this.net, (c) => this.connections.get(c)!);
    this.kms = new SimKms(this.net);
    const connectionInfo = new Map(
      [...this.connections.values()].map((c) => [
        c.name,
        {
          provider: c.provider.id,
          lifetimeMs: c.lifetimeMs,
          rotating: c.rotating,
          reuseWindowMs: c.behaviour.rotation.reuseWindowSeconds * 1000,
        },
      ]),
    );
    this.oracle = new Oracle(
      () => this.sched.now,
      PREFIX,
      connectionInfo,
      this.server,
      this.kms,
      this.faults,
      {
        refreshWindowMs: this.settings.refreshWindowMs,
        minIntervalMs: this.settings.minIntervalMs,
        versionFloorMs: (this.settings as { versionFloorMs?: number }).versionFloorMs ?? 0,
        periodMs: this.periodMs,
        reauthDueWithinMs: this.settings.reauthDueWithinMs,
        start: SIM_START,
      },
    );
    this.server.setObserver(this.oracle);
    this.oracle.currentVersionOf = (connection) => this.sm.current(PREFIX + connection)?.versionId;
    this.oracle.backoffOf = (connection) => this.leases.items.get(connection)?.backoff;
    this.oracle.versionValueOf = (connection, versionId) =>
      this.sm.secrets.get(PREFIX + connection)?.versions.get(versionId)?.value;
    this.oracle.scheduleCheck = (time, check) => {
      if (time <= this.end) this.sched.at(time, check);
    };
    this.oracle.classifyEndpoint = (endpoint, credentials) => this.classifyEndpoint(endpoint, credentials);
    this.oracle.dueAtOf = (record, from) => this.dueAtOf(record, from);
    this.oracle.endpoints.onFirstReport = (connection) => this.scheduleEndpointFix(connection);
    const observer: AwsObserver = {
      versionCreated: (name, id, value, at) => {
        this.oracle.versionCreated(name, id, value, at);
        if (value.includes('"status":"reauth_required"')) this.scheduleReconnect(name.slice(PREFIX.length));
        this.maybeReplay(name);
      },
      versionQuotaReached: (name, at) => this.oracle.versionQuotaReached(name, at),
      rescueStored: (c, r, at) => this.oracle.rescueStored(c, r, at),
      rescueRemoved: (c, r, why, at) => this.oracle.rescueRemoved(c, r, why, at),
      leaseAcquired: (c, o, p, at) => this.oracle.leaseAcquired(c, o, p, at),
      leaseReleased: (c, o, outcome, details, at) => this.oracle.leaseReleased(c, o, outcome, details, at),
      leaseHeld: (c, o, holder, at) => this.oracle.leaseHeld(c, o, holder, at),
      staleReadServed: (name, reader, at) => this.oracle.staleReadServed(name, reader, at),
    };
    this.sm = new SimSecretsManager(
      this.net,
      observer,
      (id) => this.scopeOfSecret(id),
      (id) => (id.startsWith(PREFIX) ? this.leases.unsavedVersions.get(id.slice(PREFIX.length)) : undefined),
    );
    this.leases = new SimLeaseTable(this.net, observer);
    for (const mutation of options.mutations ?? []) {
      mutation.setUp?.({ leases: this.leases, sm: this.sm, settings: this.settings });
    }
    this.consumerInv = new Invocation('consumers', 'consumer', SIM_START, Number.POSITIVE_INFINITY);

    this.setUpWorld(world);
  }

  async run(): Promise<SimulationResult> {
    const stop = this.options.stopAtFirstViolation;
    await this.sched.run(this.end, () => !(stop && this.oracle.violations.length > 0));
    const fates = this.oracle.finish(this.end);
    return this.result(fates);
  }

  // ----- setup -----

  private setUpWorld(world: Prng): void {
    for (const p of this.providers) {
      this.sm.create(
        CLIENTS_PREFIX + p.id,
        JSON.stringify({
          client_id: p.clientId,
          client_secret: p.clientSecret,
          token_endpoint_origins: [new URL(p.tokenEndpoint).origin],
        }),
        uuid(world),
      );
    }
    for (const c of this.connections.values()) {
      // Refreshed last some time ago: access-token expiries are spread over one lifetime.
      const issuedAt = SIM_START - Math.floor(world.next() * c.lifetimeMs);
      // Authorized earlier still. A grant with an absolute lifetime ends at a time spread over
      // that lifetime from now on, or for half of them within the run and the alarm's 14 days
      // after it, so that every run sees grants run out; any other grant within the last 30 days.
      const absolute = c.behaviour.rotation.absoluteLifetimeSeconds;
      const endsWithin = world.chance(0.5)
        ? (absolute ?? 0) * 1000
        : this.resolved.days * DAY + this.settings.reauthDueWithinMs;
      const grantedAt = Math.min(
        issuedAt,
        absolute !== undefined
          ? SIM_START + Math.floor(world.next() * endsWithin) - absolute * 1000
          : issuedAt - Math.floor(world.next() * 30 * DAY),
      );
      const set = this.server.connect(c.name, c.provider, issuedAt, grantedAt);
      this.watchGrantEnd(c.name, SIM_START);
      this.sm.create(PREFIX + c.name, JSON.stringify(this.connectedRecord(c, set, grantedAt)), uuid(world));
    }
    // The schedule.
    this.sched.at(SIM_START, () => this.tick(0));
    // Episodes: outages, brownouts, throttling storms.
    const episodeKinds: [Episode['kind'], number, number, number][] = [
      ['provider_outage', 3, 2, 30],
      ['provider_brownout', 3, 5, 30],
      ['provider_rate_limited', 2, 2, 15],
      ['sm_outage', 1, 1, 10],
      ['sm_throttle_storm', 2, 1, 10],
      ['kms_throttle_storm', 1, 1, 5],
      ['ddb_outage', 1, 1, 5],
    ];
    const perDay = this.faults.rates.episodesPerDay;
    if (perDay > 0) {
      for (let t = SIM_START + this.chaos.exponential(DAY / perDay); t < this.end; ) {
        const [kind, , min, max] = this.chaos.weighted(episodeKinds.map((e) => [e, e[1]] as const));
        const episode: Episode = { kind, start: t, end: t + this.chaos.between(min, max) * MINUTE };
        if (kind.startsWith('provider_')) episode.provider = this.chaos.pick(this.providers).id;
        this.faults.episodes.push(episode);
        this.sched.at(episode.start, () => {
          this.faults.current.push(episode);
          this.faults.note(
            kind,
            episode.provider ? { provider: episode.provider } : { global: true },
            this.sched.now,
          );
        });
        this.sched.at(episode.end, () => {
          this.faults.current.splice(this.faults.current.indexOf(episode), 1);
        });
        t += this.chaos.exponential(DAY / perDay);
      }
    }
    // Records edited to name another endpoint (an insider), from a stream of their own.
    this.sm.create(
      EXFIL_CREDENTIALS_ID,
      JSON.stringify({
        client_id: 'client-exfil',
        client_secret: `SIMSECRET-exfil-${this.endpointChaos.hex(24)}`,
        token_endpoint_origins: [EXFIL_ORIGIN],
      }),
      uuid(this.endpointChaos),
    );
    const editsPerDay = this.faults.rates.recordEndpointEditedPerDay;
    if (editsPerDay > 0) {
      for (const c of this.connections.values()) {
        for (let t = SIM_START + this.endpointChaos.exponential(DAY / editsPerDay); t < this.end; ) {
          const kind: EditKind = this.endpointChaos.chance(0.5) ? 'unlisted' : 'unbound';
          this.sched.at(t, () => this.editEndpoint(c, kind));
          t += this.endpointChaos.exponential(DAY / editsPerDay);
        }
      }
    }
    // Grant revocations and early access-token revocations, per connection.
    for (const c of this.connections.values()) {
      this.poisson(this.faults.rates.grantRevokedPerDay, (at) =>
        this.sched.at(at, () => {
          if (this.server.revokeGrant(c.name, this.sched.now))
            this.note('grant_revoked', { connection: c.name });
        }),
      );
      this.poisson(this.faults.rates.accessTokenRevokedPerDay, (at) =>
        this.sched.at(at, () => {
          const current = this.sm.current(PREFIX + c.name);
          const token = current ? (JSON.parse(current.value) as ConnectionRecord).accessToken : undefined;
          if (!token) return;
          this.server.revokeAccessToken(token, this.sched.now);
          this.note('access_token_revoked', { connection: c.name });
        }),
      );
    }
    // Consumer floods.
    this.connectionNames.push(...this.connections.keys());
    if (this.resolved.floodPerMinute > 0) this.scheduleFlood();
    const bursts = this.resolved.floodBurstsPerDay;
    if (bursts > 0) {
      for (let t = SIM_START + this.floodRng.exponential(DAY / bursts); t < this.end; ) {
        // Just before a scheduled run, so that it runs in the middle of the burst.
        const tick = SIM_START + Math.ceil((t - SIM_START) / this.periodMs) * this.periodMs;
        this.sched.at(Math.max(SIM_START, tick - this.floodRng.between(0, 30_000)), () => this.floodBurst());
        t += this.floodRng.exponential(DAY / bursts);
      }
    }
    // Consumers.
    const mean = this.resolved.readEveryMinutes * MINUTE;
    for (const c of this.connections.values()) {
      for (let i = 0; i < this.resolved.consumers; i += 1) {
        const consumer = new SimConsumer(this, c, this.consumerRng, mean);
        this.sched.at(SIM_START + this.consumerRng.next() * mean, () => void consumer.read());
      }
    }
  }

  /** Invariant 12: the current grant of `connection`, if it has an absolute lifetime, must be signalled before it ends. */
  private watchGrantEnd(connection: string, since: number): void {
    const ends = this.server.absoluteExpiryOf(connection);
    if (!ends || ends.at > this.end + this.settings.reauthDueWithinMs) return;
    this.oracle.grantEnds(connection, since, ends.at, () => {
      const family = this.server.familyOf.get(connection);
      return family?.id === ends.family && !family.revoked;
    });
  }

  private poisson(perDay: number, at: (time: number) => void): void {
    if (perDay <= 0) return;
    for (let t = SIM_START + this.chaos.exponential(DAY / perDay); t < this.end; ) {
      at(t);
      t += this.chaos.exponential(DAY / perDay);
    }
  }

  /**
   * A connection's record as `connect` writes it (no grant time, no refresh-token expiry:
   * the first refresh sets both), or, with `grantedAt`, as the engine's last refresh of a
   * grant authorized then left it.
   */
  connectedRecord(c: ConnectionSpec, set: IssuedSet, grantedAt?: number): ConnectionRecord {
    const secretName = PREFIX + c.name;
    const record: ConnectionRecord = {
      schemaVersion: RECORD_SCHEMA_VERSION,
      connection: c.name,
      provider: this.providerSettings(c),
      status: 'active',
      accessToken: set.accessToken,
      tokenType: c.tokenType,
      expiresAt: new Date(set.expiresAt).toISOString(),
      refreshToken: this.kms.encryptNow(set.refreshToken!, refreshTokenContext(secretName)),
      refreshedAt: new Date(set.issuedAt).toISOString(),
      tokenLifetimeSeconds: Math.round(c.lifetimeMs / 1000),
      lastError: null,
    };
    if (grantedAt === undefined) return record;
    record.grantedAt = new Date(grantedAt).toISOString();
    const field = c.behaviour.response.refreshTokenExpiresInField;
    const rtExpiry = refreshTokenExpiresAt({
      behaviour: c.behaviour,
      sentAt: set.issuedAt,
      ...(field !== undefined && set.refreshTokenExpiresAt !== undefined
        ? { refreshTokenExpiresIn: Math.floor((set.refreshTokenExpiresAt - set.issuedAt) / 1000) }
        : {}),
      grantedAt,
      rotated: c.rotating,
    });
    if (rtExpiry !== undefined) record.refreshTokenExpiresAt = rtExpiry;
    return record;
  }

  // ----- the schedule -----

  private tick(k: number): void {
    const next = SIM_START + (k + 1) * this.periodMs;
    if (next < this.end) this.sched.at(next, () => this.tick(k + 1));
    const { rates } = this.faults;
    if (this.chaos.chance(rates.scheduleDrop)) {
      this.note('schedule_dropped', { global: true });
      return;
    }
    let delay = this.latency.between(0, 3_000);
    if (this.chaos.chance(rates.scheduleDelay)) {
      delay += this.chaos.between(60_000, 240_000);
      this.note('schedule_delay', { global: true });
    }
    this.sched.after(delay, () => this.startRun('scheduled'));
    if (this.chaos.chance(rates.duplicateDelivery)) {
      this.note('duplicate_delivery', { benign: true });
      this.sched.after(delay + this.chaos.between(0, 60_000), () => this.startRun('duplicate'));
    }
    if (this.chaos.chance(rates.operatorRun)) {
      this.note('operator_run', { benign: true });
      this.sched.after(this.chaos.between(0, this.periodMs), () => this.startRun('operator'));
    }
  }

  private startRun(kind: InvocationKind): void {
    const { promise } = this.startInvocation(kind, { action: 'run' }, this.config, this.timeoutMs);
    promise.catch(() => undefined);
  }

  /** Starts one Lambda invocation of the real handler on simulated ports. */
  startInvocation(
    kind: InvocationKind,
    event: unknown,
    config: RefresherConfig,
    timeoutMs: number,
  ): { inv: Invocation; promise: Promise<unknown> } {
    const flood = kind === 'flood';
    const streams = flood ? this.floodStreams : this.mainStreams;
    const { chaos, net } = streams;
    const seq = flood ? ++this.floodSeq : ++this.invocationSeq;
    const now = this.sched.now;
    // What an on-demand request's death affects; a flood's affects only the leases it holds.
    const about =
      !flood && typeof event === 'object' && event !== null && 'connection' in event
        ? String((event as { connection: unknown }).connection)
        : undefined;
    const inv = new Invocation(`${kind}-${seq}`, kind, now, now + timeoutMs, about);
    this.invocationCounts.set(kind, (this.invocationCounts.get(kind) ?? 0) + 1);
    const { rates } = this.faults;
    if (chaos.chance(rates.clockSkew)) {
      inv.skewMs = (chaos.chance(0.5) ? 1 : -1) * chaos.between(1_000, 20_000);
      inv.clockFault = true;
      // Counted here; it affects the connections this invocation then touches.
      this.note('clock_skew', { benign: true });
    }
    if (chaos.chance(rates.clockJump)) {
      const jump = (chaos.chance(0.5) ? 1 : -1) * chaos.between(1_000, 20_000);
      this.sched.after(chaos.between(0, timeoutMs), () => {
        if (!inv.alive || inv.finished) return;
        // Bounded by ±25 s in total: below the lease margin (30 s), as the design assumes.
        inv.skewMs = Math.max(-25_000, Math.min(25_000, inv.skewMs + jump));
        inv.clockFault = true;
        this.note('clock_jump', { benign: true });
        // It affects what the invocation holds now (a record written next carries the jumped
        // time), besides what it locks or refreshes from now on.
        for (const c of this.heldBy(inv)) this.faults.touch({ connection: c }, this.sched.now);
      });
    }
    this.sched.at(inv.deadline, () => {
      if (!inv.alive || inv.finished) return;
      const held = this.heldBy(inv);
      inv.kill('timeout', this.sched.now, `deadline, ${inv.steps} steps`);
      this.note('lambda_timeout', held.length > 0 ? { connection: held[0]! } : { benign: true });
      for (const c of held.slice(1)) this.faults.touch({ connection: c }, this.sched.now);
    });
    inv.onDeath(() => this.oracle.invocationDied(inv));

    const base: RefresherPorts = {
      store: new SimSecretStore(net, this.sm, inv, (id) => this.scopeOfSecret(id)),
      keys: new SimKeyService(net, this.kms, inv, (context) =>
        this.scopeOfSecret(context['token-refresher:secret'] ?? ''),
      ),
      leases: new SimLeaseStore(net, this.leases, inv),
      tokenEndpoint: new SimTokenEndpoint(
        net,
        this.server,
        this.providersByEndpoint,
        this.oracle,
        inv,
        () => this.sched.now + inv.skewMs,
        (c) => this.connections.get(c)!,
      ),
      metrics: new SimMetrics(this.oracle, inv),
      logger: new SimLogger(this.oracle, inv),
      clock: invocationClock(this.sched, inv),
      random: () => streams.engineRandom.next(),
    };
    let ports = base;
    for (const mutation of this.options.mutations ?? []) {
      ports = mutation.wrap(ports, { inv, rng: streams.mutationRng, sched: this.sched });
    }
    const promise = handleInvocation(ports, config, event, {
      awsRequestId: inv.id,
      getRemainingTimeInMillis: () => inv.deadline - this.sched.now,
    }).then(
      (response) => {
        inv.finished = true;
        this.oracle.invocationFinished(inv);
        let answer: unknown = response;
        for (const mutation of this.options.mutations ?? []) {
          if (mutation.answer)
            answer = mutation.answer(answer, { current: (c) => this.sm.current(PREFIX + c) });
        }
        return answer;
      },
      (error: unknown) => {
        inv.finished = true;
        this.oracle.invocationFinished(inv);
        this.oracle.count(`invocations.failed.${kind}`);
        this.oracle.checkText(String((error as Error)?.message), `the error of ${inv.id}`);
        throw error;
      },
    );
    return { inv, promise };
  }

  // ----- crashes -----

  private maybeCrash(inv: Invocation, where: string, chaos: Prng): boolean {
    if (inv.kind === 'consumer' || !inv.alive) return false;
    if (!chaos.chance(this.faults.rates.crashPerBoundary)) return false;
    const held = this.heldBy(inv);
    inv.kill('crash', this.sched.now, `${where} (step ${inv.steps})`);
    this.note('crash', held.length > 0 ? { connection: held[0]! } : { benign: true });
    for (const c of held.slice(1)) this.faults.touch({ connection: c }, this.sched.now);
    return true;
  }

  /** Connections whose lease `inv` holds (acquired, not released). */
  private heldBy(inv: Invocation): string[] {
    const prefix = `${inv.id}/`;
    const held: string[] = inv.about ? [inv.about] : [];
    for (const item of this.leases.items.values()) {
      if (item.connection === inv.about) continue;
      if (item.owner.startsWith(prefix) && item.outcome === undefined) held.push(item.connection);
    }
    return held;
  }

  note(kind: FaultKind, scope: FaultScope): void {
    this.faults.note(kind, scope, this.sched.now);
  }

  private scopeOfSecret(secretId: string): FaultScope {
    if (secretId.startsWith(PREFIX)) return { connection: secretId.slice(PREFIX.length) };
    if (secretId.startsWith(CLIENTS_PREFIX)) return { provider: secretId.slice(CLIENTS_PREFIX.length) };
    return { global: true };
  }

  // ----- the operator -----

  private scheduleReconnect(connection: string): void {
    if (this.reconnectPending.has(connection) || !this.connections.has(connection)) return;
    this.reconnectPending.add(connection);
    this.sched.after(15 * MINUTE + this.chaos.exponential(2 * 60 * MINUTE), () => this.reconnect(connection));
  }

  /** `token-refresher connect`: a new grant, written under the lease; discards any rescue. */
  private reconnect(connection: string): void {
    const c = this.connections.get(connection)!;
    this.operatorWrite(
      connection,
      'connect',
      () => {
        const now = this.sched.now;
        const set = this.server.connect(connection, c.provider, now);
        this.oracle.reconnected(connection, now);
        this.watchGrantEnd(connection, now);
        this.reconnectPending.delete(connection);
        return JSON.stringify(this.connectedRecord(c, set));
      },
      () => this.reconnect(connection),
      { clearRescue: true },
    );
  }

  /**
   * An operator's write (the CLI's): under the lease, with the derived `ClientRequestToken`,
   * tried again a minute later while the lease is held (`retry`). `next` makes the new value
   * from AWSCURRENT, or says there is nothing to write. Returns whether a version landed.
   */
  private operatorWrite(
    connection: string,
    purpose: string,
    next: (current: SecretVersion) => string | undefined,
    retry: () => void,
    details: { clearRescue?: boolean } = {},
  ): boolean {
    const now = this.sched.now;
    const owner = `operator-${this.invocationSeq}/${purpose}`;
    if (!this.leases.serveAcquire(connection, owner, now + MINUTE, now).acquired) {
      this.sched.after(MINUTE, retry);
      return false;
    }
    const secretName = PREFIX + connection;
    const current = this.sm.current(secretName)!;
    const value = next(current);
    if (value === undefined) {
      this.leases.serveRelease(connection, owner, 'not_sent', {});
      return false;
    }
    const put = this.sm.servePut(secretName, value, clientRequestTokenFor(secretName, current.versionId));
    this.leases.serveRelease(connection, owner, 'committed', {
      ...details,
      ...(put.ok ? { committed: { fromVersionId: current.versionId, versionId: put.value.versionId } } : {}),
    });
    return put.ok;
  }

  // ----- consumer floods -----

  private scheduleFlood(): void {
    this.sched.after(this.floodRng.exponential(MINUTE / this.resolved.floodPerMinute), () => {
      this.sendFlood(floodRequest(this.floodWorld));
      this.scheduleFlood();
    });
  }

  private floodBurst(): void {
    this.oracle.count('flood.bursts');
    const size = this.floodRng.intBetween(...BURST_SIZE);
    const spreadMs = this.floodRng.between(0, 20_000);
    for (let i = 0; i < size; i += 1) {
      const request = floodRequest(this.floodWorld);
      this.sched.after(this.floodRng.between(0, spreadMs), () => this.sendFlood(request));
    }
  }

  /** A former consumer replays the version a commit just replaced, during its lag window. */
  private maybeReplay(secretName: string): void {
    if (!secretName.startsWith(PREFIX) || !this.floodRng.chance(this.resolved.floodReplay)) return;
    const previous = this.sm.secrets.get(secretName)?.previous;
    if (previous === undefined) return;
    const connection = secretName.slice(PREFIX.length);
    const request: FloodRequest = {
      kind: 'replay',
      connection,
      ifVersion: previous,
      event: { action: 'refresh', connection, ifVersion: previous },
    };
    this.sched.after(this.floodRng.between(0, 3_000), () => this.sendFlood(request));
  }

  private get floodWorld(): FloodWorld {
    return {
      rng: this.floodRng,
      pickConnection: () => this.floodRng.pick(this.connectionNames),
      oldVersionOf: (connection) => {
        const secret = this.sm.secrets.get(PREFIX + connection);
        const old = secret?.order.filter((id) => id !== secret.current);
        return old && old.length > 0 ? this.floodRng.pick(old) : undefined;
      },
    };
  }

  /** One bogus request: a synchronous invoke of the on-demand function, as a consumer's. */
  private sendFlood(request: FloodRequest): void {
    this.oracle.count('flood.requests');
    this.oracle.count(`flood.kind.${request.kind}`);
    this.sched.after(this.floodStreams.net.latency.between(10, 40), () => {
      const { inv, promise } = this.startInvocation(
        'flood',
        request.event,
        this.onDemandConfig,
        this.onDemandTimeoutMs,
      );
      inv.onDeath(() => this.oracle.count('flood.died'));
      promise.then(
        (response) => this.oracle.floodAnswered(inv, request, response as OnDemandResponse),
        (error: unknown) =>
          this.oracle.floodRefused(
            inv,
            request,
            String((error as Error)?.message),
            this.sm.current(PREFIX + request.connection)?.versionId,
          ),
      );
    });
  }

  // ----- records that name another endpoint -----

  /**
   * Whether an active record naming these is refused: its origin is not one of the
   * deployment's (the simulated providers'), or its credentials secret is not bound to it.
   */
  private classifyEndpoint(tokenEndpoint: string, credentialsSecretId: string): EditKind | undefined {
    const origin = new URL(tokenEndpoint).origin;
    if (!this.providers.some((p) => new URL(p.tokenEndpoint).origin === origin)) return 'unlisted';
    const bound =
      credentialsSecretId === EXFIL_CREDENTIALS_ID
        ? EXFIL_ORIGIN
        : this.providers.find((p) => CLIENTS_PREFIX + p.id === credentialsSecretId)?.tokenEndpoint;
    return bound !== undefined && new URL(bound).origin === origin ? undefined : 'unbound';
  }

  /** The first whole minute from `from` at which the engine's due rule sends for this record. */
  private dueAtOf(recordJson: string, from: number): number {
    const facts = dueFactsOf(JSON.parse(recordJson) as ConnectionRecord);
    for (let t = from; t < from + 3 * DAY; t += MINUTE) {
      if (decideDue(facts, t, this.settings).due) return t;
    }
    return from + 3 * DAY;
  }

  /**
   * An insider with PutSecretValue rewrites an active record's token endpoint (its own
   * ClientRequestToken, no lease): to an unlisted origin with credentials the insider bound
   * to it, or to another provider's endpoint with the record's own credentials.
   */
  private editEndpoint(c: ConnectionSpec, kind: EditKind): void {
    const secretName = PREFIX + c.name;
    const current = this.sm.current(secretName);
    if (!current || this.oracle.endpoints.isEdited(c.name)) return;
    const record = JSON.parse(current.value) as ConnectionRecord;
    if (record.status !== 'active' || !record.provider) return;
    if (kind === 'unlisted') {
      record.provider = {
        ...record.provider,
        tokenEndpoint: EXFIL_ENDPOINT,
        clientCredentialsSecretId: EXFIL_CREDENTIALS_ID,
      };
    } else {
      const other = this.endpointChaos.pick(this.providers.filter((p) => p !== c.provider));
      record.provider = { ...record.provider, tokenEndpoint: other.tokenEndpoint };
    }
    this.note(kind === 'unlisted' ? 'record_endpoint_unlisted' : 'record_endpoint_unbound', {
      connection: c.name,
    });
    this.oracle.replacedOutsideProtocol(current.versionId, this.sched.now);
    this.sm.servePut(secretName, JSON.stringify(record), uuid(this.endpointChaos));
  }

  /** The alarm fired (the first EndpointRefused for this edit): the operator fixes the record later. */
  private scheduleEndpointFix(connection: string): void {
    this.sched.after(15 * MINUTE + this.endpointChaos.exponential(60 * MINUTE), () =>
      this.fixEndpoint(connection),
    );
  }

  /** The operator restores the record's provider settings, under the lease, with the derived token. */
  private fixEndpoint(connection: string): void {
    const c = this.connections.get(connection)!;
    let wrote = false;
    const landed = this.operatorWrite(
      connection,
      'fix-endpoint',
      (current) => {
        if (!this.oracle.endpoints.isEdited(connection)) return undefined;
        const record = JSON.parse(current.value) as ConnectionRecord;
        record.provider = this.providerSettings(c);
        record.lastError = null;
        wrote = true;
        return JSON.stringify(record);
      },
      () => this.fixEndpoint(connection),
    );
    if (wrote && !landed) this.sched.after(MINUTE, () => this.fixEndpoint(connection));
  }

  /** The provider settings `connect --provider NAME` records: the profile's, resolved. */
  private providerSettings(c: ConnectionSpec): NonNullable<ConnectionRecord['provider']> {
    return {
      tokenEndpoint: c.provider.tokenEndpoint,
      dialect: c.provider.dialect,
      clientAuth: c.provider.clientAuth,
      ...(c.provider.scope !== undefined ? { scope: c.provider.scope } : {}),
      clientCredentialsSecretId: CLIENTS_PREFIX + c.provider.id,
      profile: c.provider.id,
      // As connect stores it: parsed by the record's schema.
      behaviour: behaviourSchema.parse(c.behaviour),
    };
  }

  // ----- result -----

  private result(fates: Map<string, number>): SimulationResult {
    const byInvariant = new Map<number, number>();
    for (const v of this.oracle.violations)
      byInvariant.set(v.invariant, (byInvariant.get(v.invariant) ?? 0) + 1);
    const versionGroups = new Map<number, { connections: number; maxPer24h: number }>();
    const stats = new Map(this.oracle.versionStats().map((s) => [s.connection, s.max]));
    for (const c of this.connections.values()) {
      const minutes = c.lifetimeMs / MINUTE;
      const group = versionGroups.get(minutes) ?? { connections: 0, maxPer24h: 0 };
      group.connections += 1;
      group.maxPer24h = Math.max(group.maxPer24h, stats.get(c.name) ?? 0);
      versionGroups.set(minutes, group);
    }
    return {
      options: this.resolved,
      settings: this.settings,
      passed: this.oracle.violations.length === 0,
      violations: this.oracle.violations,
      violationsByInvariant: byInvariant,
      counts: this.oracle.counts,
      faults: this.faults.counts,
      fates,
      consumerErrors: this.oracle.consumerErrors,
      versions: [...versionGroups.entries()]
        .sort(([a], [b]) => a - b)
        .map(([lifetimeMinutes, g]) => ({ lifetimeMinutes, ...g })),
      invocations: this.invocationCounts,
      events: this.sched.events,
      digest: (this.oracle.digest >>> 0).toString(16).padStart(8, '0'),
      endedAt: this.sched.now,
      maxReportDelayMs: this.oracle.transitions.maxDelay,
      unreportedMoves: this.oracle.transitions.unreportedAtEnd(),
      maxRefusalDelayMs: this.oracle.endpoints.maxDelay,
      maxDeadToMoveMs: this.oracle.maxDeadToMoveMs,
    };
  }

  // ----- for consumers -----

  consumerStore(): SimSecretStore {
    return new SimSecretStore(this.net, this.sm, this.consumerInv, (id) => this.scopeOfSecret(id));
  }

  get onDemand(): RefresherConfig {
    return this.onDemandConfig;
  }

  get onDemandTimeout(): number {
    return this.onDemandTimeoutMs;
  }

  get prefix(): string {
    return PREFIX;
  }
}

function uuid(rng: Prng): string {
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A consumer Lambda: the real `TokenClient`, reading the simulated secret, asking the simulated refresher. */
class SimConsumer {
  private readonly client: TokenClient;

  constructor(
    private readonly sim: Simulation,
    private readonly connection: ConnectionSpec,
    private readonly rng: Prng,
    private readonly meanMs: number,
  ) {
    const store = sim.consumerStore();
    const requester: RefreshRequester = {
      requestRefresh: (name, ifVersion) => this.requestRefresh(name, ifVersion),
    };
    this.client = new TokenClient({
      prefix: sim.prefix,
      secrets: { getCurrent: (id) => store.getCurrent(id) },
      requester,
      clock: trueClock(sim.sched),
    });
  }

  async read(): Promise<void> {
    const { sim } = this;
    const name = this.connection.name;
    const started = sim.sched.now;
    try {
      const token = await this.client.getAccessToken(name);
      sim.oracle.consumerGot(name, token, started, sim.sched.now, 'getAccessToken');
      // The API call: the resource server checks the bearer token.
      if (sim.server.validate(token.accessToken, sim.sched.now) !== 'ok') {
        sim.oracle.count('consumer.api_401');
        const again = sim.sched.now;
        try {
          const renewed = await this.client.refreshAfterUnauthorized(name, token);
          sim.oracle.consumerGot(name, renewed, again, sim.sched.now, 'refreshAfterUnauthorized');
        } catch (error) {
          sim.oracle.consumerFailed(name, error, again, sim.sched.now, 'refreshAfterUnauthorized');
        }
      }
    } catch (error) {
      sim.oracle.consumerFailed(name, error, started, sim.sched.now, 'getAccessToken');
    }
    sim.sched.after(this.rng.exponential(this.meanMs), () => void this.read());
  }

  /** A synchronous Lambda invoke of the on-demand function. */
  private requestRefresh(connection: string, ifVersion: string): Promise<OnDemandResponse> {
    const { sim } = this;
    sim.oracle.count('consumer.on_demand_requests');
    return new Promise((resolve, reject) => {
      sim.sched.after(sim.net.latency.between(10, 40), () => {
        const { inv, promise } = sim.startInvocation(
          'on_demand',
          { action: 'refresh', connection, ifVersion },
          sim.onDemand,
          sim.onDemandTimeout,
        );
        inv.onDeath(() =>
          reject(
            new RefreshFailedError(
              connection,
              'internal',
              `the refresher function failed (${inv.death?.kind === 'timeout' ? 'Sandbox.Timedout' : 'Runtime.ExitError'})`,
            ),
          ),
        );
        promise.then(
          (response) => {
            sim.oracle.checkText(JSON.stringify(response), 'an on-demand response');
            sim.oracle.debug(connection, `${inv.id} answers ${JSON.stringify(response)}`);
            sim.sched.after(sim.net.latency.between(5, 20), () => resolve(response as OnDemandResponse));
          },
          () =>
            reject(new RefreshFailedError(connection, 'internal', 'the refresher function failed (Error)')),
        );
      });
    });
  }
}

/**
 * Counts metrics as CloudWatch would receive them from the EMF adapter
 * (lambda/adapters/emf-metrics.ts): a metric with dimensions is published at once (in a
 * document of its own); the others are buffered and published by `flush()`, which
 * the handler calls when the invocation ends. A process that dies first (a crash, the
 * Lambda timeout) takes its buffered metrics with it, unpublished. Checks dimension values.
 */
class SimMetrics implements Metrics {
  private buffered: { name: string; value: number; attribution?: Attribution }[] = [];

  constructor(
    private readonly oracle: Oracle,
    private readonly inv: Invocation,
  ) {}

  add(name: string, unit: MetricUnit, value: number, dimensions?: Record<string, string>): void {
    if (dimensions) {
      for (const dimension of Object.values(dimensions)) this.oracle.checkText(dimension, `metric ${name}`);
    }
    if (unit !== 'Count') return;
    if (dimensions && Object.keys(dimensions).length > 0) {
      // Counted apart from the metric's total (RefreshFailed is emitted both ways).
      const failureClass = dimensions.FailureClass;
      if (failureClass) this.oracle.count(`metric.${name}.${failureClass}`, value);
      return;
    }
    this.buffered.push({ name, value, attribution: this.oracle.metricEmitted(this.inv, name) });
  }

  flush(): void {
    if (!this.inv.alive) return;
    for (const { name, value, attribution } of this.buffered.splice(0)) {
      this.oracle.metricPublished(this.inv, name, value, attribution);
    }
  }
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * The real `StructuredLogger` (with its scrubbing) over a sink that hands every emitted
 * line to the oracle; the arguments the engine passes are checked before scrubbing too.
 */
class SimLogger extends StructuredLogger {
  constructor(
    private readonly oracle: Oracle,
    private readonly inv: Invocation,
  ) {
    const line =
      (level: Level) =>
      (message: string, fields: Record<string, unknown> = {}) =>
        oracle.logLine(inv, level, message, fields);
    const sink = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
    super(sink);
  }

  private raw(message: string, fields?: Record<string, unknown>): void {
    this.oracle.rawLogArgument(this.inv, message, fields);
  }

  override debug(message: string, fields?: Record<string, unknown>): void {
    this.raw(message, fields);
    super.debug(message, fields);
  }

  override info(message: string, fields?: Record<string, unknown>): void {
    this.raw(message, fields);
    // The run's per-connection line names the connections its ConnectionsReauthDueSoon counts.
    if (message === CONNECTION_STATE_LOG && typeof fields?.daysToReauthentication === 'number') {
      this.oracle.daysToReauthentication(this.inv, String(fields.connection), fields.daysToReauthentication);
    }
    super.info(message, fields);
  }

  override warn(message: string, fields?: Record<string, unknown>): void {
    this.raw(message, fields);
    super.warn(message, fields);
  }

  override error(message: string, fields?: Record<string, unknown>): void {
    this.raw(message, fields);
    super.error(message, fields);
  }
}
