import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** CPU milliseconds (user + system) another process has used, from /proc (Linux). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/** This process's CPU milliseconds (all threads). */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export interface CpuWindow {
  /** CPU ms this (the refresher's) process used. */
  selfMs: number;
  /** CPU ms the moto process used. */
  motoMs: number;
  /** Fraction of the window the main thread's event loop was busy. */
  eventLoopUtilization: number;
}

/** Starts measuring CPU of this process and moto; call the result to stop. */
export function cpuWindow(motoPid: number | undefined): () => CpuWindow {
  const self = ownCpuMs();
  const moto = processCpuMs(motoPid);
  const elu = performance.eventLoopUtilization();
  return () => ({
    selfMs: ownCpuMs() - self,
    motoMs: processCpuMs(motoPid) - moto,
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
  });
}
