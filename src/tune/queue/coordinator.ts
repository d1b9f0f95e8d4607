/**
 * The study's side of a distributed study: the one place that decides (the study loop runs
 * here, unchanged), with each job put on the BullMQ queue instead of run in this process.
 * A job's events come from its worker through the Redis journal; this side reads them back
 * (every half second, and when the job ends) into the study's state.
 *
 * A worker that dies mid-trial holds a lock that expires; BullMQ's stalled-job check (run by
 * the other workers) puts the job back and another worker resumes the trial from its
 * checkpoint. When the budget is spent, the stop key tells running jobs to end at their next
 * epoch, jobs still waiting are taken off the queue, and with no worker left the study stops
 * waiting for the jobs of dead ones (their trials resume in the next run). Jobs of an earlier
 * run that are still running are adopted: their trials are not started twice. One
 * coordinator per study: a lease in Redis, renewed each tick.
 */
import type { Job, Queue, QueueEvents } from 'bullmq';
import type Redis from 'ioredis';

import { bullmq, type RedisTarget } from '../../scale/queue/connection';
import { StudyError } from '../../util/errors';
import type { StudyEvent, StudyState } from '../journal';
import type { Executor } from '../study-loop';
import type { TrialJobOutcome, TrialJobSpec } from '../trial-job';
import type { TrialRecord } from '../types';
import type { RedisJournal } from './redis-journal';
import { studyKeys } from './redis-journal';
import { TUNE_QUEUE, type TrialPayload } from './trial-payload';

const POLL_MS = 500;
const LEASE_MS = 5000;
const WAITING = ['waiting', 'delayed', 'prioritized'] as const;
/** Attempts of a job whose worker failed it for a reason of its own (Redis away, no shared folder). */
const ATTEMPTS = 3;

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

const TAKE_LEASE = "local v = redis.call('GET', KEYS[1]) if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 else return v end";
const DROP_LEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export async function openCoordinator(o: CoordinatorOptions): Promise<Coordinator> {
  const keys = studyKeys(o.prefix, o.study);
  const lease = await o.client.eval(TAKE_LEASE, 1, keys.lease, o.journal.writer, LEASE_MS);
  if (lease !== 1) throw new StudyError(`study ${o.study} is being run by another coordinator (${String(lease)}); one run of a study at a time`);
  const { Queue, QueueEvents } = bullmq();
  const queue: Queue = new Queue(TUNE_QUEUE, { connection: o.target.connection, prefix: o.prefix });
  const events: QueueEvents = new QueueEvents(TUNE_QUEUE, { connection: o.target.connection, prefix: o.prefix });
  let timer: NodeJS.Timeout | undefined;
  const shut = async () => {
    clearInterval(timer);
    await events.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    await o.client.eval(DROP_LEASE, 1, keys.lease, o.journal.writer).catch(() => undefined);
  };
  try {
    await events.waitUntilReady();
    await o.client.del(keys.stop);  // a new run: the budget is judged again
    let workers = 0;
    let onChange: () => void = () => undefined;
    let syncing: Promise<void> = Promise.resolve();
    // One read at a time, in order; a failed read does not stop the later ones.
    const sync = () => {
      syncing = syncing.catch(() => undefined).then(async () => {
        for (const e of await o.journal.sync()) o.apply(e);
      });
      return syncing;
    };
    // The jobs this run waits for; cancel() stops waiting (the trial resumes later).
    const pending = new Map<string, { job: Job; cancel: () => void }>();
    let stopping = false;
    const tick = async () => {
      await o.client.eval(TAKE_LEASE, 1, keys.lease, o.journal.writer, LEASE_MS).catch(() => undefined);
      await sync().catch(() => undefined);  // Redis away for a moment: the next tick reads it
      const count = await queue.getWorkersCount().catch(() => workers);
      if (count !== workers) {
        workers = count;
        onChange();
      }
      if (!o.stopAll()) return;
      if (!stopping) await o.client.set(keys.stop, '1').then(() => (stopping = true), () => undefined);
      for (const [id, p] of pending) {
        const state = await p.job.getState().catch(() => 'error');
        // Waiting: taken off the queue. Gone (removed by hand). Or running with no worker
        // left to finish it or to notice its worker died: the next run adopts or resumes it.
        const off = (WAITING as readonly string[]).includes(state) ? await p.job.remove().then(() => true, () => false) : state === 'unknown' || (state === 'active' && workers === 0);
        if (off) {
          pending.delete(id);
          p.cancel();
        }
      }
    };
    let busy = false;
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void tick().finally(() => (busy = false));
    }, POLL_MS);
    await tick();

    /** Waits for a job to end (or be cancelled); resolves with its error, if it failed. */
    const wait = (jobId: string, job: Job) =>
      new Promise<Error | null>((done) => {
        pending.set(jobId, { job, cancel: () => done(null) });
        job.waitUntilFinished(events).then(() => done(null), (e: Error) => done(e));
      }).finally(() => pending.delete(jobId));

    // An earlier run's jobs: those waiting are taken back (this run decides again), those
    // running are adopted.
    const adopted = new Map<number, Promise<void>>();
    for (const job of await queue.getJobs(['active', ...WAITING])) {
      const data = job?.data as Partial<TrialPayload> | undefined;
      if (!job?.id || data?.study !== o.study || !data.job) continue;
      const state = await job.getState();
      if (state !== 'active' && (await job.remove().then(() => true, () => false))) continue;
      const spec = data.job;
      adopted.set(spec.id, wait(job.id, job).then(() => sync()).then(() => {
        const trial = o.state.trials.get(spec.id);
        if (trial) settle(trial, spec.rung, spec.lastRung);
      }).catch(() => undefined));
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
        const job = await queue.add('trial', o.payloadOf(spec, trial), { jobId, attempts: ATTEMPTS, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: true, removeOnFail: { count: 1000 } });
        const error = await wait(jobId, job);
        await sync();
        const outcome = settle(trial, spec.rung, spec.lastRung);
        // A job that failed without its trial's end (its workers died too often, or none could
        // read the study's data): the trial failed, with the reason.
        if (error !== null && outcome === 'stopped') {
          const event: StudyEvent = { type: 'end', id: spec.id, state: 'failed', error: `its job failed on the queue: ${error.message}`, at: Date.now() };
          o.journal.append(event);
          o.apply(event);
          await o.journal.flush();
          return 'ended';
        }
        return outcome;
      },
      async close() {
        await syncing.catch(() => undefined);
        await shut();
      },
    };
  } catch (e) {
    await shut();
    throw e;
  }
}
