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

/** CPU ms of the moto processes (summed when there is one per service). */
function motoCpuMs(pids: number | undefined | readonly (number | undefined)[]): number {
  const list = Array.isArray(pids) ? pids : [pids];
  return list.reduce((sum: number, pid) => sum + processCpuMs(pid), 0);
}

/** Starts measuring CPU of this process and moto (one process, or one per service); call the result to stop. */
export function cpuWindow(motoPid: number | undefined | readonly (number | undefined)[]): () => CpuWindow {
  const self = ownCpuMs();
  const moto = motoCpuMs(motoPid);
  const elu = performance.eventLoopUtilization();
  return () => ({
    selfMs: ownCpuMs() - self,
    motoMs: motoCpuMs(motoPid) - moto,
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
  });
}
