/**
 * The study's scheduling loop: free slots take, in this order, an interrupted trial (resumed
 * from its checkpoint), an ASHA promotion (asha.ts), or a new trial whose parameters the
 * sampler proposes through the search space. Every decision is taken in one place,
 * synchronously, and journaled before its job runs; the job itself runs through an executor:
 * in this process (tune.ts) or on the queue's workers (queue/coordinator.ts).
 */
import { nextPromotion, rungEpochs, rungScore, type SchedulerOptions } from './asha';
import type { StudyEvent, StudyState } from './journal';
import type { Sampler, Scored } from './samplers';
import { TrialRecorder, type TrialParams } from './space';
import type { TrialJobOutcome, TrialJobSpec } from './trial-job';
import type { Constraints } from './trial-runner';
import type { TrialRecord, TrialSettings } from './types';

/** Consecutive trials that end without an epoch (failed, infeasible) before a study stops. */
export const MAX_BARREN_TRIALS = 25;

export interface Executor {
  /** Jobs that may run at once now (a queue's worker count may change). */
  capacity(): number;
  /** The most jobs it may ever run at once (default: capacity()). */
  maxCapacity?: number;
  /** Runs one job; when it resolves, the job's events are in the study's state. */
  run(job: TrialJobSpec, trial: TrialRecord): Promise<TrialJobOutcome>;
  /** Calls `wake` when its capacity changes without a job ending (a worker joined). */
  onCapacityChange?(wake: () => void): void;
}

export interface LoopOptions {
  state: StudyState;
  /** Journals an event and applies it to the state (synchronously). */
  record: (event: StudyEvent) => void;
  scheduler: SchedulerOptions;
  /** Higher is better. */
  score: (value: number) => number;
  sampler: Sampler;
  space: (trial: TrialParams) => TrialSettings;
  constraints: Constraints | null;
  trialBudget: number | undefined;
  /** True once the study's budget is spent (or it was aborted): nothing new starts. */
  stopAll: () => boolean;
  /** A new trial's number is never another study's: its stale checkpoint is removed. */
  forgetCheckpoint: (id: number) => void;
  executor: Executor;
  /** Trials running elsewhere when the study opened (a queue's jobs), each with its end. */
  adopted?: Map<number, Promise<void>>;
  onTrialEnd: (trial: TrialRecord) => void;
}

/** Runs the study until nothing is left to do; rejects with the study's own error (the space, the journal). */
export async function runStudyLoop(o: LoopOptions): Promise<void> {
  const { state, scheduler } = o;
  const rungs = rungEpochs(scheduler);
  // A finished or waiting trial as evidence for the sampler: higher rungs rank above lower.
  const scored = (): Scored[] =>
    [...state.trials.values()]
      .filter((t) => t.state !== 'failed' && t.state !== 'infeasible' && t.rung >= 0)
      .map((t) => ({ params: t.params, score: t.rung * 1e9 + (rungScore(t, rungs[t.rung], scheduler.patience, o.score) ?? -1e8) }));
  const noNewTrials = () => (o.trialBudget !== undefined && state.trials.size >= o.trialBudget) || state.trials.size >= o.sampler.size;
  const running = new Set<number>();
  let fatal: unknown = null;
  let barren = 0;
  let finished = false;
  // Resolved (and renewed) whenever a job ends: a slot with nothing to do waits on it.
  let wake: () => void = () => undefined;
  let changed: Promise<void> = Promise.resolve();
  const renew = () => {
    changed = new Promise<void>((resolve) => {
      wake = () => {
        renew();
        resolve();
      };
    });
  };
  renew();
  for (const [id, end] of o.adopted ?? []) {
    running.add(id);
    const done = () => {
      running.delete(id);
      wake();
    };
    void end.then(done, done);
  }

  // The next job for a free slot, decided and journaled here (one place, no await).
  const pick = (): { id: number; rung: number } | null => {
    if (fatal !== null || o.stopAll() || barren >= MAX_BARREN_TRIALS) return null;
    for (const t of state.trials.values()) {
      if (t.state === 'interrupted' && !running.has(t.id)) return { id: t.id, rung: Math.max(0, t.target) };
    }
    if (scheduler.scheduler === 'asha') {
      // Every trial counts in its rungs (a running one was promoted from them); only a
      // waiting one can be promoted.
      // A trial still running elsewhere (an adopted job) is not waiting, whatever its events say.
      const trials = [...state.trials.values()].map((t) => (running.has(t.id) ? { ...t, state: 'running' as const } : t));
      const promotion = nextPromotion(trials, scheduler, o.score);
      if (promotion) {
        o.record({ type: 'promote', id: promotion.id, rung: promotion.rung, at: Date.now() });
        return promotion;
      }
    }
    if (noNewTrials()) return null;
    const id = state.trials.size;
    const evidence = scored();
    const recorder = new TrialRecorder(id, (name, spec) => o.sampler.suggest(id, name, spec, evidence), state.specs);
    o.space(recorder);
    o.forgetCheckpoint(id);
    o.record({ type: 'trial', id, params: recorder.params, specs: recorder.specs, at: Date.now() });
    return { id, rung: 0 };
  };

  const runJob = async (job: { id: number; rung: number }) => {
    const trial = state.trials.get(job.id)!;
    running.add(job.id);
    trial.state = 'running';
    try {
      const spec: TrialJobSpec = { id: job.id, rung: job.rung, targetEpochs: rungs[job.rung], lastRung: job.rung === rungs.length - 1, epochsDone: trial.epochs, constraints: o.constraints, ...(trial.measured ? { measured: trial.measured } : {}) };
      const outcome = await o.executor.run(spec, trial);
      // An ended trial has its end event; the others wait for a promotion or resume later.
      if (outcome === 'reached' && !spec.lastRung) trial.state = 'paused';
      else if (outcome === 'stopped') trial.state = 'interrupted';
    } catch (e) {
      trial.state = 'interrupted';  // the study's error, not the trial's: it stays as it was
      throw e;
    } finally {
      running.delete(job.id);
      // Trials that end without an epoch (failed, infeasible) do not spend an epochs budget:
      // a run of them stops the study instead of proposing trials forever.
      const ended = state.trials.get(job.id)!.state as TrialRecord['state'];  // record() changes it behind the compiler's back
      barren = trial.epochs === 0 && (ended === 'failed' || ended === 'infeasible') ? barren + 1 : 0;
      o.onTrialEnd(trial);
      wake();
    }
  };

  // Slots: each takes jobs until none is left; one with nothing to do waits for another's job
  // to end (it may make a promotion possible). Slots past the executor's capacity wait too.
  // An error of the study itself stops every slot: nothing new starts, the running trials
  // end, then the loop rejects with it.
  const slot = async (index: number) => {
    for (;;) {
      if (finished) return;
      let job: { id: number; rung: number } | null = null;
      if (index < o.executor.capacity()) {
        try {
          job = pick();
          if (job) await runJob(job);
        } catch (e) {
          fatal ??= e;
        }
      }
      if (job) {
        await new Promise((resolve) => setImmediate(resolve));  // let timers and aborts in
        continue;
      }
      if (running.size === 0 && index < o.executor.capacity()) {
        finished = true;
        wake();
        return;
      }
      await changed;
    }
  };
  o.executor.onCapacityChange?.(() => wake());
  const slots = Math.max(1, o.executor.maxCapacity ?? o.executor.capacity());
  await Promise.all(Array.from({ length: slots }, (_, i) => slot(i)));
  if (fatal !== null) throw fatal;
}
