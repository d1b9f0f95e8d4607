/**
 * Every option of `fit`, checked in one place: types, ranges and defaults, with messages that
 * name the option. `SequenceClassifier.fit` calls resolveFitOptions first and then only
 * orchestrates (data, callbacks' saved state, the optimizer, the training loop).
 */
import { resolveAugment, type AugmentOptions, type ResolvedAugment } from './augment';
import type { Dataset } from '../data/sequence-set';
import { invalidType, outOfRange } from '../util/errors';
import type { NativeOptimizerConfig } from '../native/addon';
import { resolveOptimizer, type OptimizerOptions } from './optimizer-options';
import { MISSING_POLICIES, type MissingPolicy } from '../data/missing';
import { resolveReportOptions, type ReportOptions, type ResolvedReportOptions } from './report-options';
import { makeSchedule, type Schedule, type ScheduleOptions } from './schedules';
import { threadsOption } from '../native/threads';
import type { FitCallbacks } from './fit';
import { checkBoolean, checkChoice, checkInteger, checkKnownKeys, checkNumber } from '../util/validate';

export interface FitOptions {
  /** Passes over the training data. Default 1. */
  epochs?: number;
  /** Sequences per training step. Default 32. */
  batchSize?: number;
  /** Reshuffle the training data every epoch (seeded). Default true. */
  shuffle?: boolean;
  /** Restart the shuffling/dropout stream from this seed. Default: continue the model's
   * stream (which starts from the model's seed), so 2 + 2 epochs equal 4. */
  seed?: number;
  /** An optimizer name or options. Default { type: 'adam', learningRate: 1e-3 }. */
  optimizer?: OptimizerOptions | OptimizerOptions['type'];
  /** Loss weight per class: an array, or { labelOrIndex: weight }. Default: all 1. */
  classWeight?: ArrayLike<number> | Record<string, number>;
  /** Evaluated after every epoch (valLoss, valAccuracy). */
  validationData?: Dataset;
  /** Hold out this fraction of `data` (seeded) for validation instead. */
  validationSplit?: number;
  /** With validationSplit: split each class in the same proportion. Default false. */
  stratify?: boolean;
  /** One callbacks object or a list (e.g. earlyStopping(), modelCheckpoint()). */
  callbacks?: FitCallbacks | FitCallbacks[];
  /** Learning-rate schedule per epoch. Default none (constant rate). */
  schedule?: ScheduleOptions;
  /** Batch sequences of similar length together (less padding to copy). Default false. */
  bucketing?: boolean;
  /** Training-time augmentation (never applied at evaluation). Default none. */
  augment?: AugmentOptions;
  /** NaN in dense input: 'error' (default), 'zero', 'ffill' or 'mask'. */
  missing?: MissingPolicy;
  /** 1 prints one line per epoch to stderr. Default 0. */
  verbose?: 0 | 1;
  /** Cancels training between steps; fit rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Threads for this call. Default: see `setNumThreads`. */
  threads?: number;
  /** Write a self-contained HTML report of the run here, rewritten after every epoch
   * (a path, or { path, title, describeRecord }). */
  report?: string | ReportOptions;
  /** Write one JSON line per epoch here, then a final line with the run and its evaluation
   * (`rnn-node report` rebuilds the HTML report from it). */
  metricsLog?: string;
}

/** Every key FitOptions has (unknown keys are rejected: a typo must not be ignored). */
const FIT_OPTION_KEYS = [
  'epochs', 'batchSize', 'shuffle', 'seed', 'optimizer', 'classWeight', 'validationData', 'validationSplit', 'stratify', 'callbacks',
  'schedule', 'bucketing', 'augment', 'missing', 'verbose', 'signal', 'threads', 'report', 'metricsLog',
] as const;

/** What the model contributes to the defaults and checks. */
export interface FitContext {
  classes: number;
  labels: string[] | null;
  /** The model's seed: the default seed of a validation split. */
  seed: number;
  /** Epochs trained before this call (schedules count from here). */
  epochsTrained: number;
}

export interface ResolvedFitOptions {
  epochs: number;
  batchSize: number;
  /** Restart the shuffling stream from this seed, or continue it (undefined). */
  seed: number | undefined;
  optimizer: NativeOptimizerConfig;
  learningRate: number;
  schedule: Schedule | null;
  classWeights: Float32Array | null;
  validationData: Dataset | undefined;
  validationSplit: { fraction: number; seed: number; stratify: boolean } | undefined;
  shuffle: boolean;
  bucketing: boolean;
  augment: ResolvedAugment | null;
  missing: MissingPolicy;
  verbose: 0 | 1;
  signal: AbortSignal | undefined;
  callbacks: FitCallbacks[];
  /** 0: the thread's default. */
  threads: number;
  /** Report and metrics log, when asked for. */
  report: ResolvedReportOptions | null;
}

