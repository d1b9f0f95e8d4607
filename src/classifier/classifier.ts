/**
 * `SequenceClassifier`: a recurrent classifier (RNN, LSTM, GRU; stacked, bidirectional)
 * trained and run by the native core. Validation happens here, with messages that name
 * the argument; the native side re-checks only what protects memory.
 */
import { TrainingSession } from '../training/session';
import { datasetOf, fitModel, reportFacts } from './fit-model';
import { predictSet } from './predict-set';
import { writeFileAtomic } from '../util/atomic-file';
import { makeHeader, encodeCheckpoint, readCheckpoint } from '../model/checkpoint';
import { packWeights, tensorsOf, unpackWeights, type ModelDescription, type WeightsInput, type WeightTensor } from '../model/description';
import { resolveConfig, toNativeConfig, type ResolvedConfig, type SequenceClassifierConfig } from '../model/config';
import { batchOf, toSequenceSet, type Dataset, type Labels, type SequenceInput, type SequenceSet } from '../data/sequence-set';
import { BusyError, CheckpointError, DisposedError, InferenceOnlyError, invalidType, outOfRange, UnsupportedModelError } from '../util/errors';
import { resolveClassWeights, resolveMissing, type FitOptions } from '../training/fit-options';
import { computeMetrics, type Metrics } from '../training/metrics';
import { native, type NativeModel, type NativeOptimizerConfig } from '../native/addon';
import type { MissingPolicy } from '../data/missing';
import { ensureThreadsConfigured, threadsOption } from '../native/threads';
import { type History } from '../training/fit';
import { checkInteger, checkKnownKeys } from '../util/validate';
import { predictionBatcher, resolveBatching, type BatchingOptions, type BatchingStats, type MicroBatcher } from './micro-batcher';
import { writeEvaluationReport } from '../report/fit-report';
import { resolveReportOptions, type ReportOptions } from '../training/report-options';
import { importOnnx } from '../interop/onnx/onnx-import';
import { exportTfjs, importTfjs, type ImportOptions } from '../interop/tfjs/tfjs';
import { exportOnnx } from '../interop/onnx/onnx-export';
import { packageVersion } from '../native/backend';
import { warnIfPortable } from '../native/low-precision';
import { onPrecisionGrid, quantizeDescription } from '../model/quantize';
import { ModelStreams } from './model-streams';
import { SequenceStream, type OpenStreamOptions } from './sequence-stream';

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

