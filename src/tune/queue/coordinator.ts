/**
 * The study's side of a distributed study: the one place that decides (the study loop runs
 * here, unchanged), with each job put on the BullMQ queue instead of run in this process.
 * A job's events come from its worker through the Redis journal; this side reads them back
 * (every half second, and when the job ends) into the study's state.
 *
 * A worker that dies mid-trial holds a lock that expires; BullMQ's stalled-job check puts the
 * job back and another worker resumes the trial from its checkpoint. When the budget is
 * spent, the stop key tells running jobs to end at their next epoch, and jobs still waiting
 * are taken off the queue. Jobs of an earlier run of the study that are still running are
 * adopted: their trials are not started twice.
 */
import type { Job, Queue, QueueEvents } from 'bullmq';
import type Redis from 'ioredis';

import { bullmq, type RedisTarget } from '../../scale/queue/connection';
import type { StudyEvent, StudyState } from '../journal';
import type { Executor } from '../study-loop';
import type { TrialJobOutcome, TrialJobSpec } from '../trial-job';
import type { TrialRecord } from '../types';
import type { RedisJournal } from './redis-journal';
import { studyKeys } from './redis-journal';
import { TUNE_QUEUE, type TrialPayload } from './trial-payload';

const POLL_MS = 500;
const WAITING = ['waiting', 'delayed', 'prioritized'] as const;

export interface CoordinatorOptions {
  target: RedisTarget;
  prefix: string;
  study: string;
  client: Redis;
  journal: RedisJournal;
  state: StudyState;
  /** Applies another process's event to the study (state, progress). */
  apply: (event: StudyEvent) => void;
  payloadOf: (job: TrialJobSpec, trial: TrialRecord) => TrialPayload;
  /** Jobs on the queue at once; default: one per connected worker. */
  parallel?: number;
  stopAll: () => boolean;
  /** Distinguishes this run's job ids from an earlier run's. */
  session: number;
}

export interface Coordinator extends Executor {
  /** Trials whose jobs an earlier run left running, with their ends. */
  adopted: Map<number, Promise<void>>;
  close(): Promise<void>;
}

/** A trial's state after its job's events: ended, waiting at its rung, or to be resumed. */
function settle(trial: TrialRecord, rung: number, lastRung: boolean): TrialJobOutcome {
  if (trial.state === 'complete') return 'reached';
  if (trial.state === 'failed' || trial.state === 'infeasible' || trial.state === 'pruned') return 'ended';
  if (trial.rung >= rung) {
    if (!lastRung) trial.state = 'paused';
    return 'reached';
  }
  trial.state = 'interrupted';
  return 'stopped';
}

export async function openCoordinator(o: CoordinatorOptions): Promise<Coordinator> {
  const { Queue, QueueEvents } = bullmq();
  const keys = studyKeys(o.prefix, o.study);
  const queue: Queue = new Queue(TUNE_QUEUE, { connection: o.target.connection, prefix: o.prefix });
  const events: QueueEvents = new QueueEvents(TUNE_QUEUE, { connection: o.target.connection, prefix: o.prefix });
  await events.waitUntilReady();
  await o.client.del(keys.stop);  // a new run: the budget is judged again
  let workers = 0;
  let onChange: () => void = () => undefined;
  let syncing: Promise<void> = Promise.resolve();
  const sync = () => {
    syncing = syncing.then(async () => {
      for (const e of await o.journal.sync()) o.apply(e);
    });
    return syncing;
  };
  // Jobs still waiting for a worker: taken off the queue when the budget is spent.
  const waiting = new Map<string, { job: Job; cancel: () => void }>();
  let stopping = false;
  const tick = async () => {
    await sync().catch(() => undefined);  // Redis away for a moment: the next tick reads it
    const count = await queue.getWorkersCount().catch(() => workers);
    if (count !== workers) {
      workers = count;
      onChange();
    }
    if (o.stopAll()) {
      if (!stopping) await o.client.set(keys.stop, '1').then(() => (stopping = true), () => undefined);
      for (const [id, w] of waiting) {
        const state = await w.job.getState().catch(() => 'unknown');
        if ((WAITING as readonly string[]).includes(state)) {
          await w.job.remove().then(() => {
            waiting.delete(id);
            w.cancel();
          }, () => undefined);  // taken by a worker meanwhile: it stops at its next epoch
        }
      }
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void tick().finally(() => (busy = false));
  }, POLL_MS);
  await tick();

  // An earlier run's jobs: those waiting are taken back (this run decides again), those
  // running are adopted.
  const adopted = new Map<number, Promise<void>>();
  for (const job of await queue.getJobs(['active', ...WAITING])) {
    const data = job?.data as Partial<TrialPayload> | undefined;
    if (!job || data?.study !== o.study || !data.job) continue;
    const state = await job.getState();
    if (state !== 'active' && (await job.remove().then(() => true, () => false))) continue;
    const spec = data.job;
    adopted.set(spec.id, job.waitUntilFinished(events).then(() => undefined, () => undefined).then(sync).then(() => {
      const trial = o.state.trials.get(spec.id);
      if (trial) settle(trial, spec.rung, spec.lastRung);
    }));
  }

  return {
    adopted,
    maxCapacity: o.parallel ?? 64,
    capacity: () => o.parallel ?? Math.max(1, workers),
    onCapacityChange: (wake) => {
      onChange = wake;
    },
    async run(spec, trial) {
      await o.journal.flush();  // the decision is in Redis before a worker sees the job
      const jobId = `${o.study}.t${spec.id}.r${spec.rung}.s${o.session}`;
      const job = await queue.add('trial', o.payloadOf(spec, trial), { jobId, removeOnComplete: true, removeOnFail: { count: 1000 } });
      let error: Error | null = null;
      await new Promise<void>((done) => {
        waiting.set(jobId, { job, cancel: done });
        job.waitUntilFinished(events).then(
          () => done(),
          (e: Error) => {
            error = e;
            done();
          },
        );
      });
      waiting.delete(jobId);
      await sync();
      const outcome = settle(trial, spec.rung, spec.lastRung);
      // A job that failed without its trial's end (workers died too often, a worker could not
      // read the study's data): the trial failed, with the reason.
      if (error !== null && outcome !== 'ended' && outcome !== 'reached') {
        const event: StudyEvent = { type: 'end', id: spec.id, state: 'failed', error: `its job failed on the queue: ${(error as Error).message}`, at: Date.now() };
        o.journal.append(event);
        o.apply(event);
        await o.journal.flush();
        return 'ended';
      }
      return outcome;
    },
    async close() {
      clearInterval(timer);
      await syncing.catch(() => undefined);
      await events.close();
      await queue.close();
    },
  };
}
