/**
 * One job of a trial, wherever it runs (in the study's own process, or in a `tune work`
 * process on another machine): a new trial's constraints measured first, then training to
 * the job's rung, each step recorded as a journal event through `hooks.record` before the
 * next (the epoch before its checkpoint, trial-runner.ts). A trial whose training throws
 * (a diverging loss, a NaN objective) is recorded as failed; the study goes on.
 */
import { existsSync } from 'node:fs';

import { StudyError } from '../util/errors';
import type { StudyEvent } from './journal';
import { checkpointPath, measureTrial, trainTrial, type Constraints, type TrialContext } from './trial-runner';
import type { TrialSettings } from './types';

export interface TrialJobSpec {
  id: number;
  rung: number;
  /** Epochs the trial trains to: its rung's. */
  targetEpochs: number;
  lastRung: boolean;
  /** Epochs it had when the job was given (0: a new trial, measured against the constraints). */
  epochsDone: number;
  constraints: Constraints | null;
  /** Its measurement, when an earlier run of the job took it. */
  measured?: { latencyMs?: number; modelBytes?: number };
}

export interface TrialJobHooks {
  record(event: StudyEvent): void | Promise<void>;
  /** Asked after each epoch: false stops the job there (the study's budget is spent). */
  goOn(): boolean | Promise<boolean>;
  onEpoch?(): void;
}

/** reached: trained to its rung; stopped: before it (resumes later); ended: failed or infeasible. */
export type TrialJobOutcome = 'reached' | 'stopped' | 'ended';

/** Errors that are not the trial's but the study's or the job's (the trial stays as it was). */
export class JobLostError extends Error {}

export async function runTrialJob(ctx: TrialContext, job: TrialJobSpec, settings: TrialSettings, hooks: TrialJobHooks): Promise<TrialJobOutcome> {
  const { id } = job;
  try {
    // A new trial (no checkpoint yet: a job retried after its first epoch is not new).
    if (job.constraints && job.epochsDone === 0 && !existsSync(checkpointPath(ctx, id))) {
      // Measured once (a trial killed after its measurement is judged on it when resumed).
      let measured = job.measured;
      if (measured === undefined) {
        measured = await measureTrial(ctx, id, settings, job.constraints);
        await hooks.record({ type: 'measured', id, ...measured });
      }
      const c = job.constraints;
      const over = (c.maxLatencyMs !== undefined && measured.latencyMs! > c.maxLatencyMs) || (c.maxModelBytes !== undefined && measured.modelBytes! > c.maxModelBytes);
      if (over) {
        await hooks.record({ type: 'end', id, state: 'infeasible', error: `past a constraint: ${JSON.stringify(measured)}`, at: Date.now() });
        return 'ended';
      }
    }
    const outcome = await trainTrial(ctx, id, settings, job.targetEpochs, async (epoch) => {
      await hooks.record({ type: 'epoch', id, ...epoch, at: Date.now() });
      hooks.onEpoch?.();
      if (!Number.isFinite(epoch.value)) throw new RangeError(`the objective ${ctx.objective} is not finite (${epoch.value})`);
      return hooks.goOn();
    });
    if (outcome === 'stopped') return 'stopped';
    await hooks.record({ type: 'rung', id, rung: job.rung, at: Date.now() });
    if (job.lastRung) await hooks.record({ type: 'end', id, state: 'complete', at: Date.now() });
    return 'reached';
  } catch (e) {
    if (ctx.signal?.aborted) return 'stopped';
    // The space no longer fits the study (a changed range), or the job went to another worker.
    if (e instanceof StudyError || e instanceof JobLostError) throw e;
    await hooks.record({ type: 'end', id, state: 'failed', error: (e as Error).message ?? String(e), at: Date.now() });
    return 'ended';
  }
}
