/**
 * How many threads native work uses: `setNumThreads(n)`, else `RNN_NODE_THREADS`, else
 * `OMP_NUM_THREADS`, else the CPUs this process may use (affinity via
 * `os.availableParallelism()`, capped by a cgroup v2 CPU quota). The setting belongs to the
 * calling thread's environment: the main thread and each Worker have their own, in
 * JavaScript and in their addon instance alike.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

import { native } from './addon';
import { checkInteger } from '../util/validate';

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value.split(',')[0]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** CPUs allowed by a cgroup v2 quota (`cpu.max`), if one is set. */
function cgroupCpuLimit(): number | undefined {
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota === 'max') return undefined;
    const cpus = Math.floor(Number(quota) / Number(period));
    return cpus >= 1 ? cpus : 1;
  } catch {
    return undefined;
  }
}

/** The thread count used when none is set explicitly. */
export function defaultThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = positiveInteger(env.RNN_NODE_THREADS) ?? positiveInteger(env.OMP_NUM_THREADS);
  if (fromEnv !== undefined) return fromEnv;
  const cpus = availableParallelism();
  const quota = cgroupCpuLimit();
  return Math.max(1, quota === undefined ? cpus : Math.min(cpus, quota));
}

let explicitThreads: number | undefined;

/** Sets the default thread count of native work in this thread (main or Worker). */
export function setNumThreads(threads: number): void {
  explicitThreads = checkInteger('threads', threads, 1, 1024);
  native().setNumThreads(explicitThreads);
}

/** The default thread count of native work in this thread. */
export function getNumThreads(): number {
  return explicitThreads ?? defaultThreadCount();
}

/** Before the first model: the addon learns the default, unless setNumThreads named one. */
export function ensureThreadsConfigured(): void {
  if (explicitThreads === undefined) native().setNumThreads(defaultThreadCount());
}

/** A call's `threads` option: an integer in [1, 1024], or 0 (the thread's default) when absent. */
export function threadsOption(value: unknown, name = 'options.threads'): number {
  return value === undefined ? 0 : checkInteger(name, value, 1, 1024);
}
