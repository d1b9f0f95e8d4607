/**
 * The training loop behind `SequenceClassifier.fit`: epochs of shuffled (optionally
 * length-bucketed, augmented) mini-batches, one native training step (forward, BPTT,
 * optimizer update) per batch, awaited so the event loop keeps running; per-epoch logs,
 * learning-rate schedules, validation, callbacks, cancellation.
 */
import { augmentBatch, type ResolvedAugment } from './augment';
import { batchOf, gatherBatch, gatherLabels, type SequenceSet } from '../data/sequence-set';
import { NonFiniteLossError } from '../util/errors';
import type { NativeModel } from '../native/addon';
import type { SeededRandom } from '../util/random';
import type { Schedule } from './schedules';

export interface BatchLogs {
  loss: number;
  accuracy: number;
  size: number;
}

export interface EpochLogs {
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Learning rate used in the epoch. */
  learningRate: number;
  /** Wall-clock seconds of the epoch (training and validation). */
  seconds: number;
}

/** What callbacks may do with the model while it trains (between steps). */
export interface TrainingHandle {
  getWeights(): { name: string; shape: number[]; values: Float32Array }[];
  setWeights(weights: { name: string; shape: number[]; values: Float32Array }[]): void;
  /** All weights as one flat vector in getWeights() order (a copy). */
  getParams(): Float32Array;
  setParams(params: Float32Array): void;
  save(path: string): Promise<void>;
  /** Set to true to end training after the current batch. */
  stopTraining: boolean;
  /** The learning rate of the coming steps; callbacks may change it. */
  learningRate: number;
}

/** The weight operations a TrainingHandle forwards to the model being trained. */
export type TrainingHandleOperations = Pick<TrainingHandle, 'getWeights' | 'setWeights' | 'getParams' | 'setParams' | 'save'>;

/**
 * The TrainingHandle of a classifier's fit: weight operations on the model being trained,
 * `stopTraining` shared with the classifier's own flag, and the learning rate of the coming
 * steps (schedules and callbacks change it).
 */
export class ClassifierTrainingHandle implements TrainingHandle {
  readonly getWeights: TrainingHandle['getWeights'];
  readonly setWeights: TrainingHandle['setWeights'];
  readonly getParams: TrainingHandle['getParams'];
  readonly setParams: TrainingHandle['setParams'];
  readonly save: TrainingHandle['save'];

  constructor(
    private readonly owner: { stopTraining: boolean },
    public learningRate: number,
    operations: TrainingHandleOperations,
  ) {
    ({ getWeights: this.getWeights, setWeights: this.setWeights, getParams: this.getParams, setParams: this.setParams, save: this.save } = operations);
  }

  get stopTraining(): boolean {
    return this.owner.stopTraining;
  }

  set stopTraining(value: boolean) {
    this.owner.stopTraining = value;
  }
}

export interface FitCallbacks {
  /** The logged value the callback watches ('valLoss', ...): a validation one needs
   * validation data, which fit checks before training. */
  readonly monitor?: string;
  /** Called once before training with a handle on the model. */
  setModel?: (model: TrainingHandle) => void;
  /** With getState/setState: the callback's state is saved in checkpoints under this key
   * and handed back when training resumes from one. */
  stateKey?: string;
  getState?: () => unknown;
  setState?: (state: unknown) => void;
  /** Weights the callback keeps for later (early stopping's best epoch), flat as getParams():
   * saved in checkpoints beside its state and handed back, after setState, on resume. */
  getKeptWeights?: () => Float32Array | null;
  setKeptWeights?: (params: Float32Array) => void;
  onTrainBegin?: () => void | Promise<void>;
  onTrainEnd?: (history: History) => void | Promise<void>;
  onEpochBegin?: (epoch: number) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  /** After every callback's onEpochEnd: for callbacks that save what the others update
   * (a checkpoint written here holds early stopping's state after this epoch, whatever the
   * order of the callbacks). */
  afterEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
}

export interface History {
  /** Epoch numbers that completed (continuing from earlier fit calls). */
  epoch: number[];
  /** Per-epoch values of each logged metric. */
  history: {
    loss: number[];
    accuracy: number[];
    valLoss?: number[];
    valAccuracy?: number[];
    learningRate: number[];
    seconds: number[];
  };
}

export interface TrainingLoopOptions {
  epochs: number;
  /** Epochs already trained (numbering continues from here). */
  initialEpoch: number;
  batchSize: number;
  shuffle: boolean;
  bucketing: boolean;
  augment: ResolvedAugment | null;
  /** Shuffling, dropout and augmentation stream; advanced in place so training resumes exactly. */
  rng: SeededRandom;
  learningRate: number;
  schedule: Schedule | null;
  classWeights: Float32Array | null;
  verbose: 0 | 1;
  threads: number;
  signal?: AbortSignal;
  callbacks: FitCallbacks[];
}

/** Batches of one epoch: index ranges into `order`. With bucketing, sequences of similar
 * length share a batch (sorted within windows of 32 batches, batch order shuffled). */
