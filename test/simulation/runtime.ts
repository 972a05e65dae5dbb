import type { Clock } from '../../lambda/core/ports.js';
import type { FaultKind, FaultScope, Faults } from './faults.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';

export type InvocationKind = 'scheduled' | 'duplicate' | 'operator' | 'on_demand' | 'flood' | 'consumer';
export type DeathKind = 'crash' | 'timeout';

/** A promise that never settles: what a dead process's pending calls become. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/**
 * One Lambda invocation (one process). It can die between any two steps (an injected
 * crash) or be killed at its deadline (the Lambda timeout); from then on none of its
 * pending or future port calls or sleeps resolve, so it consumes no more scheduler time.
 * Requests it already put on the wire still take effect at their server.
 */
export class Invocation {
  alive = true;
  finished = false;
  death?: { kind: DeathKind; at: number; where: string; hung: boolean };
  /** An injected clock skew or jump affected this invocation. */
  clockFault = false;
  /** Engine clock offset from true time (injected skew and jumps). */
  skewMs = 0;
  /** Port calls issued, for "the k-th step" in traces. */
  steps = 0;
  /** Number of port calls currently held in flight by an injected delay (hung). */
  hungCalls = 0;
  private deathListeners: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly kind: InvocationKind,
    readonly startedAt: number,
    /** True-time deadline (start + Lambda timeout). */
    readonly deadline: number,
    /** For an on-demand request: the connection it is about (what its death affects). */
    readonly about?: string,
  ) {}

  onDeath(listener: () => void): void {
    if (!this.alive) listener();
    else this.deathListeners.push(listener);
  }

  kill(kind: DeathKind, at: number, where: string): void {
    if (!this.alive || this.finished) return;
    this.alive = false;
    this.death = { kind, at, where, hung: this.hungCalls > 0 };
    for (const listener of this.deathListeners.splice(0)) listener();
  }
}

/** The invocation's view of time: true time plus its skew; sleeps are scheduler events. */
export function invocationClock(sched: Scheduler, inv: Invocation): Clock {
  return {
    now: () => sched.now + inv.skewMs,
    sleep: (ms) => {
      if (!inv.alive) return never();
      return new Promise<void>((resolve) => {
        sched.after(Math.max(0, ms), () => {
          if (inv.alive) resolve();
        });
      });
    },
  };
}

/** The true clock, for servers and consumers. */
export function trueClock(sched: Scheduler): Clock {
  return {
    now: () => sched.now,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        sched.after(Math.max(0, ms), resolve);
      }),
  };
}

/** What a server did with a request: a value, or an error to throw at the caller. */
export type ServerResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** How one remote call behaves. The effect runs at the server, at one instant of virtual time. */
export interface CallSpec<T> {
  operation: string;
  /** Request leg (client → server), ms. */
  requestMs: number;
  /** Response leg (server → client), ms. */
  responseMs: number;
  /**
   * Runs at the server when the request arrives: applies the call (or refuses it) and
   * returns what the caller will see.
   */
  server: () => ServerResult<T>;
}

/** Something that can kill invocations at step boundaries. */
export interface CrashPolicy {
  /** Returns true (and kills `inv`) when the invocation dies at this boundary. */
  maybeCrash(inv: Invocation, where: string): boolean;
}

/**
 * Sends one call from an invocation: it can die before sending; the request takes
 * effect at the server after its latency even if the sender has died meanwhile; the
 * answer then reaches the sender, unless it is dead or dies right then.
 */
export function remoteCall<T>(
  sched: Scheduler,
  crash: CrashPolicy,
  inv: Invocation,
  spec: CallSpec<T>,
): Promise<T> {
  if (!inv.alive) return never();
  inv.steps += 1;
  if (crash.maybeCrash(inv, `before ${spec.operation}`)) return never();
  return new Promise<T>((resolve, reject) => {
    // One event: the request takes effect, and its (short) response leg is folded into the
    // request leg. The boundary after the call is still a place to die: the effect stays.
    sched.after(spec.requestMs + spec.responseMs, () => {
      const result = spec.server();
      if (!inv.alive) return;
      if (crash.maybeCrash(inv, `after ${spec.operation}`)) return;
      if (result.ok) resolve(result.value);
      else reject(result.error);
    });
  });
}

/** An error shaped like an AWS SDK service exception (what the adapters look at: `name`). */
export function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'server', $metadata: { httpStatusCode: 500 } });
}

/** Shared by the simulated services. */
export interface Net {
  sched: Scheduler;
  faults: Faults;
  crash: CrashPolicy;
  /** Latency draws. */
  latency: Prng;
  /** Fault draws. */
  chaos: Prng;
  /**
   * Draws for the faults aimed at the write protocol (stale reads, write outages, refused
   * rescues). A stream of their own: until one of them fires, a run draws from `chaos`
   * exactly as it did before they existed.
   */
  protocolChaos: Prng;
  note(kind: FaultKind, scope: FaultScope): void;
}
