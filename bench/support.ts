/** What the benchmarks share: a process's CPU and memory from /proc, percentiles, and the settings a run changed. */
import { readFileSync } from 'node:fs';
import { CONFIG_VARIABLES } from '../src/config.js';

/** CPU milliseconds (user + system) a process has used so far. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A process's resident memory now (VmRSS) or at its peak (VmHWM), in MB. */
export function memoryMb(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? 0) / 1024);
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The product's settings this run takes from the environment that a new user would not have set (the processes a
 * benchmark starts inherit it), as "NAME=value" ("NAME=(set)" for secrets), or "none". `own`: what the benchmark sets.
 */
export function changedSettings(own: Record<string, unknown> = {}): string {
  const changed = [...CONFIG_VARIABLES.keys()]
    .filter((name) => process.env[name] !== undefined && !(name in own))
    .map((name) => (/SECRET|KEY|TOKEN|PASSWORD/.test(name) ? `${name}=(set)` : `${name}=${process.env[name]}`));
  return changed.join(', ') || 'none';
}
