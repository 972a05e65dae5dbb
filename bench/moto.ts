import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../sandbox/moto-server.js';
import { REGION } from './aws.js';

const LAUNCHER = fileURLToPath(new URL('./moto_bench_server.py', import.meta.url));

export interface BenchMoto {
  endpoint: string;
  pid: number | undefined;
  /** Creates secrets directly in moto's backend (provisioning only, never timed). */
  seedSecrets(secrets: SeedSecret[]): Promise<void>;
  /** Forgets every resource (moto's own /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface SeedSecret {
  name: string;
  value: string;
  /** Becomes the first version's id, as CreateSecret's ClientRequestToken does. */
  versionId: string;
  tags?: Record<string, string>;
}

/**
 * Starts moto through bench/moto_bench_server.py: the sandbox's serial launcher
 * (sandbox/moto_serial_server.py: moto's own app, one request at a time) plus a
 * bulk-seeding route for provisioning. Same start-up contract as `startMotoServer`.
 */
export async function startBenchMoto(): Promise<BenchMoto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(process.env.PYTHON ?? 'python3', [LAUNCHER, '127.0.0.1', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
    output = output.slice(-4000);
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
    output = output.slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`moto could not be started (python3 with moto[server]?): ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`moto exited early with code ${code}: ${output}`)));
  });
  exited.catch(() => {});
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await Promise.race([
      fetch(`${endpoint}/moto-api/`).then(
        (r) => r.ok,
        () => false,
      ),
      exited,
    ]);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto did not answer on ${endpoint}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    endpoint,
    pid: child.pid,
    async seedSecrets(secrets) {
      for (let i = 0; i < secrets.length; i += 2000) {
        const response = await fetch(`${endpoint}/bench/seed-secrets`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ region: REGION, secrets: secrets.slice(i, i + 2000) }),
        });
        if (!response.ok)
          throw new Error(`seeding secrets failed: HTTP ${response.status} ${await response.text()}`);
      }
    },
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
