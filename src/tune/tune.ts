/**
 * `tune(options)`: a study of trials on one machine. Free workers (options.parallel of them,
 * the threads split between them) take, in this order: an interrupted trial (resumed from
 * its checkpoint), an ASHA promotion (asha.ts), or a new trial whose parameters the sampler
 * proposes (samplers.ts) through the search space (space.ts, json-space.ts). Every decision is
 * taken in one place, synchronously, and journaled (journal.ts) before it runs, so running
 * the same study again continues it: nothing finished is lost or run twice.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { SequenceClassifier } from '../classifier/classifier';
import { packageVersion } from '../native/backend';
import { getNumThreads } from '../native/threads';
import type { Dataset } from '../data/sequence-set';
import type { DenseInputConfig, TokenInputConfig } from '../model/config';
import { StudyError } from '../util/errors';
import { checkOutputPath } from '../util/output-path';
import { checkChoice, checkInteger, checkKnownKeys, checkNumber } from '../util/validate';
import { bestTrial, nextPromotion, rungEpochs, rungScore, type SchedulerOptions } from './asha';
import { classesOf, inputOf, studyData } from './data';
import { jsonSpaceFunction, parseJsonSpace, type JsonSpace } from './json-space';
import { applyEvent, elapsedSeconds, Journal, type StudyEvent, type StudyHeader, type StudyState } from './journal';
import { gridSampler, randomSampler, tpeSampler, type Sampler, type Scored } from './samplers';
import { TrialRecorder, type TrialParams } from './space';
import { checkpointPath, measureTrial, trainTrial, type Constraints, type TrialContext } from './trial-runner';
import { studyReportData } from './study-report-data';
import { StudyReporter } from './study-reporter';
import type { Direction, Objective, TrialRecord, TrialSettings } from './types';

export interface TuneBudget {
  /** Trials started, over the whole study. */
  trials?: number;
  /** Wall-clock seconds, over the whole study (every run of it). */
  seconds?: number;
  /** Epochs trained, summed over trials. */
  epochs?: number;
}

export interface TuneOptions {
  data: Dataset;
  validationData?: Dataset;
  /** Hold out this fraction of `data` (once, with the study's seed) instead. */
  validationSplit?: number;
  stratify?: boolean;
  /** The model input; dense data gives its own (its features). */
  input?: DenseInputConfig | TokenInputConfig;
  /** The classes; by default the label names (sorted) or max id + 1. */
  classes?: number | string[];
  /** Define-by-run `(trial) => ({ config, fit })`, or a declarative JSON space. */
  space: ((trial: TrialParams) => TrialSettings) | JsonSpace;
  objective?: Objective;
  /** Default: maximize valAccuracy and valMacroF1, minimize valLoss. */
  direction?: Direction;
  budget: TuneBudget;
  sampler?: 'random' | 'tpe' | 'grid';
  scheduler?: 'asha' | 'none';
  minEpochs?: number;
  maxEpochs?: number;
  eta?: number;
  patience?: number;
  seed?: number;
  /** Trials trained at once (the threads are split between them). Default 1. */
  parallel?: number;
  /** Threads in all; default the process's (setNumThreads). */
  threads?: number;
  /** The journal file: the same path continues the study. Default: none (kept in memory). */
  study?: string;
  /** Where trials keep their checkpoints. Default `<study>.trials` (a temp folder without study). */
  checkpoints?: string;
  constraints?: Constraints;
  signal?: AbortSignal;
  /** Write the HTML study report here (atomically): as trials end, and when the study ends. */
  report?: string;
  /** The command that retrains a trial's model, shown in the report (the CLI gives one). */
  retrainCommand?: (trial: Readonly<TrialRecord>) => string;
  /** Called after each of a trial's epochs and when it ends. */
  onTrial?: (trial: Readonly<TrialRecord>) => void;
}

export interface Study {
  trials: TrialRecord[];
  best: TrialRecord | null;
  /** The best trial's model, from its checkpoint; the caller disposes it. */
  bestModel: SequenceClassifier | null;
}

/** Consecutive trials that end without an epoch (failed, infeasible) before a study stops. */
const MAX_BARREN_TRIALS = 25;

