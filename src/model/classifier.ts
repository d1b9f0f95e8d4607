/**
 * `SequenceClassifier`: a recurrent classifier (RNN, LSTM, GRU; stacked, bidirectional)
 * trained and run by the native core. Validation happens here, with messages that name
 * the argument; the native side re-checks only what protects memory.
 */
import { writeFileAtomic } from '../util/atomic-file';
import { makeHeader, encodeCheckpoint, readCheckpoint, type TrainingState } from './checkpoint';
import { packWeights, tensorsOf, unpackWeights, type ModelDescription, type WeightsInput, type WeightTensor } from './description';
import { resolveConfig, toNativeConfig, type ResolvedConfig, type SequenceClassifierConfig } from './config';
import { batchOf, gatherLabels, subsetSet, toLabels, toSequenceSet, type Dataset, type Labels, type SequenceInput, type SequenceSet } from '../data/sequence-set';
import { BusyError, CheckpointError, DisposedError, InferenceOnlyError, invalidType, outOfRange } from '../util/errors';
import { resolveClassWeights, resolveFitOptions, resolveMissing, type FitOptions } from '../training/fit-options';
import { computeMetrics, type Metrics } from '../training/metrics';
import { native, type NativeModel, type NativeOptimizerConfig } from '../native/addon';
import type { MissingPolicy } from '../data/missing';
import { SeededRandom } from '../util/random';
import { splitIndices } from '../training/split';
import { ensureThreadsConfigured, threadsOption } from '../native/threads';
import { ClassifierTrainingHandle, runFit, type FitCallbacks, type History } from '../training/fit';
import { checkInteger, checkKnownKeys } from '../util/validate';
import { MicroBatcher, resolveBatching, type BatchingOptions, type BatchingStats } from '../inference/micro-batcher';
import { earlyStoppingOf, evaluationOf, trainingRun, writeEvaluationReport, type EvaluatedSet, type ModelFacts } from '../report/fit-report';
import { resolveReportOptions, type ReportOptions } from '../report/report-options';
import { TrainingRecorder } from '../report/training-recorder';
import { importOnnx } from '../interop/onnx/onnx-import';
import { exportTfjs, importTfjs, type ImportOptions } from '../interop/tfjs/tfjs';
import { exportOnnx } from '../interop/onnx/onnx-export';
import { packageVersion } from '../native/backend';
import { onPrecisionGrid, quantizeDescription } from './quantize';

export type { FitOptions } from '../training/fit-options';

export interface PredictOptions {
  /** Sequences per native call. Default 1024. */
  batchSize?: number;
  /** Cancels this call (before its batch runs, or drops its result after). */
  signal?: AbortSignal;
  /** NaN in dense input: 'error' (default), 'zero', 'ffill' or 'mask'. */
  missing?: MissingPolicy;
  /** Threads for this call. Default: see `setNumThreads`. */
  threads?: number;
}

export interface EvaluateOptions extends PredictOptions {
  /** k of `topKAccuracy`. Default 3 (capped at the number of classes). */
  topK?: number;
  /** Write a self-contained HTML report of the evaluation here (a path, or { path, title, describeRecord }). */
  report?: string | ReportOptions;
  /** Write the evaluation as a metrics log (one final JSON line) here. */
  metricsLog?: string;
}

export type { ModelDescription, WeightTensor } from './description';

const PREDICT_OPTION_KEYS = ['batchSize', 'signal', 'missing', 'threads'] as const;
const EVALUATE_OPTION_KEYS = [...PREDICT_OPTION_KEYS, 'topK', 'report', 'metricsLog'] as const;

/** Largest input `predictProbaSync`/`predictSync` accept (they block the event loop). */
export const PREDICT_SYNC_MAX_SEQUENCES = 1024;

