import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Finds a free loopback port by binding port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

export interface MotoServer {
  endpoint: string;
  /** The moto process (so a caller can check that none is left behind). */
  pid?: number;
  stop(): Promise<void>;
}

/** The one line a missing moto gets: how to install it. */
export const MOTO_MISSING =
  "moto is not installed for python3: install it with  python3 -m pip install 'moto[server]==5.*'  (or set PYTHON to a python that has it)";

const SERIAL_LAUNCHER = fileURLToPath(new URL('./moto_serial_server.py', import.meta.url));

/**
 * Starts moto on a free loopback port and waits until it answers. moto_server serves
 * requests on threads, and then two concurrent DynamoDB conditional writes to one item
 * can both succeed; real DynamoDB serialises them. So moto runs through
 * `moto_serial_server.py`, which serves one request at a time.
 * Throws when it cannot start: integration tests fail, they never skip.
 */
export async function startMotoServer(
  options: {
    startTimeoutMs?: number;
    /**
     * Run moto in its own process group, so a Ctrl-C in the terminal reaches only the
     * caller, which then stops moto itself once nothing uses it (the demo does).
     */
    detached?: boolean;
  } = {},
): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let output = '';
  try {
    child = spawn(process.env.PYTHON ?? 'python3', [SERIAL_LAUNCHER, '127.0.0.1', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
  } catch (error) {
    throw new Error(`moto_server could not be started: ${String(error)}`);
  }
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`moto_server could not be started (${error.message}): ${MOTO_MISSING}`)),
    );
    child.once('exit', (code) =>
      reject(
        /No module named '(moto|werkzeug)/.test(output)
          ? new Error(MOTO_MISSING)
          : new Error(`moto_server exited early with code ${code}: ${output.slice(-2000)}`),
      ),
    );
  });
  spawnError.catch(() => {});
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    try {
      const ready = await Promise.race([fetch(`${endpoint}/moto-api/`).then((r) => r.ok), spawnError]);
      if (ready) break;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('moto')) throw error;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `moto_server did not answer on ${endpoint} within the start timeout: ${output.slice(-2000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    endpoint,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
