/**
 * What `SequenceClassifier.fit` does between checking its arguments and the training loop:
 * the training and validation sets (a split when asked), the callbacks' saved state, the
 * optimizer (kept across fits under the same settings), the validation pass, and the report
 * wired to the run. The loop itself is training/fit.ts's `runFit`.
 */
import { gatherLabels, subsetSet, toLabels, toSequenceSet, type Dataset, type SequenceSet } from '../data/sequence-set';
import type { MissingPolicy } from '../data/missing';
import { predictSet } from './predict-set';
import type { NativeModel } from '../native/addon';
import { earlyStoppingOf, evaluationOf, trainingRun, type EvaluatedSet, type ModelFacts } from '../report/fit-report';
import { TrainingRecorder } from '../report/training-recorder';
import { resolveFitOptions, type FitOptions } from '../training/fit-options';
import { ClassifierTrainingHandle, runFit, type History, type TrainingHandleOperations } from '../training/fit';
import { computeMetrics } from '../training/metrics';
import type { TrainingSession } from '../training/session';
import { splitIndices } from '../training/split';
import { invalidType, outOfRange } from '../util/errors';
import type { ResolvedConfig } from '../model/config';
import { tensorsOf } from '../model/description';

/** The model a fit runs on, as the classifier hands it over. */
export interface FitTarget {
  model: NativeModel;
  config: ResolvedConfig;
  preprocessing: Record<string, unknown> | null;
  session: TrainingSession;
  /** The object whose `stopTraining` a callback sets. */
  owner: { stopTraining: boolean };
  /** Weights in and out, and a checkpoint, for callbacks. */
  operations: TrainingHandleOperations;
  /** Called with true when training starts (after every check) and false when it ends. */
  running: (fitting: boolean) => void;
}

/** A labelled data set `{ x, y }`, checked against the model's config. */
export function datasetOf(config: ResolvedConfig, data: unknown, name: string, missing: MissingPolicy = 'error'): { set: SequenceSet; labels: Int32Array } {
  if (data === null || typeof data !== 'object' || !('x' in data) || !('y' in data)) throw invalidType(name, 'a dataset { x, y }', data);
  const { x, y } = data as Dataset;
  const set = toSequenceSet(x, config, `${name}.x`, missing);
  return { set, labels: toLabels(y, set.count, config, `${name}.y`) };
}

/** The model as a report describes it. */
export function reportFacts(config: ResolvedConfig, preprocessing: Record<string, unknown> | null): ModelFacts {
  return { config, weights: tensorsOf(config).map((t) => ({ name: t.name, shape: t.shape })), preprocessing };
}

export async function fitModel(target: FitTarget, data: Dataset, options: FitOptions): Promise<History> {
  const { model, config, session } = target;
  const o = resolveFitOptions(options, { classes: config.classes, labels: config.labels, seed: config.seed, epochsTrained: session.epochs });
  if (o.augment && o.augment.tokenDropout > 0) {
    // Dropped tokens become the vocabulary's unknown token, wherever an imported one keeps it.
    const tokenizer = (target.preprocessing as { tokenizer?: { unknownId?: number | null } } | null)?.tokenizer;
    if (tokenizer?.unknownId === null) throw outOfRange('options.augment.tokenDropout', "0 for this model: its vocabulary has no unknown token to drop tokens to", o.augment.tokenDropout);
    if (typeof tokenizer?.unknownId === 'number') o.augment.unknownId = tokenizer.unknownId;
  }
  let train: EvaluatedSet = { ...datasetOf(config, data, 'data', o.missing), indexInData: null };
  let validation: EvaluatedSet | null = o.validationData === undefined ? null : { ...datasetOf(config, o.validationData, 'options.validationData', o.missing), indexInData: null };
  if (o.validationSplit) {
    const split = splitIndices(train.labels, o.validationSplit.fraction, o.validationSplit.seed, o.validationSplit.stratify);
    validation = { set: subsetSet(train.set, split.validation), labels: gatherLabels(train.labels, split.validation, 0, split.validation.length), indexInData: split.validation };
    train = { set: subsetSet(train.set, split.train), labels: gatherLabels(train.labels, split.train, 0, split.train.length), indexInData: split.train };
  }
  // A callback watching a validation metric needs validation data: said before any training
  // (the first epoch's end would find no such value).
  const watcher = o.callbacks.find((cb) => typeof (cb as { monitor?: unknown }).monitor === 'string' && String((cb as { monitor: string }).monitor).startsWith('val'));
  if (watcher && !validation)
    throw outOfRange('options.callbacks', `validationData or validationSplit for a callback that monitors '${(watcher as { monitor: string }).monitor}' (or monitor: 'loss')`, 'no validation data');
  session.restoreCallbackStates(o.callbacks);
  session.useOptimizer(model, o.optimizer);
  if (o.seed !== undefined) session.reseed(o.seed);
  target.running(true);
  target.owner.stopTraining = false;
  const handle = new ClassifierTrainingHandle(target.owner, o.learningRate, target.operations);
  try {
    const val = validation;
    // With a report, the latest validation pass's probabilities feed its evaluation panels.
    let validationProbs: Float32Array | null = null;
    const validate = val
      ? async () => {
          const probs = await predictSet(model, val.set, config.classes, 1024, o.threads);
          if (o.report) validationProbs = probs;
          return computeMetrics(probs, val.labels, config.classes, config.labels);
        }
      : null;
    const facts = o.report ? reportFacts(config, target.preprocessing) : null;
    const validationKind = o.validationSplit ? `${o.validationSplit.fraction} of the data held out${o.validationSplit.stratify ? ', stratified' : ''}` : val ? 'separate validation data' : 'none';
    const recorder =
      o.report && facts
        ? new TrainingRecorder(o.report, trainingRun(facts, o.report, o, options.schedule, train, val, validationKind), Math.ceil(train.set.count / o.batchSize), earlyStoppingOf(o.callbacks), () =>
            validationProbs && val ? evaluationOf(facts, o.report!, validationProbs, val, 'validation') : null,
          )
        : null;
    const callbacks = recorder ? [...o.callbacks, recorder.callback()] : o.callbacks;
    let history: History;
    try {
      history = await runFit(model, train, { ...o, callbacks, initialEpoch: session.epochs, rng: session.rng }, validate, handle, () => session.countEpoch());
    } catch (error) {
      await recorder?.fail(error as Error).catch(() => undefined);
      throw error;
    }
    if (recorder && facts) {
      // The final weights (early stopping may have restored the best ones), on the validation
      // data when there is some, else on the training data.
      const evaluated = val ?? train;
      const probs = await predictSet(model, evaluated.set, config.classes, 1024, o.threads);
      await recorder.finish(evaluationOf(facts, o.report!, probs, evaluated, val ? 'validation' : 'training'));
    }
    return history;
  } finally {
    target.running(false);
  }
}