function epochOrder(set: SequenceSet, o: TrainingLoopOptions): Int32Array | null {
  if (!o.shuffle && !o.bucketing) return null;
  const order = o.shuffle ? o.rng.permutation(set.count) : Int32Array.from({ length: set.count }, (_, i) => i);
  if (!o.bucketing) return order;
  const window = 32 * o.batchSize;
  for (let start = 0; start < order.length; start += window) {
    const part = order.subarray(start, Math.min(start + window, order.length));
    const sorted = Array.from(part).sort((a, b) => set.lengths[b] - set.lengths[a] || a - b);
    part.set(sorted);
  }
  const batches = Math.ceil(order.length / o.batchSize);
  const permuted = o.shuffle ? o.rng.permutation(batches) : Int32Array.from({ length: batches }, (_, i) => i);
  const out = new Int32Array(order.length);
  let at = 0;
  for (const b of permuted) {
    const chunk = order.subarray(b * o.batchSize, Math.min((b + 1) * o.batchSize, order.length));
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

export async function runFit(
  model: NativeModel,
  train: { set: SequenceSet; labels: Int32Array },
  options: TrainingLoopOptions,
  validate: (() => Promise<{ loss: number; accuracy: number }>) | null,
  handle: TrainingHandle,
  epochDone: () => void,
): Promise<History> {
  const { set, labels } = train;
  const history: History = { epoch: [], history: { loss: [], accuracy: [], learningRate: [], seconds: [] } };
  if (validate) {
    history.history.valLoss = [];
    history.history.valAccuracy = [];
  }
  const rng = options.rng;
  const callbacks = options.callbacks;
  const each = async (fn: (cb: FitCallbacks) => void | Promise<void> | undefined) => {
    for (const cb of callbacks) await fn(cb);
  };
  callbacks.forEach((cb) => cb.setModel?.(handle));
  handle.learningRate = options.learningRate;
  await each((cb) => cb.onTrainBegin?.());
  const lastEpoch = options.initialEpoch + options.epochs;
  for (let epoch = options.initialEpoch; epoch < lastEpoch; epoch++) {
    options.signal?.throwIfAborted();
    if (options.schedule) handle.learningRate = options.schedule(epoch);
    const learningRate = handle.learningRate;
    await each((cb) => cb.onEpochBegin?.(epoch));
    const started = performance.now();
    const order = epochOrder(set, options);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batchIndex = 0;
    for (let start = 0; start < set.count; start += options.batchSize, batchIndex++) {
      options.signal?.throwIfAborted();
      const end = Math.min(start + options.batchSize, set.count);
      const batch = options.augment ? augmentBatch(gatherBatch(set, order, start, end, true), options.augment, rng) : batchOf(set, order, start, end);
      const y = gatherLabels(labels, order, start, end);
      const step = await model.trainStep(batch, y, options.classWeights, handle.learningRate, rng.nextUint32(), options.threads);
      // The native step leaves the weights as they were when the loss or the gradient is not finite.
      if (!Number.isFinite(step.loss))
        throw new NonFiniteLossError(`Training loss became ${step.loss} at epoch ${epoch}, batch ${batchIndex}; lower the learning rate or set optimizer.clipNorm (the weights are those before this batch)`);
      if (!Number.isFinite(step.gradNorm))
        throw new NonFiniteLossError(`Training diverged at epoch ${epoch}, batch ${batchIndex}: the gradient or the update it makes is not finite in float32; lower the learning rate or set optimizer.clipNorm (the weights are those before this batch)`);
      lossSum += step.loss * (end - start);
      correct += step.correct;
      seen += end - start;
      await each((cb) => cb.onBatchEnd?.(batchIndex, { loss: step.loss, accuracy: step.correct / (end - start), size: end - start }));
      if (handle.stopTraining) break;
    }
    const logs: EpochLogs = { loss: lossSum / seen, accuracy: correct / seen, learningRate, seconds: 0 };
    if (validate) {
      const v = await validate();
      logs.valLoss = v.loss;
      logs.valAccuracy = v.accuracy;
      history.history.valLoss!.push(v.loss);
      history.history.valAccuracy!.push(v.accuracy);
    }
    logs.seconds = (performance.now() - started) / 1000;
    epochDone();
    history.epoch.push(epoch);
    history.history.loss.push(logs.loss);
    history.history.accuracy.push(logs.accuracy);
    history.history.learningRate.push(learningRate);
    history.history.seconds.push(logs.seconds);
    if (options.verbose) {
      const val = validate ? ` - valLoss ${logs.valLoss!.toFixed(4)} - valAccuracy ${logs.valAccuracy!.toFixed(4)}` : '';
      process.stderr.write(
        `Epoch ${epoch + 1}/${lastEpoch} - ${logs.seconds.toFixed(1)}s - loss ${logs.loss.toFixed(4)} - accuracy ${logs.accuracy.toFixed(4)}${val}\n`,
      );
    }
    await each((cb) => cb.onEpochEnd?.(epoch, logs));
    await each((cb) => cb.afterEpochEnd?.(epoch, logs));
    if (handle.stopTraining) break;
  }
  await each((cb) => cb.onTrainEnd?.(history));
  return history;
}
