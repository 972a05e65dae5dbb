interface Entry {
  time: number;
  seq: number;
  fn: () => void;
}

/**
 * Discrete-event scheduler over virtual time. Every simulated port call, sleep and
 * scheduled invocation is an event at a virtual time; nothing uses a real timer.
 *
 * The loop takes the earliest event (ties broken by insertion order), runs it — which
 * typically resolves a promise the engine awaits — and then lets every microtask that
 * follows run to quiescence before the next event. One `setImmediate` is enough for
 * that: the engine does no real I/O, so all its continuations are microtasks, and Node
 * drains the microtask (and nextTick) queues completely before any macrotask. The order
 * of everything is therefore a function of the seed only.
 */
export class Scheduler {
  private heap: Entry[] = [];
  private seq = 0;
  /** Virtual epoch milliseconds. */
  now: number;
  /** Events run so far. */
  events = 0;

  constructor(start: number) {
    this.now = start;
  }

  /** Runs `fn` at virtual time `time` (never before now). */
  at(time: number, fn: () => void): void {
    this.push({ time: Math.max(time, this.now), seq: this.seq++, fn });
  }

  after(ms: number, fn: () => void): void {
    this.at(this.now + Math.max(0, ms), fn);
  }

  /** Runs events in order until the next one is later than `until`; then sets now to `until`. */
  run(until: number, onEvent?: () => boolean): Promise<void> {
    return new Promise<void>((done) => {
      const step = () => {
        if (onEvent && this.events > 0 && !onEvent()) return done();
        const head = this.heap[0];
        if (!head || head.time > until) {
          this.now = until;
          return done();
        }
        this.pop();
        this.now = head.time;
        this.events += 1;
        head.fn();
        // Runs after every microtask the event caused (and their followers) has run.
        setImmediate(step);
      };
      step();
    });
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (heap.length === 0 || !last) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r]!, heap[l]!) ? r : l;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

function before(x: Entry, y: Entry): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
