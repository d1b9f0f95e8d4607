/**
 * What the study report shows, computed from the study's header and trials (the journal's
 * replay): every number the page draws, so the page (study-report.ts) only lays them out,
 * and the same numbers are embedded in it as JSON for programs and tests.
 */
import { bestTrial, rungEpochs, rungScore } from './asha';
import type { StudyHeader } from './journal';
import type { Choice, ParamSpec } from './space';
import type { TrialRecord, TrialSettings } from './types';

export interface RungSummary {
  rung: number;
  epochs: number;
  /** Trials that completed this rung. */
  reached: number;
  /** Of those, trials sent on to the next rung. */
  promoted: number;
  best: number | null;
  median: number | null;
}

export interface StudyReportData {
  title: string;
  header: StudyHeader;
  /** Each trial, its state as `tune status` reports it (a trial waiting for a promotion is pruned). */
  trials: TrialRecord[];
  specs: Record<string, ParamSpec>;
  rungs: RungSummary[];
  /** The share of the rung-0 objective's variance each parameter explains (sums to 1), or null with too few trials. */
  importance: { name: string; share: number }[] | null;
  best: { id: number; params: TrialRecord['params']; value: number | null; epochs: number; settings: TrialSettings | null; command: string | null } | null;
  /** Study time in seconds, every run counted. */
  studySeconds: number;
  complete: boolean;
  versions: { rnnNode: string; node: string };
  writtenAt: string;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A trial's objective at rung 0 (every trial that has one is comparable there), or null. */
export function rungZeroValue(t: TrialRecord, header: StudyHeader): number | null {
  const epochs = rungEpochs(header.scheduler)[0];
  if (t.curve.length < epochs || t.state === 'failed' || t.state === 'infeasible') return null;
  const v = t.curve[epochs - 1].value;
  return Number.isFinite(v) ? v : null;
}

/** Rung by rung: how many trials got there and on, and their values there (as ASHA judged them). */
function rungSummaries(trials: readonly TrialRecord[], header: StudyHeader): RungSummary[] {
  const epochs = rungEpochs(header.scheduler);
  const sign = header.direction === 'maximize' ? 1 : -1;
  return epochs.map((e, k) => {
    const there = trials.filter((t) => t.rung >= k && t.state !== 'failed' && t.state !== 'infeasible');
    const values = there.map((t) => rungScore(t, e, header.scheduler.patience, (v) => sign * v)).filter((v): v is number => v !== null && Number.isFinite(v)).map((v) => sign * v);
    const best = values.length ? (sign > 0 ? Math.max(...values) : Math.min(...values)) : null;
    return { rung: k, epochs: e, reached: there.length, promoted: there.filter((t) => t.target > k || t.rung > k).length, best, median: median(values) };
  });
}

/**
 * Per-parameter importance as η² (the correlation ratio): the share of the variance of the
 * rung-0 objective that the parameter's groups explain,
 *   η²(p) = Σ_g n_g (ȳ_g − ȳ)² / Σ_i (y_i − ȳ)²,
 * with a choice's values as groups and a number's trials cut at its quartiles (by rank).
 * The shares are then scaled to sum to 1. Rough (one parameter at a time, no interactions),
 * and said so on the page; it needs at least 6 trials with a rung-0 value.
 */
export function parameterImportance(trials: readonly TrialRecord[], header: StudyHeader, specs: Record<string, ParamSpec>): { name: string; share: number }[] | null {
  const scored = trials.map((t) => ({ t, y: rungZeroValue(t, header) })).filter((x): x is { t: TrialRecord; y: number } => x.y !== null);
  if (scored.length < 6) return null;
  const mean = scored.reduce((a, x) => a + x.y, 0) / scored.length;
  const total = scored.reduce((a, x) => a + (x.y - mean) ** 2, 0);
  if (!(total > 0)) return null;
  const raw = Object.keys(specs).sort().map((name) => {
    const spec = specs[name];
    const have = scored.filter((x) => Object.hasOwn(x.t.params, name));
    const groups = new Map<string, number[]>();
    if (spec.kind === 'choice') {
      for (const x of have) {
        const key = JSON.stringify(x.t.params[name]);
        groups.set(key, [...(groups.get(key) ?? []), x.y]);
      }
    } else {
      const byValue = [...have].sort((a, b) => (a.t.params[name] as number) - (b.t.params[name] as number));
      byValue.forEach((x, i) => {
        const key = String(Math.min(3, Math.floor((i * 4) / byValue.length)));
        groups.set(key, [...(groups.get(key) ?? []), x.y]);
      });
    }
    // Trials without the parameter (a conditional one) form a group of their own.
    const absent = scored.filter((x) => !Object.hasOwn(x.t.params, name)).map((x) => x.y);
    if (absent.length) groups.set('absent', absent);
    let between = 0;
    for (const ys of groups.values()) between += ys.length * ((ys.reduce((a, b) => a + b, 0) / ys.length) - mean) ** 2;
    return { name, eta2: between / total };
  });
  const sum = raw.reduce((a, r) => a + r.eta2, 0);
  return raw.map((r) => ({ name: r.name, share: sum > 0 ? r.eta2 / sum : 0 })).sort((a, b) => b.share - a.share || a.name.localeCompare(b.name));
}

export interface StudyReportInput {
  title: string;
  header: StudyHeader;
  trials: readonly TrialRecord[];
  specs: ReadonlyMap<string, ParamSpec>;
  studySeconds: number;
  complete: boolean;
  /** The best trial's model and fit settings (null when the space is not known here). */
  settingsOf?: (t: TrialRecord) => TrialSettings | null;
  /** The command that retrains the best trial's model (the CLI knows the data flags). */
  command?: (t: TrialRecord) => string | null;
  version: string;
}

export function studyReportData(input: StudyReportInput): StudyReportData {
  const trials = input.trials.map((t) => ({ ...t, state: t.state === 'paused' ? ('pruned' as const) : t.state }));
  const specs = Object.fromEntries(input.specs);
  const best = bestTrial(trials, input.header.scheduler, input.header.direction);
  let settings: TrialSettings | null = null;
  if (best && input.settingsOf) {
    try {
      settings = input.settingsOf(best);
    } catch {
      settings = null;  // a space that no longer fits: the page shows the parameters alone
    }
  }
  return {
    title: input.title,
    header: input.header,
    trials,
    specs,
    rungs: rungSummaries(trials, input.header),
    importance: parameterImportance(trials, input.header, specs),
    best: best ? { id: best.id, params: best.params, value: best.value, epochs: best.epochs, settings, command: input.command?.(best) ?? null } : null,
    studySeconds: input.studySeconds,
    complete: input.complete,
    versions: { rnnNode: input.version, node: process.version },
    writtenAt: new Date().toISOString(),
  };
}

/** A parameter value as the page and the command line show it. */
export const showValue = (v: Choice | number): string => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)).toString() : String(v));