export class SequenceClassifier {
  /** The config with every default applied. */
  readonly config: ResolvedConfig;
  /** Set to true (e.g. from a callback) to end `fit` after the current batch. */
  stopTraining = false;
  #native: NativeModel | null;
  #fitting = false;
  #optimizerKey = '';
  #optimizer: NativeOptimizerConfig | null = null;
  #rng: SeededRandom;
  #epochs = 0;
  /** Callbacks of the latest fit whose state goes into checkpoints, and states loaded from one. */
  #statefulCallbacks: FitCallbacks[] = [];
  #callbackStates: Record<string, unknown> = {};
  /** Weights a callback kept, loaded from a checkpoint and not yet handed back to it. */
  #keptWeights: { key: string; params: Float32Array } | null = null;
  /** Tokenizer vocabulary, normalisation, ...: saved with the model. */
  preprocessing: Record<string, unknown> | null = null;
  /** Dynamic batching of concurrent predictions, when turned on (setBatching). */
  #batcher: MicroBatcher | null = null;

  constructor(config: SequenceClassifierConfig) {
    this.config = resolveConfig(config);
    ensureThreadsConfigured();
    this.#native = new (native().NativeModel)(toNativeConfig(this.config));
    this.#native.initialize(this.config.seed);
    this.#rng = new SeededRandom(this.config.seed);
  }

  /** Epochs trained so far (across fit calls and checkpoints). */
  get epochsTrained(): number {
    return this.#epochs;
  }

  /** Label names, when the model was given `classes: string[]`. */
  get labels(): string[] | null {
    return this.config.labels;
  }

  /** Number of trainable scalars. */
  get paramCount(): number {
    return this.#live().paramCount();
  }

  get disposed(): boolean {
    return this.#native === null;
  }

  #live(): NativeModel {
    if (!this.#native) throw new DisposedError();
    return this.#native;
  }

  #idle(what: string): NativeModel {
    const model = this.#live();
    if (this.#fitting) throw new BusyError(`Cannot ${what} while fit() is running on this model`);
    return model;
  }