const optionalBoolean = (name: string, value: unknown, fallback: boolean) => (value === undefined ? fallback : checkBoolean(name, value));

export function resolveMissing(value: unknown): MissingPolicy {
  return value === undefined ? 'error' : checkChoice('options.missing', value, MISSING_POLICIES);
}

export function resolveFitOptions(options: unknown, model: FitContext): ResolvedFitOptions {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const o = options as FitOptions;
  checkKnownKeys('options', o, FIT_OPTION_KEYS, { learningRate: "optimizer: { learningRate }", lr: "optimizer: { learningRate }", validation: 'validationData' });
  const epochs = o.epochs === undefined ? 1 : checkInteger('options.epochs', o.epochs, 1, 1e6);
  const seed = o.seed === undefined ? undefined : checkInteger('options.seed', o.seed, 0, Number.MAX_SAFE_INTEGER);
  const { config: optimizer, learningRate } = resolveOptimizer(o.optimizer);
  if (o.validationSplit !== undefined && o.validationData !== undefined)
    throw invalidType('options.validationSplit', 'no validationSplit when validationData is given', o.validationSplit);
  const stratify = optionalBoolean('options.stratify', o.stratify, false);
  if (o.verbose !== undefined && o.verbose !== 0 && o.verbose !== 1) throw outOfRange('options.verbose', '0 or 1', o.verbose);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidType('options.signal', 'an AbortSignal', o.signal);
  return {
    epochs,
    batchSize: o.batchSize === undefined ? 32 : checkInteger('options.batchSize', o.batchSize, 1, 1 << 20),
    seed,
    optimizer,
    learningRate,
    schedule: makeSchedule(o.schedule, learningRate, model.epochsTrained + epochs),
    classWeights: resolveClassWeights(o.classWeight, model.classes, model.labels),
    validationData: o.validationData,
    // 0 holds nothing out (as Keras's validation_split=0.0), not the one sequence a split keeps.
    validationSplit:
      o.validationSplit === undefined || checkNumber('options.validationSplit', o.validationSplit, 0, 1, true) === 0
        ? undefined
        : { fraction: o.validationSplit, seed: seed ?? model.seed, stratify },
    shuffle: optionalBoolean('options.shuffle', o.shuffle, true),
    bucketing: optionalBoolean('options.bucketing', o.bucketing, false),
    augment: resolveAugment(o.augment),
    missing: resolveMissing(o.missing),
    verbose: o.verbose ?? 0,
    signal: o.signal,
    callbacks: resolveCallbacks(o.callbacks),
    threads: threadsOption(o.threads),
    report: resolveReportOptions(o.report, o.metricsLog),
  };
}

export function resolveClassWeights(value: unknown, classes: number, labels: string[] | null): Float32Array | null {
  if (value === undefined || value === null) return null;
  const out = new Float32Array(classes).fill(1);
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const list = value as ArrayLike<unknown>;
    if (list.length !== classes) throw outOfRange('options.classWeight', `${classes} weights (one per class)`, value);
    for (let i = 0; i < classes; i++) out[i] = checkNumber(`options.classWeight[${i}]`, list[i], 0, 1e12);
    return out;
  }
  if (typeof value !== 'object') throw invalidType('options.classWeight', 'an array of weights or a { class: weight } object', value);
  for (const [key, w] of Object.entries(value as Record<string, unknown>)) {
    const index = labels?.indexOf(key) ?? -1;
    // A class index written as a plain decimal ('2'): Number() would also read '', ' 1' and '0x1'.
    const k = index >= 0 ? index : /^(0|[1-9]\d*)$/.test(key) ? Number(key) : NaN;
    if (!Number.isInteger(k) || k < 0 || k >= classes) throw outOfRange('options.classWeight', `class names or indices in [0, ${classes})`, key);
    out[k] = checkNumber(`options.classWeight.${key}`, w, 0, 1e12);
  }
  return out;
}

export function resolveCallbacks(value: unknown): FitCallbacks[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((cb, i) => {
    if (cb === null || typeof cb !== 'object') throw invalidType(`options.callbacks[${i}]`, 'an object of callback functions', cb);
  });
  return list as FitCallbacks[];
}
