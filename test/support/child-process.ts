import { type SpawnOptions, spawn } from 'node:child_process';

export interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with no stdin and collects what it prints; `onStderr` sees stderr so far. */
export function spawnCaptured(
  command: string,
  args: string[],
  options: SpawnOptions & { onStderr?: (text: string) => void } = {},
): Promise<Spawned> {
  const { onStderr, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
      onStderr?.(stderr);
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** {@link spawnCaptured}, failing with everything the command printed unless it exits 0. */
export async function spawnChecked(
  command: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<Spawned> {
  const ran = await spawnCaptured(command, args, options);
  if (ran.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')}${options.cwd ? ` (in ${options.cwd})` : ''} exited ${ran.code}\n${ran.stdout}\n${ran.stderr}`,
    );
  }
  return ran;
}