export type { ModelDescription, WeightTensor } from '../model/description';

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
  /** Optimizer, shuffling stream, epochs and callback state: what goes on from fit to fit and through a file. */
  #session: TrainingSession;
  /** Tokenizer vocabulary, normalisation, ...: saved with the model. */
  preprocessing: Record<string, unknown> | null = null;
  /** Dynamic batching of concurrent predictions, when turned on (setBatching). */
  #batcher: MicroBatcher<SequenceSet, Float32Array> | null = null;
  #batching: BatchingOptions | null = null;
  /** The streams' batcher, fingerprint and tokenizer: made by the first openStream. */
  #streams: ModelStreams | null = null;

  constructor(config: SequenceClassifierConfig) {
    this.config = resolveConfig(config);
    ensureThreadsConfigured();
    this.#native = new (native().NativeModel)(toNativeConfig(this.config));
    this.#native.initialize(this.config.seed);
    this.#session = new TrainingSession(this.config.seed);
  }

  /** Epochs trained so far (across fit calls and checkpoints). */
  get epochsTrained(): number {
    return this.#session.epochs;
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
    const quantized = SequenceClassifier.fromDescription(description);
    warnIfPortable(type);
    return quantized;
  }

  /** Trains the model. Resolves with the per-epoch history. */
  async fit(data: Dataset, options: FitOptions = {}): Promise<History> {
    const model = this.#idle('start fit()');
    this.#trainable('fit');
    return fitModel(
      {
        model,
        config: this.config,
        preprocessing: this.preprocessing,
        session: this.#session,
        owner: this,
        operations: {
          getWeights: () => this.#weightsOf(model),
          setWeights: (w) => model.setParams(packWeights(tensorsOf(this.config), w)),
          getParams: () => model.getParams(),
          setParams: (p) => model.setParams(p),
          save: (path) => this.#saveWith(model, path, true),
        },
        running: (fitting) => {
          this.#fitting = fitting;
          this.#streams?.weightsChanged();
        },
      },
      data,
      options,
    );
  }

  /** Loss, accuracy, top-k accuracy, per-class precision/recall/F1, macro averages and
   * the confusion matrix on labelled data. */
  async evaluate(data: Dataset, options: EvaluateOptions = {}): Promise<Metrics> {
    const model = this.#idle('evaluate');
    const { batchSize, threads } = this.#predictOptions(options, EVALUATE_OPTION_KEYS);
    const topK = options.topK === undefined ? 3 : checkInteger('options.topK', options.topK, 1, 1 << 20);
    const report = resolveReportOptions(options.report, options.metricsLog);
    const { set, labels } = datasetOf(this.config, data, 'data', resolveMissing(options?.missing));
    const probs = await predictSet(model, set, this.config.classes, batchSize, threads);
    if (report) await writeEvaluationReport(reportFacts(this.config, this.preprocessing), report, probs, { set, labels, indexInData: null }, topK, threads);
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
    const optimizer = this.#session.optimizer;
    return optimizer === null ? null : { ...optimizer };
  }

  /** Probabilities of a checked set: through the micro-batcher when batching is on. */
  async #probabilities(set: SequenceSet, options: PredictOptions): Promise<Float32Array> {
    const model = this.#idle('predict');
    const { batchSize, threads } = this.#predictOptions(options);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidType('options.signal', 'an AbortSignal', signal);
    signal?.throwIfAborted();
    if (this.#batcher) return this.#batcher.submit(set, signal);
    const probs = await predictSet(model, set, this.config.classes, batchSize, threads);
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

  /** Batches, calls (pushes) and sequences the streams of this model have run; null before
   * the first openStream. */
  get streamStats(): BatchingStats | null {
    return this.#streams ? { ...this.#streams.batcher.stats } : null;
  }

  setBatching(options: Partial<BatchingOptions> | null): void {
    this.#live();
    const resolved = resolveBatching(options);
    this.#batching = resolved;
    this.#streams?.configure(resolved);
    if (!resolved) {
      this.#batcher?.flush();
      this.#batcher = null;
      return;
    }
    if (this.#batcher) this.#batcher.configure(resolved);
    else this.#batcher = predictionBatcher(resolved, this.config.classes, (set) => predictSet(this.#idle('predict'), set, this.config.classes, Math.max(1, set.count), 0));
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

  /**
   * A stream: a sequence read a chunk at a time (`push`), answering with the probabilities so
   * far; see SequenceStream. Pushes from many streams that arrive together run as one native
   * call (through the batching options of `setBatching`, or, without them, every push made in
   * the same turn of the event loop). `options.state` goes on from a `saveState()` of this
   * model. A model with a bidirectional layer cannot stream (UnsupportedModelError).
   */
  openStream(options: OpenStreamOptions = {}): SequenceStream {
    const model = this.#idle('open a stream');
    const why = model.streamInfo().unsupported;
    if (why) throw new UnsupportedModelError(`Cannot stream this model: ${why}`);
    this.#streams ??= new ModelStreams(
      { config: this.config, native: () => this.#idle('push to a stream'), preprocessing: () => this.preprocessing },
      this.#batching,
    );
    return new SequenceStream(this.#streams, options);
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
    this.#streams?.weightsChanged();
    // A quantized model holds its recurrent matrices on its grid (what it computes with, and
    // what getWeights shows): other values are moved onto it, as quantize() does.
    const tensors = tensorsOf(this.config);
    const params = packWeights(tensors, weights);
    if (this.config.precision === 'float32') return model.setParams(params);
    model.setParams(packWeights(tensors, onPrecisionGrid({ config: this.config, weights: unpackWeights(tensors, params), preprocessing: null })));
  }

  /** The model as plain data: its config, weights (copies) and preprocessing. */
  toDescription(): ModelDescription {
    const d = this.#describe(this.#idle('read weights'));
    return { config: structuredClone(d.config), weights: d.weights, preprocessing: d.preprocessing === null ? null : structuredClone(d.preprocessing) };
  }

  /** This model as a description for a reader that only reads it (an exporter): the weights
   * copied out of native memory, the config and preprocessing shared. */
  #describe(model: NativeModel): ModelDescription {
    return { config: this.config, weights: this.#weightsOf(model), preprocessing: this.preprocessing };
  }

  /**
   * A model from a description (an importer's, `toDescription()`'s, a quantizer's): its config,
   * its weights as they are (checked: count, shapes, finite float32 values), its preprocessing.
   */
  static fromDescription(description: ModelDescription): SequenceClassifier {
    if (description === null || typeof description !== 'object') throw invalidType('description', 'a model description { config, weights, preprocessing }', description);
    const { config, weights, preprocessing } = description;
    if (config === null || typeof config !== 'object') throw invalidType('description.config', 'a model config', config);
    if (preprocessing !== undefined && preprocessing !== null && (typeof preprocessing !== 'object' || Array.isArray(preprocessing)))
      throw invalidType('description.preprocessing', 'an object or null', preprocessing);
    const model = new SequenceClassifier({ ...config, classes: config.labels ?? config.classes } as SequenceClassifierConfig);
    try {
      model.#idle('set weights').setParams(packWeights(tensorsOf(model.config), weights));
      model.preprocessing = preprocessing === undefined || preprocessing === null ? null : structuredClone(preprocessing);
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
    const { set, labels } = datasetOf(this.config, data, 'data');
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
    await writeFileAtomic(path, await exportOnnx(this.#describe(this.#idle('export')), packageVersion()));
  }

  /** Writes `dir`/model.json and its weight shards, loadable by `@tensorflow/tfjs`'s loadLayersModel. */
  async toTfjs(dir: string): Promise<void> {
    await exportTfjs(this.#describe(this.#idle('export')), dir, packageVersion());
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
    const snapshot = this.#session.snapshot(model, includeTrainingState);
    const header = makeHeader(this.config, this.preprocessing, snapshot.training);
    await writeFileAtomic(path, encodeCheckpoint({ header, params: model.getParams(), moments: snapshot.moments, kept: snapshot.kept }));
  }

  /** Loads a model saved by `save()`. Every size in the file is checked before anything is
   * allocated, then the checksum; a bad file throws CheckpointError saying what is wrong. */
  static async load(path: string): Promise<SequenceClassifier> {
    if (typeof path !== 'string' || path === '') throw invalidType('path', 'a file path', path);
    const checkpoint = await readCheckpoint(path);
    const { config, preprocessing } = checkpoint.header;
    const model = new SequenceClassifier({ ...config, classes: config.labels ?? config.classes } as SequenceClassifierConfig);
    try {
      const handle = model.#live();
      handle.setParams(checkpoint.params);
      model.preprocessing = preprocessing;
      model.#session.restore(handle, { training: checkpoint.header.training, moments: checkpoint.moments, kept: checkpoint.kept });
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
    this.#streams?.batcher.drain(new DisposedError());
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
