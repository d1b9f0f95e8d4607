/**
 * `rnn-node tune work`: a BullMQ worker that trains studies' trials, one job at a time with
 * all its threads. Per job: the payload checked, the study's data read from shared storage
 * (checked against its SHA-256, kept while its jobs keep coming), then the trial's job
 * (trial-job.ts) with its events pushed to the study's Redis journal.
 *
 * Before each event the worker renews its lock on the job: a worker whose lock was lost (it
 * stalled so long that BullMQ gave the job to another) stops there and writes nothing more,
 * so a trial's results are recorded by one worker. A worker killed mid-trial loses its lock
 * when it expires; the stalled-job check puts the job back and another worker resumes the
 * trial from its checkpoint (at most the epoch in progress is trained again).
 */
import { hostname } from 'node:os';

import { bullmq, checkReachable, type RedisTarget } from '../../scale/queue/connection';
import { superviseWorker } from '../../scale/queue/worker-lifecycle';
import { StudyError } from '../../util/errors';
import type { Dataset } from '../../data/sequence-set';
import type { StudyEvent } from '../journal';
import { readStudyData } from '../study-data-file';
import { JobLostError, runTrialJob, type TrialJobOutcome } from '../trial-job';
import type { TrialContext } from '../trial-runner';
import { PUSH_AS_HOLDER, studyClient, studyKeys } from './redis-journal';
import { readTrialPayload, TrialPayloadError, TUNE_QUEUE } from './trial-payload';

export interface TuneWorkOptions {
  target: RedisTarget;
  prefix: string;
  threads: number | undefined;
  exitWhenIdle: boolean;
  /** Milliseconds a job's lock lasts without renewal (renewed every half of it). */
  lockDuration: number;
  /** Times a job may lose its worker before it counts as failed. */
  maxStalledCount: number;
  log: (line: string) => void;
}

/** How long the queue must stay empty before an exitWhenIdle worker leaves (a study enqueues
 * its next job within moments of the last one's end). */
const IDLE_MS = 3000;

/**
 * Runs until SIGTERM/SIGINT or, with exitWhenIdle, a queue empty for IDLE_MS. On a signal the
 * current trial stops at its next epoch end (its checkpoint saved); the study gives it to
 * another worker, which resumes it.
 */
export async function runTuneWorker(o: TuneWorkOptions): Promise<number> {
  await checkReachable(o.target);
  const { Worker, Queue, UnrecoverableError } = bullmq();
  const client = studyClient(o.target.connection);
  let fatal: Error | null = null;
  // Set once the worker exists (the processor only runs after that).
  let stop: () => Promise<void> = async () => undefined;
  const writer = `worker@${hostname()}:${process.pid}`;
  let leaving = false;
  let data: { sha256: string; sets: Record<'train' | 'validation', Dataset> } | null = null;
  const worker = new Worker<unknown, { outcome: TrialJobOutcome }>(
    TUNE_QUEUE,
    async (job, token) => {
      let payload;
      try {
        payload = readTrialPayload(job.data);
      } catch (e) {
        if (!(e instanceof TrialPayloadError)) throw e;
        o.log(`job ${job.id} refused: ${e.message}`);
        throw new UnrecoverableError(e.message);
      }
      const keys = studyKeys(o.prefix, payload.study);
      const { id, rung } = payload.job;
      if ((await client.get(keys.stop)) !== null) return { outcome: 'stopped' };
      if (data?.sha256 !== payload.data.sha256) {
        try {
          data = { sha256: payload.data.sha256, sets: readStudyData(payload.data.path, payload.data.sha256) };
        } catch (e) {
          // This worker cannot see the study's data: it can do none of its jobs. It says so
          // once and leaves; the job is retried by another worker.
          if (e instanceof StudyError && !fatal) {
            fatal = e;
            setImmediate(() => void stop());
          }
          throw e;
        }
      }
      const ctx: TrialContext = { train: data.sets.train, validation: data.sets.validation, input: payload.input, classes: payload.classes, objective: payload.objective, maxEpochs: payload.maxEpochs, threads: o.threads, checkpoints: payload.checkpoints, seed: payload.seed };
      o.log(`${payload.study}: trial ${id} to rung ${rung} (${payload.job.targetEpochs} epochs), attempt ${job.attemptsMade + 1}`);
      const lockKey = `${worker.toKey(job.id!)}:lock`;
      const record = async (event: StudyEvent) => {
        // Only the job's holder writes (one script: the lock checked, then the push), and a
        // rung reached or a trial's end only once, even when a job is done again (its worker
        // died after recording them, before BullMQ heard the job was done).
        const once = event.type === 'rung' ? `rung:${event.id}:${event.rung}` : event.type === 'end' ? `end:${event.id}` : '';
        let pushed: unknown;
        try {
          pushed = await client.eval(PUSH_AS_HOLDER, 3, keys.events, keys.once, lockKey, JSON.stringify({ w: writer, e: event }), token!, once);
        } catch (e) {
          // Redis away: not the trial's failure; the job is tried again.
          throw new JobLostError(`${payload.study}: trial ${id}: Redis: ${(e as Error).message.split('\n')[0]}`);
        }
        if (pushed === -1) throw new JobLostError(`${payload.study}: trial ${id}'s job went to another worker`);
      };
      const outcome = await runTrialJob(ctx, payload.job, payload.settings, { record, goOn: async () => !leaving && (await client.get(keys.stop)) === null });
      o.log(`${payload.study}: trial ${id} ${outcome}`);
      return { outcome };
    },
    {
      connection: o.target.connection, prefix: o.prefix, concurrency: 1, autorun: true,
      lockDuration: o.lockDuration, stalledInterval: Math.max(100, Math.floor(o.lockDuration / 2)), maxStalledCount: o.maxStalledCount, drainDelay: 1,
    },
  );
  worker.on('error', (e) => o.log(`Redis: ${e.message.split('\n')[0]}`));
  worker.on('failed', (job, e) => o.log(`job ${job?.id ?? '?'} failed: ${e.message}`));
  const lifecycle = superviseWorker({
    close: async () => {
      await worker.close();
      client.disconnect();
    },
    watcher: o.exitWhenIdle ? new Queue(TUNE_QUEUE, { connection: o.target.connection, prefix: o.prefix }) : null,
    idleMs: IDLE_MS,
    pollMs: 500,
    onSignal: () => {
      o.log('stopping: the current trial stops at its epoch end');
      leaving = true;
    },
  });
  stop = lifecycle.stop;
  await lifecycle.finished;
  if (fatal) {
    o.log((fatal as Error).message);
    return 1;
  }
  return 0;
}
