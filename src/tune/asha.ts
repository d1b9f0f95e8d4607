/**
 * Asynchronous successive halving (ASHA, Li et al., MLSys 2020) on epochs. Rungs sit at
 * minEpochs·η^k epochs, up to maxEpochs (always the last rung). A trial trains to rung 0 (the
 * grace period: no decision before minEpochs), then waits. Whenever a worker is free, the
 * highest rung first: a waiting trial is promoted to the next rung when it is among the best
 * ⌊n/η⌋ of the n trials that reached its rung; it continues from its own checkpoint. If no
 * trial can be promoted, a new one starts. No worker ever waits for a rung to fill, and no
 * decision is taken twice: the study (one place) takes them in order.
 *
 * Noisy curves (optuna #1447): a rung's value is the best of the trial's last patience + 1
 * epochs up to the rung, not the rung's epoch alone.
 */
import type { TrialRecord } from './types';

export interface SchedulerOptions {
  /** 'asha', or 'none': every trial trains to maxEpochs (plain random search or TPE). */
  scheduler: 'asha' | 'none';
  minEpochs: number;
  maxEpochs: number;
  eta: number;
  patience: number;
}

/** The epochs of each rung, ascending; the last is maxEpochs. */
export function rungEpochs(o: SchedulerOptions): number[] {
  if (o.scheduler === 'none') return [o.maxEpochs];
  const rungs: number[] = [];
  for (let r = o.minEpochs; r < o.maxEpochs; r *= o.eta) rungs.push(r);
  rungs.push(o.maxEpochs);
  return rungs;
}

/** A trial's value at a rung of `epochs` epochs (see the top), higher is better; null before. */
export function rungScore(trial: TrialRecord, epochs: number, patience: number, score: (value: number) => number): number | null {
  if (trial.curve.length < epochs) return null;
  let best = -Infinity;
  for (let e = Math.max(0, epochs - 1 - patience); e < epochs; e++) best = Math.max(best, score(trial.curve[e].value));
  return best;
}

/**
 * The promotion a free worker should run, or null (start a new trial). `trials`: the study's
 * trials; a trial waits at rung k when state is 'paused' and rung === target === k.
 */
export function nextPromotion(trials: readonly TrialRecord[], o: SchedulerOptions, score: (value: number) => number): { id: number; rung: number } | null {
  const rungs = rungEpochs(o);
  for (let k = rungs.length - 2; k >= 0; k--) {
    const reached = trials
      .filter((t) => t.rung >= k && t.state !== 'failed' && t.state !== 'infeasible')
      .map((t) => ({ t, s: rungScore(t, rungs[k], o.patience, score) }))
      .filter((x): x is { t: TrialRecord; s: number } => x.s !== null && Number.isFinite(x.s))
      .sort((a, b) => b.s - a.s || a.t.id - b.t.id);
    const top = reached.slice(0, Math.floor(reached.length / o.eta));
    const waiting = top.find((x) => x.t.state === 'paused' && x.t.rung === k && x.t.target === k);
    if (waiting) return { id: waiting.t.id, rung: k + 1 };
  }
  return null;
}

/**
 * The study's best trial: the highest rung reached first, then its value there (as promotions
 * judge it); failed and infeasible trials and those without a rung are out. One ranking for
 * tune() and `rnn-node tune status`.
 */
export function bestTrial<T extends TrialRecord>(trials: readonly T[], o: SchedulerOptions, direction: 'maximize' | 'minimize'): T | null {
  const rungs = rungEpochs(o);
  const score = (v: number) => (direction === 'maximize' ? v : -v);
  const at = (t: TrialRecord) => rungScore(t, rungs[t.rung], o.patience, score) ?? -Infinity;
  const ranked = trials
    .filter((t) => t.rung >= 0 && t.state !== 'failed' && t.state !== 'infeasible')
    .sort((a, b) => b.rung - a.rung || at(b) - at(a) || a.id - b.id);
  return ranked[0] ?? null;
}
