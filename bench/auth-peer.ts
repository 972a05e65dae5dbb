import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AuthServerClient, Fault } from '../sandbox/auth-server.js';

type AuthCommand =
  | { type: 'mint'; clientId: string; count: number }
  | { type: 'fault'; fault: Fault }
  | { type: 'clear' }
  | { type: 'stats' }
  | { type: 'stop' };

export type AuthRequest = { id: number } & AuthCommand;

export type AuthResponse = { id: number } & ({ ok: true; result: unknown } | { ok: false; error: string });

export interface AuthStats {
  /** Refresh tokens presented to the token endpoint. */
  presented: number;
  answered200: number;
  /** Consumed refresh tokens presented again (must stay 0). */
  reused: number;
  /** CPU time the auth server process has used so far. */
  cpuMs: number;
}

/** The oidc-provider fixture running in a child process, driven over IPC. */
export class AuthPeer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly tokenEndpoint: string,
    readonly clients: readonly AuthServerClient[],
  ) {
    child.on('message', (raw) => {
      const message = raw as AuthResponse;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(message.error));
    });
  }

  static async start(options: { accessTokenTtlSeconds: number }): Promise<AuthPeer> {
    const child = fork(fileURLToPath(new URL('./auth-worker.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx', '--no-warnings'],
      env: { ...process.env, BENCH_ACCESS_TOKEN_TTL: String(options.accessTokenTtlSeconds) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const hello = await new Promise<{ tokenEndpoint: string; clients: AuthServerClient[] }>(
      (resolve, reject) => {
        child.once('message', (raw) => {
          const message = raw as AuthResponse;
          if (message.ok) resolve(message.result as { tokenEndpoint: string; clients: AuthServerClient[] });
          else reject(new Error(message.error));
        });
        child.once('exit', (code) => reject(new Error(`auth server exited with ${code}: ${stderr}`)));
      },
    );
    return new AuthPeer(child, hello.tokenEndpoint, hello.clients);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private call<T>(request: AuthCommand): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...request, id });
    });
  }

  mint(clientId: string, count: number): Promise<string[]> {
    return this.call({ type: 'mint', clientId, count });
  }

  injectFault(fault: Fault): Promise<void> {
    return this.call({ type: 'fault', fault });
  }

  clearFaults(): Promise<void> {
    return this.call({ type: 'clear' });
  }

  stats(): Promise<AuthStats> {
    return this.call({ type: 'stats' });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.call({ type: 'stop' }).catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
