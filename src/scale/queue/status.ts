/**
 * `queue status` and `queue collect`: a job's chunks counted by state (from BullMQ), its
 * records per second and ETA (from the finished chunks' results and times), and the merge of
 * its parts once every chunk is done.
 */
import { bullmq, checkReachable, metaClient, QUEUE_NAME, QueueRuntimeError, type RedisTarget } from './connection';
import { chunkId, metaKey, type JobMeta } from './job';
import type { ChunkResult } from './work';

export interface JobStatus {
  name: string;
  total: number;
  done: number;
  /** Chunks whose every attempt failed. */
  failed: number;
  active: number;
  records: number;
  recordsPerSecond: number;
  /** Null until a chunk has finished, 0 when nothing is left. */
  etaSeconds: number | null;
  /** The failed chunks (1-based), each with its last error. */
  failures: { chunk: number; error: string }[];
  output: string;
}

export async function readMeta(target: RedisTarget, prefix: string, name: string): Promise<JobMeta> {
  const client = metaClient(target);
  try {
    const text = await client.get(metaKey(prefix, name));
    if (text === null) throw new QueueRuntimeError(`no job named ${JSON.stringify(name)} in the queue (prefix ${JSON.stringify(prefix)})`);
    return JSON.parse(text) as JobMeta;
  } catch (e) {
    if (e instanceof QueueRuntimeError) throw e;
    throw new QueueRuntimeError(`cannot read the job from Redis at ${target.url}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    client.disconnect();
  }
}

export async function jobStatus(target: RedisTarget, prefix: string, name: string): Promise<JobStatus> {
  const meta = await readMeta(target, prefix, name);
  const { Queue } = bullmq();
  const queue = new Queue(QUEUE_NAME, { connection: target.connection, prefix });
  try {
    const jobs = await Promise.all(Array.from({ length: meta.total }, (_, i) => queue.getJob(chunkId(name, i))));
    let done = 0, failed = 0, active = 0, records = 0;
    let firstStart = Infinity, lastFinish = 0;
    const failures: JobStatus['failures'] = [];
    for (const [i, job] of jobs.entries()) {
      if (!job) continue;
      const state = await job.getState();
      if (state === 'completed') {
        done++;
        records += (job.returnvalue as ChunkResult | undefined)?.records ?? 0;
        if (job.processedOn) firstStart = Math.min(firstStart, job.processedOn);
        if (job.finishedOn) lastFinish = Math.max(lastFinish, job.finishedOn);
      } else if (state === 'failed') {
        failed++;
        failures.push({ chunk: i + 1, error: (job.failedReason ?? 'unknown error').split('\n')[0] });
      } else if (state === 'active') {
        active++;
      }
    }
    const seconds = done > 0 ? Math.max(1e-3, ((active > 0 ? Date.now() : lastFinish) - firstStart) / 1000) : 0;
    const perChunk = done > 0 ? seconds / done : null;
    const left = meta.total - done - failed;
    return {
      name, total: meta.total, done, failed, active, records,
      recordsPerSecond: done > 0 ? records / seconds : 0,
      etaSeconds: left === 0 ? 0 : perChunk === null ? null : perChunk * left,
      failures, output: meta.output,
    };
  } finally {
    await queue.close();
  }
}

/** Polls until every chunk is done or failed; `onProgress` sees each status. */
/** Polls until every chunk is done or failed; with `timeoutSeconds`, gives up after that long
 * (a job whose workers are gone would otherwise be waited for forever). */
export async function waitForJob(target: RedisTarget, prefix: string, name: string, onProgress: (s: JobStatus) => void, pollMs = 500, timeoutSeconds?: number): Promise<JobStatus> {
  await checkReachable(target);
  const deadline = timeoutSeconds === undefined ? Infinity : performance.now() + 1000 * timeoutSeconds;
  for (;;) {
    const status = await jobStatus(target, prefix, name);
    onProgress(status);
    if (status.done + status.failed >= status.total) return status;
    if (performance.now() >= deadline)
      throw new QueueTimeoutError(`${name}: still ${status.total - status.done - status.failed} of ${status.total} chunks to go after --timeout ${timeoutSeconds} s (${status.active} active; are workers running?)`);
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - performance.now()))));
  }
}

export class QueueTimeoutError extends QueueRuntimeError {}
