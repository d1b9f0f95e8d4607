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
import { basename, join, resolve } from 'node:path';

import { SequenceClassifier } from '../classifier/classifier';
import { packageVersion } from '../native/backend';
import { getNumThreads } from '../native/threads';
import type { Dataset } from '../data/sequence-set';
import type { DenseInputConfig, TokenInputConfig } from '../model/config';
import { checkOutputPath } from '../util/output-path';
import { checkChoice, checkInteger, checkKnownKeys, checkNumber } from '../util/validate';
import { bestTrial, type SchedulerOptions } from './asha';
import { classesOf, inputOf, studyData } from './data';
import { jsonSpaceFunction, parseJsonSpace, type JsonSpace } from './json-space';
import { applyEvent, elapsedSeconds, Journal, type StudyEvent, type StudyHeader, type StudyState } from './journal';
import { gridSampler, randomSampler, tpeSampler, type Sampler } from './samplers';
import { TrialRecorder, type TrialParams } from './space';
import { openCoordinator, type Coordinator } from './queue/coordinator';
import { checkDistributed, openDistributedStudy } from './queue/distributed-study';
import { runStudyLoop, type Executor } from './study-loop';
import { runTrialJob } from './trial-job';
import { checkpointPath, type Constraints, type TrialContext } from './trial-runner';
import { studyReportData } from './study-report-data';
import { StudyReporter } from './study-reporter';
import type { Direction, Objective, TrialRecord, TrialSettings } from './types';

/** The most trials a study trains at once unless told. */
const DEFAULT_MAX_PARALLEL = 8;

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
  /** Trials trained at once (the threads are split between them). Default: one per thread, up to 8. */
  parallel?: number;
  /** Threads in all; default the process's (setNumThreads). */
  threads?: number;
  /** The journal file: the same path continues the study. Default: none (kept in memory). */
  study?: string;
  /** Where trials keep their checkpoints. Default `<study>.trials` (a temp folder without study);
   * with `redis`, required: a folder every worker sees. */
  checkpoints?: string;
  /** Run the trials on a BullMQ queue on this Redis (redis://host:port): `rnn-node tune work`
   * processes anywhere train them. `study` is then the study's name, its journal kept in Redis. */
  redis?: string;
  /** The Redis key prefix (as the predict queue's). Default 'rnn-node'. */
  prefix?: string;
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

const KNOWN = ['data', 'validationData', 'validationSplit', 'stratify', 'input', 'classes', 'space', 'objective', 'direction', 'budget', 'sampler', 'scheduler', 'minEpochs', 'maxEpochs', 'eta', 'patience', 'seed', 'parallel', 'threads', 'study', 'checkpoints', 'constraints', 'redis', 'prefix', 'signal', 'report', 'retrainCommand', 'onTrial'];

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
  const allThreads = checkInteger('options.threads', options.threads ?? getNumThreads(), 1, 1024);
  // Default: a trial per thread, up to 8 (bench/TUNE.md, 2 threads: two 1-thread trials at once
  // train small models 1.34x faster than one 2-thread trial, large ones 0.96x).
  const parallel = checkInteger('options.parallel', options.parallel ?? Math.min(DEFAULT_MAX_PARALLEL, allThreads), 1, 256);
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
  const header: StudyHeader = { objective, direction, space: json ? json.json : null, scheduler, sampler: samplerName, seed };
  const input = inputOf(train, options.input, undefined);
  const remote = options.redis === undefined ? null : checkDistributed(options.redis, options.prefix, options.study, options.checkpoints);
  // Workers elsewhere read the checkpoints' folder by the same (absolute) path.
  if (remote) remote.checkpoints = resolve(remote.checkpoints);
  const temp = options.study === undefined ? mkdtempSync(join(tmpdir(), 'rnn-node-study-')) : null;
  // The journal first: a study path in a folder that does not exist fails here, creating nothing.
  const distributed = remote ? await openDistributedStudy(remote, header, { train, validation }, input) : null;
  const file = distributed ? null : Journal.open(options.study ?? join(temp!, 'study.jsonl'), header);
  const journal = distributed?.journal ?? file!.journal;
  const state = distributed?.state ?? file!.state;
  const checkpoints = remote?.checkpoints ?? options.checkpoints ?? (temp ?? `${options.study}.trials`);
  const record = (event: StudyEvent) => {
    journal.append(event);
    applyEvent(state, event);
  };
  let coordinator: Coordinator | null = null;
  try {
    mkdirSync(checkpoints, { recursive: true });
    const score = (v: number) => (direction === 'maximize' ? v : -v);
    const ctx: TrialContext = {
      train,
      validation,
      objective,
      maxEpochs,
      checkpoints,
      seed,
      ...(options.signal ? { signal: options.signal } : {}),
      input,
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
    // In this process: each job trains here, its events journaled as they happen. Or on the
    // queue's workers, their events read back from Redis.
    const apply = (e: StudyEvent) => {
      applyEvent(state, e);
      const t = 'id' in e ? state.trials.get(e.id) : undefined;
      if (t && e.type === 'epoch') options.onTrial?.(t);
    };
    if (distributed) {
      coordinator = await openCoordinator({
        ...distributed,
        study: remote!.study,
        apply,
        stopAll,
        session: started,
        ...(options.parallel !== undefined ? { parallel } : {}),
        payloadOf: (job, trial) => ({ study: remote!.study, job, settings: settingsOf(trial), data: distributed.data, checkpoints, objective, maxEpochs, seed, input, classes: ctx.classes }),
      });
    }
    const executor: Executor = coordinator ?? {
      capacity: () => parallel,
      run: (job, trial) =>
        runTrialJob(ctx, job, settingsOf(trial), {
          record,
          goOn: () => !stopAll(),
          onEpoch: () => {
            trial.state = 'running';
            options.onTrial?.(trial);
          },
        }),
    };
    await runStudyLoop({
      state,
      record,
      scheduler,
      score,
      sampler,
      space: spaceFunction,
      constraints,
      trialBudget: budget.trials,
      stopAll,
      forgetCheckpoint: (id) => rmSync(checkpointPath(ctx, id), { force: true }),
      executor,
      ...(coordinator ? { adopted: coordinator.adopted } : {}),
      onTrialEnd: (trial) => {
        options.onTrial?.(trial);
        reporter?.update();
      },
    });
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');

    await reporter?.finish();
    const trials = [...state.trials.values()].map((t) => ({ ...t, state: t.state === 'paused' ? ('pruned' as const) : t.state }));
    const best = bestTrial(trials, scheduler, direction);
    const bestModel = best ? await SequenceClassifier.load(checkpointPath(ctx, best.id)) : null;
    return { trials, best, bestModel };
  } finally {
    await coordinator?.close().catch(() => undefined);
    await journal.close();
    distributed?.client.disconnect();
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