const KNOWN = ['data', 'validationData', 'validationSplit', 'stratify', 'input', 'classes', 'space', 'objective', 'direction', 'budget', 'sampler', 'scheduler', 'minEpochs', 'maxEpochs', 'eta', 'patience', 'seed', 'parallel', 'threads', 'study', 'checkpoints', 'constraints', 'signal', 'report', 'retrainCommand', 'onTrial'];

export async function tune(options: TuneOptions): Promise<Study> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  checkKnownKeys('options', options, KNOWN);
  const objective = checkChoice('options.objective', options.objective ?? 'valAccuracy', ['valAccuracy', 'valLoss', 'valMacroF1'] as const);
  const direction = checkChoice('options.direction', options.direction ?? (objective === 'valLoss' ? 'minimize' : 'maximize'), ['maximize', 'minimize'] as const);
  const budget = checkBudget(options.budget);
  const seed = checkInteger('options.seed', options.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const maxEpochs = checkInteger('options.maxEpochs', options.maxEpochs ?? 9, 1, 1e6);
  const scheduler: SchedulerOptions = {
    scheduler: checkChoice('options.scheduler', options.scheduler ?? 'asha', ['asha', 'none'] as const),
    minEpochs: checkInteger('options.minEpochs', options.minEpochs ?? 1, 1, maxEpochs),
    maxEpochs,
    eta: checkInteger('options.eta', options.eta ?? 3, 2, 100),
    patience: checkInteger('options.patience', options.patience ?? 0, 0, 1e6),
  };
  const parallel = checkInteger('options.parallel', options.parallel ?? 1, 1, 256);
  const allThreads = checkInteger('options.threads', options.threads ?? getNumThreads(), 1, 1024);
  const constraints = checkConstraints(options.constraints);
  const reportPath = checkOutputPath('options.report', options.report);
  if (options.retrainCommand !== undefined && typeof options.retrainCommand !== 'function') throw new TypeError('options.retrainCommand must be a function');
  const json = typeof options.space === 'function' ? null : parseJsonSpace(options.space);
  if (typeof options.space !== 'function' && json === null) throw new TypeError('options.space must be a function or a JSON space');
  const spaceFunction = json ? jsonSpaceFunction(json) : (options.space as (trial: TrialParams) => TrialSettings);
  const samplerName = checkChoice('options.sampler', options.sampler ?? 'tpe', ['random', 'tpe', 'grid'] as const);
  if (samplerName === 'grid' && !json) throw new RangeError("options.sampler: 'grid' needs a declarative (JSON) space, whose values it enumerates");
  const sampler: Sampler = samplerName === 'grid' ? gridSampler([...json!.params].flatMap(([k, p]) => ('spec' in p ? [[k, p.spec] as const] : []))) : samplerName === 'random' ? randomSampler(seed) : tpeSampler(seed);

  const { train, validation } = studyData(options.data, options.validationData, options.validationSplit, options.stratify ?? false, seed);
  const temp = options.study === undefined ? mkdtempSync(join(tmpdir(), 'rnn-node-study-')) : null;
  const journalPath = options.study ?? join(temp!, 'study.jsonl');
  const header: StudyHeader = { objective, direction, space: json ? json.json : null, scheduler, sampler: samplerName, seed };
  // The journal first: a study path in a folder that does not exist fails here, creating nothing.
  const { journal, state } = Journal.open(journalPath, header);
  const checkpoints = options.checkpoints ?? (temp ?? `${options.study}.trials`);
  const record = (event: StudyEvent) => {
    journal.append(event);
    applyEvent(state, event);
  };
  try {
    mkdirSync(checkpoints, { recursive: true });
    const score = (v: number) => (direction === 'maximize' ? v : -v);
    const rungs = rungEpochs(scheduler);
    const ctx: TrialContext = {
      train,
      validation,
      objective,
      maxEpochs,
      checkpoints,
      seed,
      ...(options.signal ? { signal: options.signal } : {}),
      input: inputOf(train, options.input, undefined),
      classes: classesOf(train, validation, options.classes),
      threads: Math.max(1, Math.floor(allThreads / parallel)),
    };
    const settingsOf = (t: TrialRecord) => spaceFunction(new TrialRecorder(t.id, () => { throw new RangeError(`trial ${t.id}: the space asked for a parameter the journal does not hold`); }, state.specs, t.params));
    const reporter = reportPath === undefined ? null : new StudyReporter(reportPath, (complete) => studyReport(state, header, complete, options, settingsOf));
    const started = Date.now();
    record({ type: 'session', at: started });
    const earlierSeconds = state.closedSeconds;  // the runs before this one
    const epochsSpent = () => [...state.trials.values()].reduce((n, t) => n + t.epochs, 0);
    const stopAll = () =>
      options.signal?.aborted === true ||
      (budget.seconds !== undefined && earlierSeconds + (Date.now() - started) / 1000 >= budget.seconds) ||
      (budget.epochs !== undefined && epochsSpent() >= budget.epochs);
    const noNewTrials = () => (budget.trials !== undefined && state.trials.size >= budget.trials) || state.trials.size >= sampler.size;
    // A finished or waiting trial as evidence for the sampler: higher rungs rank above lower.
    const scored = (): Scored[] =>
      [...state.trials.values()]
        .filter((t) => t.state !== 'failed' && t.state !== 'infeasible' && t.rung >= 0)
        .map((t) => ({ params: t.params, score: t.rung * 1e9 + (rungScore(t, rungs[t.rung], scheduler.patience, score) ?? -1e8) }));
    const running = new Set<number>();
    let fatal: unknown = null;
    let barren = 0;
    // Resolved (and renewed) whenever a job ends: a worker with nothing to do waits on it.
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

    // The next job for a free worker, decided and journaled here (one place, no await).
    const pick = (): { id: number; rung: number } | null => {
      if (fatal !== null || stopAll() || barren >= MAX_BARREN_TRIALS) return null;
      for (const t of state.trials.values()) {
        if (t.state === 'interrupted' && !running.has(t.id)) return { id: t.id, rung: Math.max(0, t.target) };
      }
      if (scheduler.scheduler === 'asha') {
        // Every trial counts in its rungs (a running one was promoted from them); only a
        // waiting one can be promoted.
        const promotion = nextPromotion([...state.trials.values()], scheduler, score);
        if (promotion) {
          record({ type: 'promote', id: promotion.id, rung: promotion.rung, at: Date.now() });
          return promotion;
        }
      }
      if (noNewTrials()) return null;
      const id = state.trials.size;
      const finished = scored();
      const recorder = new TrialRecorder(id, (name, spec) => sampler.suggest(id, name, spec, finished), state.specs);
      spaceFunction(recorder);
      // A checkpoint of this number can only be another study's (a deleted journal, a shared
      // folder): never resumed as this trial.
      rmSync(checkpointPath(ctx, id), { force: true });
      record({ type: 'trial', id, params: recorder.params, specs: recorder.specs, at: Date.now() });
      return { id, rung: 0 };
    };

    const runJob = async (job: { id: number; rung: number }) => {
      const trial = state.trials.get(job.id)!;
      running.add(job.id);
      trial.state = 'running';
      try {
        const settings = settingsOf(trial);
        if (constraints && trial.epochs === 0) {
          // Measured once (a trial killed after its measurement is judged on it when resumed).
          if (trial.measured === undefined) record({ type: 'measured', id: job.id, ...(await measureTrial(ctx, job.id, settings, constraints)) });
          const measured = trial.measured!;
          const over = (constraints.maxLatencyMs !== undefined && measured.latencyMs! > constraints.maxLatencyMs) || (constraints.maxModelBytes !== undefined && measured.modelBytes! > constraints.maxModelBytes);
          if (over) {
            record({ type: 'end', id: job.id, state: 'infeasible', error: `past a constraint: ${JSON.stringify(measured)}`, at: Date.now() });
            return;
          }
        }
        const outcome = await trainTrial(ctx, job.id, settings, rungs[job.rung], (epoch) => {
          record({ type: 'epoch', id: job.id, ...epoch, at: Date.now() });
          trial.state = 'running';
          options.onTrial?.(trial);
          if (!Number.isFinite(epoch.value)) throw new RangeError(`the objective ${objective} is not finite (${epoch.value})`);
          return !stopAll();
        });
        if (outcome === 'reached') {
          record({ type: 'rung', id: job.id, rung: job.rung, at: Date.now() });
          if (job.rung === rungs.length - 1) record({ type: 'end', id: job.id, state: 'complete', at: Date.now() });
          else trial.state = 'paused';
        } else {
          trial.state = 'interrupted';  // stopped by the budget mid-rung: resumes next time
        }
      } catch (e) {
        if (options.signal?.aborted) {
          trial.state = 'interrupted';
        } else if (e instanceof StudyError) {
          // The space no longer fits the study (a changed range): the study's error, not the
          // trial's; it stays as it was.
          trial.state = 'interrupted';
          throw e;
        } else {
          record({ type: 'end', id: job.id, state: 'failed', error: (e as Error).message ?? String(e), at: Date.now() });
        }
      } finally {
        running.delete(job.id);
        // Trials that end without an epoch (failed, infeasible) do not spend an epochs budget:
        // a run of them stops the study instead of proposing trials forever.
        const ended = state.trials.get(job.id)!.state as TrialRecord['state'];  // record() changes it behind the compiler's back
        barren = trial.epochs === 0 && (ended === 'failed' || ended === 'infeasible') ? barren + 1 : 0;
        options.onTrial?.(trial);
        reporter?.update();
        wake();
      }
    };

    // Workers: each takes jobs until none is left; one with nothing to do waits for another's
    // job to end (it may make a promotion possible).
    // An error of the study itself (the space, the journal) stops every worker: nothing new
    // starts, the running trials end, then tune rejects with it.
    const worker = async () => {
      for (;;) {
        let job: { id: number; rung: number } | null = null;
        try {
          job = pick();
          if (job) await runJob(job);
        } catch (e) {
          fatal ??= e;
        }
        if (job) {
          await new Promise((resolve) => setImmediate(resolve));  // let timers and aborts in
          continue;
        }
        if (running.size === 0) return;
        await changed;
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    if (fatal !== null) throw fatal;
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');

    await reporter?.finish();
    const trials = [...state.trials.values()].map((t) => ({ ...t, state: t.state === 'paused' ? ('pruned' as const) : t.state }));
    const best = bestTrial(trials, scheduler, direction);
    const bestModel = best ? await SequenceClassifier.load(checkpointPath(ctx, best.id)) : null;
    return { trials, best, bestModel };
  } finally {
    journal.close();
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

/** The report's data at this moment of the study. */
function studyReport(state: StudyState, header: StudyHeader, complete: boolean, options: TuneOptions, settingsOf: (t: TrialRecord) => TrialSettings) {
  return studyReportData({
    title: options.study === undefined ? 'rnn-node study' : `Study ${basename(options.study)}`,
    header,
    trials: [...state.trials.values()],
    specs: state.specs,
    studySeconds: elapsedSeconds(state),
    complete,
    settingsOf,
    ...(options.retrainCommand ? { command: options.retrainCommand } : {}),
    version: packageVersion(),
  });
}

function checkBudget(budget: unknown): TuneBudget {
  if (typeof budget !== 'object' || budget === null) throw new TypeError('options.budget must be { trials?, seconds?, epochs? }');
  checkKnownKeys('options.budget', budget, ['trials', 'seconds', 'epochs']);
  const b = budget as TuneBudget;
  const out: TuneBudget = {};
  if (b.trials !== undefined) out.trials = checkInteger('options.budget.trials', b.trials, 1, 1e9);
  if (b.seconds !== undefined) out.seconds = checkNumber('options.budget.seconds', b.seconds, 1e-3, 1e12);
  if (b.epochs !== undefined) out.epochs = checkInteger('options.budget.epochs', b.epochs, 1, 1e12);
  if (Object.keys(out).length === 0) throw new RangeError('options.budget: give trials, seconds or epochs (a study without a budget never ends)');
  return out;
}

function checkConstraints(c: unknown): Constraints | null {
  if (c === undefined) return null;
  if (typeof c !== 'object' || c === null) throw new TypeError('options.constraints must be an object');
  checkKnownKeys('options.constraints', c, ['maxLatencyMs', 'maxModelBytes', 'precision']);
  const o = c as Constraints;
  return {
    ...(o.maxLatencyMs !== undefined ? { maxLatencyMs: checkNumber('options.constraints.maxLatencyMs', o.maxLatencyMs, 0, 1e9) } : {}),
    ...(o.maxModelBytes !== undefined ? { maxModelBytes: checkInteger('options.constraints.maxModelBytes', o.maxModelBytes, 1, Number.MAX_SAFE_INTEGER) } : {}),
    ...(o.precision !== undefined ? { precision: checkChoice('options.constraints.precision', o.precision, ['float32', 'int8'] as const) } : {}),
  };
}