  #dataset(data: unknown, name: string, missing: MissingPolicy = 'error'): { set: SequenceSet; labels: Int32Array } {
    if (data === null || typeof data !== 'object' || !('x' in data) || !('y' in data))
      throw invalidType(name, 'a dataset { x, y }', data);
    const { x, y } = data as Dataset;
    const set = toSequenceSet(x, this.config, `${name}.x`, missing);
    return { set, labels: toLabels(y, set.count, this.config, `${name}.y`) };
  }

  /** An int8/bf16 model (from `quantize()`) computes but does not learn. */
  #trainable(what: string): void {
    if (this.config.precision !== 'float32')
      throw new InferenceOnlyError(`Cannot ${what}: this model is inference-only (${this.config.precision} precision, made by quantize()); train the float32 model, then quantize it again`);
  }

  /**
   * A new, inference-only model computing with int8 (default) or bf16 arithmetic: per-channel
   * int8 weights and per-row dynamic int8 activations (VNNI kernels where the CPU has them),
   * or bfloat16 operands with float sums. It predicts, evaluates, saves and loads like any
   * model; `fit` throws an InferenceOnlyError. This model is unchanged.
   */
  async quantize(options: { type?: 'int8' | 'bf16' } = {}): Promise<SequenceClassifier> {
    this.#idle('quantize');
    checkOptions(options, ['type']);
    const type = options.type ?? 'int8';
    if (type !== 'int8' && type !== 'bf16') throw outOfRange('options.type', "'int8' or 'bf16'", type);
    if (this.config.precision !== 'float32')
      throw new InferenceOnlyError(`Cannot quantize a model that is already ${this.config.precision}: quantize the float32 model`);
    let description: ModelDescription;
    try {
      description = quantizeDescription(this.toDescription(), type);
    } catch (e) {
      // The config's limits for this precision, said of the option that asked for it.
      if (e instanceof RangeError && e.message.includes('config.precision')) throw outOfRange('options.type', `a precision this model supports (${e.message.replace(/^Expected (.*) for config\.precision.*$/s, '$1')})`, type);
      throw e;
    }
    return SequenceClassifier.fromDescription(description);
  }

  /** Trains the model. Resolves with the per-epoch history. */
  async fit(data: Dataset, options: FitOptions = {}): Promise<History> {
    const model = this.#idle('start fit()');
    this.#trainable('fit');
    const o = resolveFitOptions(options, { classes: this.config.classes, labels: this.config.labels, seed: this.config.seed, epochsTrained: this.#epochs });
    if (o.augment && o.augment.tokenDropout > 0) {
      // Dropped tokens become the vocabulary's unknown token, wherever an imported one keeps it.
      const tokenizer = (this.preprocessing as { tokenizer?: { unknownId?: number | null } } | null)?.tokenizer;
      if (tokenizer?.unknownId === null) throw outOfRange('options.augment.tokenDropout', "0 for this model: its vocabulary has no unknown token to drop tokens to", o.augment.tokenDropout);
      if (typeof tokenizer?.unknownId === 'number') o.augment.unknownId = tokenizer.unknownId;
    }
    let train: EvaluatedSet = { ...this.#dataset(data, 'data', o.missing), indexInData: null };
    let validation: EvaluatedSet | null = o.validationData === undefined ? null : { ...this.#dataset(o.validationData, 'options.validationData', o.missing), indexInData: null };
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
    this.#restoreCallbackStates(o.callbacks);
    // Optimizer state carries over between fit() calls that use the same optimizer.
    const key = JSON.stringify(o.optimizer);
    if (key !== this.#optimizerKey) {
      model.setOptimizer(o.optimizer);
      this.#optimizerKey = key;
      this.#optimizer = o.optimizer;
    }
    if (o.seed !== undefined) this.#rng = new SeededRandom(o.seed);
    this.#fitting = true;
    this.stopTraining = false;
    const handle = new ClassifierTrainingHandle(this, o.learningRate, {
      getWeights: () => this.#weightsOf(model),
      setWeights: (w) => model.setParams(packWeights(tensorsOf(this.config), w)),
      getParams: () => model.getParams(),
      setParams: (p) => model.setParams(p),
      save: (path) => this.#saveWith(model, path, true),
    });
    try {
      const val = validation;
      // With a report, the latest validation pass's probabilities feed its evaluation panels.
      let validationProbs: Float32Array | null = null;
      const validate = val
        ? async () => {
            const probs = await this.#predictSet(model, val.set, 1024, o.threads);
            if (o.report) validationProbs = probs;
            return computeMetrics(probs, val.labels, this.config.classes, this.config.labels);
          }
        : null;
      const facts = o.report ? this.#reportFacts(model) : null;
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
        history = await runFit(model, train, { ...o, callbacks, initialEpoch: this.#epochs, rng: this.#rng }, validate, handle, () => this.#epochs++);
      } catch (error) {
        await recorder?.fail(error as Error).catch(() => undefined);
        throw error;
      }
      if (recorder && facts) {
        // The final weights (early stopping may have restored the best ones), on the validation
        // data when there is some, else on the training data.
        const evaluated = val ?? train;
        const probs = await this.#predictSet(model, evaluated.set, 1024, o.threads);
        await recorder.finish(evaluationOf(facts, o.report!, probs, evaluated, val ? 'validation' : 'training'));
      }
      return history;
    } finally {
      this.#fitting = false;
    }
  }

  /** The model as a report describes it. */
  #reportFacts(model: NativeModel): ModelFacts {
    return { config: this.config, weights: tensorsOf(this.config).map((t) => ({ name: t.name, shape: t.shape })), preprocessing: this.preprocessing };
  }

  /** Hands each stateful callback the state (and kept weights) a loaded checkpoint carried. */
  #restoreCallbackStates(callbacks: FitCallbacks[]): void {
    this.#statefulCallbacks = callbacks.filter((cb) => cb.stateKey && cb.getState);
    for (const cb of this.#statefulCallbacks) {
      if (!cb.setState || !(cb.stateKey! in this.#callbackStates)) continue;
      cb.setState(this.#callbackStates[cb.stateKey!]);
      delete this.#callbackStates[cb.stateKey!];
      const kept = this.#keptWeights;
      if (cb.setKeptWeights && kept && kept.key === cb.stateKey) {
        cb.setKeptWeights(kept.params);
        this.#keptWeights = null;
      }
    }
  }

  /** Loss, accuracy, top-k accuracy, per-class precision/recall/F1, macro averages and
   * the confusion matrix on labelled data. */
  async evaluate(data: Dataset, options: EvaluateOptions = {}): Promise<Metrics> {
    const model = this.#idle('evaluate');
    const { batchSize, threads } = this.#predictOptions(options, EVALUATE_OPTION_KEYS);
    const topK = options.topK === undefined ? 3 : checkInteger('options.topK', options.topK, 1, 1 << 20);
    const report = resolveReportOptions(options.report, options.metricsLog);
    const { set, labels } = this.#dataset(data, 'data', resolveMissing(options?.missing));
    const probs = await this.#predictSet(model, set, batchSize, threads);
    if (report) await writeEvaluationReport(this.#reportFacts(model), report, probs, { set, labels, indexInData: null }, topK, threads);
    return computeMetrics(probs, labels, this.config.classes, this.config.labels, topK);
  }

  #predictOptions(options: PredictOptions, known: readonly string[] = PREDICT_OPTION_KEYS) {
    if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
    checkKnownKeys('options', options, known);
    return {
      batchSize: options.batchSize === undefined ? 1024 : checkInteger('options.batchSize', options.batchSize, 1, 1 << 20),
      threads: threadsOption(options.threads),
    };
  }

  async #predictSet(model: NativeModel, set: SequenceSet, batchSize: number, threads: number): Promise<Float32Array> {
    const C = this.config.classes;
    const out = new Float32Array(set.count * C);
    for (let start = 0; start < set.count; start += batchSize) {
      const end = Math.min(start + batchSize, set.count);
      out.set(await model.predict(batchOf(set, null, start, end), threads), start * C);
    }
    return out;
  }

  /** Class probabilities: a row-major Float32Array [N x classes] for typed input,
   * `number[][]` for nested arrays. Runs off the event loop. */
  async predictProba(x: SequenceInput, options: PredictOptions = {}): Promise<Float32Array | number[][]> {
    const set = toSequenceSet(x, this.config, 'x', resolveMissing(options?.missing));
    return this.#shape(set, await this.#probabilities(set, options));
  }

  /** Predicted labels (names when the model has them, else class indices). */
  async predict(x: SequenceInput, options: PredictOptions = {}): Promise<Array<string | number>> {
    const set = toSequenceSet(x, this.config, 'x', resolveMissing(options?.missing));
    return this.#labelsOf(await this.#probabilities(set, options));
  }

  /** The optimizer settings the model last trained with, or was loaded with (null before any
   * training): the moments of this optimizer go on in a fit given the same settings. */
  get optimizer(): Readonly<NativeOptimizerConfig> | null {
    return this.#optimizer === null ? null : { ...this.#optimizer };
  }

  /** Probabilities of a checked set: through the micro-batcher when batching is on. */
  async #probabilities(set: SequenceSet, options: PredictOptions): Promise<Float32Array> {
    const model = this.#idle('predict');
    const { batchSize, threads } = this.#predictOptions(options);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidType('options.signal', 'an AbortSignal', signal);
    signal?.throwIfAborted();
    if (this.#batcher) return this.#batcher.submit(set, signal);
    const probs = await this.#predictSet(model, set, batchSize, threads);
    signal?.throwIfAborted();
    return probs;
  }

  /**
   * Dynamic batching for servers (off by default): concurrent `predictProba`/`predict` calls
   * wait up to `maxDelayMs` (default 2) or until `maxBatchSize` (default 256) sequences wait,
   * and run as one native batch; each call gets exactly what it would alone, in its own shape,
   * with its own errors and abort (`options.signal`). Batched calls use the default thread
   * count. `setBatching(null)` turns it off; calls already waiting still run.
   */
  /** Batches, calls and sequences run since batching was turned on; null when it is off. */
  get batchingStats(): BatchingStats | null {
    return this.#batcher ? { ...this.#batcher.stats } : null;
  }

  setBatching(options: Partial<BatchingOptions> | null): void {
    this.#live();
    const resolved = resolveBatching(options);
    if (!resolved) {
      this.#batcher?.flush();
      this.#batcher = null;
      return;
    }
    if (this.#batcher) this.#batcher.configure(resolved);
    else this.#batcher = new MicroBatcher(resolved, this.config.classes, (set) => this.#predictSet(this.#idle('predict'), set, Math.max(1, set.count), 0));
  }

  /** Synchronous `predictProba` for small inputs (up to PREDICT_SYNC_MAX_SEQUENCES): the
   * low-latency path. Blocks the event loop while it runs. */
  predictProbaSync(x: SequenceInput, options: Pick<PredictOptions, 'threads'> = {}): Float32Array | number[][] {
    const model = this.#idle('predict');
    checkOptions(options, ['threads']);
    const set = toSequenceSet(x, this.config, 'x');
    if (set.count > PREDICT_SYNC_MAX_SEQUENCES)
      throw outOfRange('x', `at most ${PREDICT_SYNC_MAX_SEQUENCES} sequences for a synchronous prediction (use predictProba)`, set.count);
    return this.#shape(set, model.predictSync(batchOf(set, null, 0, set.count), threadsOption(options.threads)));
  }

  /** Synchronous `predict`; see `predictProbaSync`. */
  predictSync(x: SequenceInput, options: Pick<PredictOptions, 'threads'> = {}): Array<string | number> {
    const probs = this.predictProbaSync(x, options);
    const flat = probs instanceof Float32Array ? probs : Float32Array.from(probs.flat());
    return this.#labelsOf(flat);
  }

  #shape(set: SequenceSet, probs: Float32Array): Float32Array | number[][] {
    if (set.typed) return probs;
    const C = this.config.classes;
    return Array.from({ length: set.count }, (_, i) => Array.from(probs.subarray(i * C, (i + 1) * C)));
  }

  #labelsOf(probs: Float32Array): Array<string | number> {
    const C = this.config.classes;
    const out: Array<string | number> = [];
    for (let i = 0; i < probs.length / C; i++) {
      const k = argmax(probs.subarray(i * C, (i + 1) * C));
      out.push(this.config.labels ? this.config.labels[k] : k);
    }
    return out;
  }

  /** Weights in Keras/tfjs layout and tfjs `model.getWeights()` order (copies). */
  getWeights(): WeightTensor[] {
    return this.#weightsOf(this.#idle('read weights'));
  }

  #weightsOf(model: NativeModel): WeightTensor[] {
    return unpackWeights(tensorsOf(this.config), model.getParams());
  }

  /** Sets weights from a list in `getWeights()` order and shapes (Float32Array or number[] values). */
  setWeights(weights: WeightsInput): void {
    const model = this.#idle('set weights');
    // A quantized model holds its recurrent matrices on its grid (what it computes with, and
    // what getWeights shows): other values are moved onto it, as quantize() does.
    const tensors = tensorsOf(this.config);
    const checked = unpackWeights(tensors, packWeights(tensors, weights));
    model.setParams(packWeights(tensors, onPrecisionGrid({ config: this.config, weights: checked, preprocessing: null })));
  }

  /** The model as plain data: its config, weights (copies) and preprocessing. */
  toDescription(): ModelDescription {
    const model = this.#idle('read weights');
    return { config: this.config, weights: this.#weightsOf(model), preprocessing: this.preprocessing === null ? null : structuredClone(this.preprocessing) };
  }

  /**
   * A model from a description (an importer's, `toDescription()`'s, a quantizer's): its config,
   * its weights as they are (checked: count, shapes, finite float32 values), its preprocessing.
   */
  static fromDescription(description: ModelDescription): SequenceClassifier {
    if (description === null || typeof description !== 'object') throw invalidType('description', 'a model description { config, weights, preprocessing }', description);
    const { config, weights, preprocessing } = description;
    const model = new SequenceClassifier({ ...config, classes: config.labels ?? config.classes } as SequenceClassifierConfig);
    try {
      model.#idle('set weights').setParams(packWeights(tensorsOf(model.config), weights));
      model.preprocessing = preprocessing ?? null;
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  /** Loss and parameter gradients of one labelled batch (flat, `getWeights()` order), without
   * updating anything. For checks and research; synchronous. */
  computeGradients(data: Dataset, options: { classWeight?: FitOptions['classWeight']; threads?: number } = {}): { loss: number; gradients: WeightTensor[] } {
    const model = this.#idle('compute gradients');
    this.#trainable('compute gradients');
    checkOptions(options, ['classWeight', 'threads']);
    const { set, labels } = this.#dataset(data, 'data');
    const weights = resolveClassWeights(options.classWeight, this.config.classes, this.config.labels);
    const result = model.gradients(batchOf(set, null, 0, set.count), labels, weights, threadsOption(options.threads));
    return {
      loss: result.loss,
      gradients: unpackWeights(tensorsOf(this.config), result.grads),
    };
  }

  /**
   * A tfjs/Keras layers model: `model.json` (tfjs-layers `model.save`, the Keras→tfjs
   * converter, Keras 3) and its weight shards. Unsupported layers or options reject with an
   * UnsupportedModelError naming the layer; unreadable files with a ModelFileError.
   */
  static async fromTfjs(path: string, options?: ImportOptions): Promise<SequenceClassifier> {
    return SequenceClassifier.fromDescription(await importTfjs(path, options));
  }

  /**
   * An ONNX model: one `toOnnx` wrote (exactly), or a recurrent classifier exported by
   * `torch.onnx.export` and similar writers (LSTM/GRU/RNN nodes, optional embedding Gather,
   * read out at the last step, final states, mean or max, then Gemm/MatMul and optionally
   * Softmax). A graph rnn-node cannot express rejects with an UnsupportedModelError naming the
   * node; an unreadable file with a ModelFileError.
   */
  static async fromOnnx(path: string, options?: ImportOptions): Promise<SequenceClassifier> {
    return SequenceClassifier.fromDescription(await importOnnx(path, options));
  }

  /**
   * Writes an ONNX model (opset 17: Gather, LSTM/GRU/RNN, Gemm, Softmax; inputs `x` and
   * `lengths`, output `probabilities`) that onnxruntime runs; atomically.
   */
  async toOnnx(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') throw invalidType('path', 'a file path', path);
    this.#idle('export');
    await writeFileAtomic(path, await exportOnnx(this.toDescription(), packageVersion()));
  }

  /** Writes `dir`/model.json and its weight shards, loadable by `@tensorflow/tfjs`'s loadLayersModel. */
  async toTfjs(dir: string): Promise<void> {
    this.#idle('export');
    await exportTfjs(this.toDescription(), dir, packageVersion());
  }

  /** Saves the model to one file, atomically (temp file + fsync + rename). With
   * `includeTrainingState` (default true, once the model has been trained) the optimizer
   * moments, epoch count and shuffling stream are saved too, so a loaded model resumes
   * training bit-identically at the same thread count. */
  async save(path: string, options: { includeTrainingState?: boolean } = {}): Promise<void> {
    const model = this.#idle('save');
    if (typeof path !== 'string' || path === '') throw invalidType('path', 'a file path', path);
    checkOptions(options, ['includeTrainingState']);
    const training = options.includeTrainingState ?? true;
    if (typeof training !== 'boolean') throw invalidType('options.includeTrainingState', 'a boolean', training);
    await this.#saveWith(model, path, training);
  }

  async #saveWith(model: NativeModel, path: string, includeTrainingState: boolean): Promise<void> {
    const withState = includeTrainingState && this.#optimizer !== null;
    let training: TrainingState | null = null;
    let moments: Float32Array | null = null;
    // Loaded but not yet handed back (no fit since the load): saved as they came.
    let kept = this.#keptWeights;
    if (withState) {
      const state = model.getOptimizerState();
      moments = state.moments;
      const callbacks: Record<string, unknown> = { ...this.#callbackStates };
      for (const cb of this.#statefulCallbacks) callbacks[cb.stateKey!] = cb.getState!();
      for (const cb of this.#statefulCallbacks) {
        const params = cb.getKeptWeights?.();
        if (params) {
          kept = { key: cb.stateKey!, params };
          break;
        }
      }
      training = {
        optimizer: this.#optimizer!,
        optimizerSteps: state.steps,
        epochs: this.#epochs,
        rngState: this.#rng.state,
        extra: { callbacks: JSON.parse(JSON.stringify(callbacks)) },
        ...(kept ? { keptWeights: kept.key } : {}),
      };
    }
    const header = makeHeader(this.config, this.preprocessing, training);
    await writeFileAtomic(path, encodeCheckpoint({ header, params: model.getParams(), moments, kept: withState && kept ? kept.params : null }));
  }

  /** Loads a model saved by `save()`. Every size in the file is checked before anything is
   * allocated, then the checksum; a bad file throws CheckpointError saying what is wrong. */
  static async load(path: string): Promise<SequenceClassifier> {
    if (typeof path !== 'string' || path === '') throw invalidType('path', 'a file path', path);
    const checkpoint = await readCheckpoint(path);
    const { config, training, preprocessing } = checkpoint.header;
    const model = new SequenceClassifier({ ...config, classes: config.labels ?? config.classes } as SequenceClassifierConfig);
    try {
      const handle = model.#live();
      handle.setParams(checkpoint.params);
      model.preprocessing = preprocessing;
      if (training && checkpoint.moments) {
        handle.setOptimizer(training.optimizer);
        handle.setOptimizerState(training.optimizerSteps, checkpoint.moments);
        model.#optimizer = training.optimizer;
        model.#optimizerKey = JSON.stringify(training.optimizer);
        model.#epochs = training.epochs;
        model.#rng = SeededRandom.fromState(training.rngState);
        const saved = (training.extra as { callbacks?: unknown } | undefined)?.callbacks;
        if (saved && typeof saved === 'object' && !Array.isArray(saved)) model.#callbackStates = saved as Record<string, unknown>;
        if (training.keptWeights !== undefined && checkpoint.kept) model.#keptWeights = { key: training.keptWeights, params: checkpoint.kept };
      }
    } catch (e) {
      model.dispose();
      throw new CheckpointError(`${path}: ${(e as Error).message}`);
    }
    return model;
  }

  /** Frees the native model. Idempotent; any later call throws DisposedError. A running
   * job finishes on its own reference first. */
  dispose(): void {
    this.#batcher?.drain(new DisposedError());
    this.#batcher = null;
    this.#native?.dispose();
    this.#native = null;
  }
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

export type { Labels };

/** An options argument: a plain object (not null or an array) with only the keys named. */
function checkOptions(options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'an object', options);
  checkKnownKeys('options', options as Record<string, unknown>, known);
}
