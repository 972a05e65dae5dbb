import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cold-start.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  date: string;
  commit: string;
  /** Whether the work tree had uncommitted changes when the benchmark ran. */
  dirty: boolean;
  versions: Record<string, string>;
  loadAverageStart: number;
  loadAverageEnd?: number;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name: string): string {
  try {
    const json = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    };
    return json.version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
    date: new Date().toISOString(),
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    dirty: run('git', ['status', '--porcelain', '--untracked-files=no']) !== '',
    versions: {
      moto: run(process.env.PYTHON ?? 'python3', ['-c', 'import moto; print(moto.__version__)']),
      'oidc-provider': packageVersion('oidc-provider'),
      '@aws-sdk/client-secrets-manager': packageVersion('@aws-sdk/client-secrets-manager'),
      '@aws-lambda-powertools/parameters': packageVersion('@aws-lambda-powertools/parameters'),
      esbuild: packageVersion('esbuild'),
      zod: packageVersion('zod'),
    },
    loadAverageStart: loadavg()[0]!,
  };
}
