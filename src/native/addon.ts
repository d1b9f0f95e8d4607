/**
 * The typed contract of the native addon, and its loader. Everything else talks to native
 * code through this file.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { BusyError, DisposedError } from '../util/errors';
import { type BinaryChoice, chooseBinary } from './variants';

export interface NativeLayerConfig {
  /** A cell kind's name from the cell table (src/model/cells.ts, native/core/cells.h); the addon refuses others. */
  cell: string;
  units: number;
  bidirectional: boolean;
  activation: 'tanh' | 'relu';
  recurrentActivation: 'sigmoid' | 'hardSigmoid';
  resetAfter: boolean;
  unitForgetBias: boolean;
  dropout: number;
  kernelInitializer: 'glorotUniform' | 'torchUniform';
  recurrentInitializer: 'orthogonal' | 'torchUniform';
  biasInitializer: 'zeros' | 'torchUniform';
}

export interface NativeModelConfig {
  input: 'dense' | 'tokens';
  features?: number;
  vocabSize?: number;
  embeddingDim?: number;
  embeddingInitializer?: 'uniform' | 'normal';
  layers: NativeLayerConfig[];
  pooling: 'last' | 'mean' | 'max';
  classes: number;
  precision: 'float32' | 'int8' | 'bf16';
}

/**
 * A batch in native form: row-major values padded to `steps`, valid lengths per sequence.
 * Without `sequences` the arrays hold exactly the batch; with it they hold `lengths.length`
 * source sequences (a whole data set) and `sequences` names the batch's members. Either
 * way the addon gathers the members into its own packed memory during the call: the one
 * copy of the input on its way to the kernels.
 */
export interface NativeBatch {
  batch: number;
  steps: number;
  lengths: Int32Array;
  dense?: Float32Array; // [count, steps, features]
  tokens?: Int32Array; // [count, steps]
  sequences?: Int32Array; // [batch]
}

/**
 * An optimizer as the addon takes it. `fit`'s `OptimizerOptions` are these fields, each
 * optional, plus the learning rate (training/optimizer-options.ts); resolved, every field is
 * present (the normal form model files hold). The defaults below are what `fit` applies.
 */
export interface NativeOptimizerConfig {
  /** Default 'adam'. */
  type: 'adam' | 'adamw' | 'sgd' | 'rmsprop';
  /** sgd and rmsprop momentum. Default 0. */
  momentum?: number;
  /** sgd: Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** adam/adamw. Defaults 0.9 and 0.999. */
  beta1?: number;
  beta2?: number;
  /** rmsprop decay. Default 0.9. */
  rho?: number;
  /** Default 1e-7. */
  epsilon?: number;
  /** AdamW: decoupled decay (default 0.01); others: L2 penalty (default 0). */
  weightDecay?: number;
  /** Clip gradients to this global L2 norm; 0 = off. Default 0. */
  clipNorm?: number;
}

export interface NativeTensorInfo {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface NativeStepResult {
  loss: number;
  correct: number;
  gradNorm: number;
}

export interface NativeModel {
  readonly disposed: boolean;
  paramCount(): number;
  tensors(): NativeTensorInfo[];
  initialize(seed: number): void;
  getParams(): Float32Array;
  setParams(params: Float32Array): void;
  setOptimizer(config: NativeOptimizerConfig): void;
  getOptimizerState(): { steps: number; moments: Float32Array };
  setOptimizerState(steps: number, moments: Float32Array): void;
  trainStep(
    batch: NativeBatch,
    labels: Int32Array,
    classWeights: Float32Array | null,
    learningRate: number,
    seed: number,
    threads: number,
  ): Promise<NativeStepResult>;
  gradients(
    batch: NativeBatch,
    labels: Int32Array,
    classWeights: Float32Array | null,
    threads: number,
  ): { loss: number; grads: Float32Array };
  predict(batch: NativeBatch, threads: number): Promise<Float32Array>;
  predictSync(batch: NativeBatch, threads: number): Float32Array;
  /** Floats of carried state per stream row (native/core/stream.h), and why the model cannot
   * stream (a bidirectional layer), or null. */
  streamInfo(): { width: number; unsupported: string | null };
  /** One chunk of each row's stream from its carried state: row i's state is row `slots[i]`
   * of `statePages` (Float32Arrays of equal length, whole rows of `streamInfo().width`), read
   * at the call and overwritten with the new state as the promise settles; `priorSteps`
   * [batch] are the steps each read before. Resolves with the probabilities after each row's
   * last step [batch × classes], or after every step [batch × batch.steps × classes]. */
  stream(batch: NativeBatch, statePages: Float32Array[], slots: Int32Array, priorSteps: Int32Array, everyStep: boolean, threads: number): Promise<Float32Array>;
  dispose(): void;
}

export interface NativeBuildInfo {
  openmp: boolean;
  openmpVersion?: number;
  maxThreads: number;
  eigen: string;
  simd: string;
  int8Kernel: string;
  bf16Kernel: string;
  isa: string;
  openmpLibrary?: string;
  compiler?: string;
  /** Gate block order per cell, from the cell table (native/core/cells.h). */
  gateOrder: Record<string, string[]>;
  /**
   * The native cell table (native/core/cells.h, kCells), one entry per cell kind in its
   * order: the API name, the Keras weight-name prefix (`<prefix>_<layer>/kernel`), the
   * one-letter gate names in block order, and whether a `resetAfter` layer keeps two bias rows.
   */
  cells: { type: string; weightPrefix: string; gates: string[]; twoBiasesWhenResetAfter: boolean; cellState: boolean }[];
}

export interface NativeAddon {
  NativeModel: new (config: NativeModelConfig) => NativeModel;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  buildInfo(): NativeBuildInfo;
}

/**
 * An error thrown or rejected by the addon as the library's own class, chosen by its `code`
 * (native/binding/errors.h uses the same codes): ERR_RNN_BUSY -> BusyError,
 * ERR_RNN_DISPOSED -> DisposedError; TypeError/RangeError (ERR_INVALID_ARG_TYPE,
 * ERR_OUT_OF_RANGE) and ERR_RNN_NATIVE pass through as they are.
 */
export function fromNative(error: unknown): Error {
  const e = error as { code?: string; message?: string };
  if (e && e.code === 'ERR_RNN_DISPOSED') return new DisposedError(e.message);
  if (e && e.code === 'ERR_RNN_BUSY') return new BusyError(e.message ?? 'busy');
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Runs one call into the addon: a throw is mapped by fromNative; a rejection too, and it gets
 * the caller's stack (an async native error otherwise has none: it is made on the event loop
 * when the job settles, as sharp's `is.nativeError` also handles).
 */
export function callNative<T>(call: () => T): T {
  let result: T;
  try {
    result = call();
  } catch (error) {
    throw fromNative(error);
  }
  if (!(result instanceof Promise)) return result;
  const caller: { stack?: string } = {};
  Error.captureStackTrace(caller, callNative);
  return result.catch((error: unknown) => {
    const mapped = fromNative(error);
    const frames = (caller.stack ?? '').split('\n').slice(1).join('\n');
    mapped.stack = `${mapped.name}: ${mapped.message}\n${frames}`;
    throw mapped;
  }) as T;
}

/** `target` with every method call going through callNative. */
function guarded<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, key) {
      const value = Reflect.get(object, key, object) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => callNative(() => (value as (...a: unknown[]) => unknown).apply(object, args));
    },
  });
}

/** Package root: this file lives in src/native/ (tests) or dist/native/ (installed). */
const packageRoot = join(__dirname, '..', '..');

let addon: NativeAddon | undefined;
export let loadedBinary: BinaryChoice | undefined;

/** Loads the addon once (see chooseBinary for which file). OpenMP threads are told to wait
 * passively before libgomp starts, so an idle thread pool never spins against the event loop. */
export function native(): NativeAddon {
  if (addon) return addon;
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const choice = chooseBinary(packageRoot);
  const requireNative = createRequire(__filename);
  try {
    const raw = requireNative(choice.path) as NativeAddon;
    // Every call the rest of the package makes goes through callNative: no try/catch at call sites.
    const NativeModel = new Proxy(raw.NativeModel, {
      construct: (Target, args: [NativeModelConfig]) => guarded(callNative(() => new Target(...args))),
    });
    addon = {
      NativeModel,
      setNumThreads: (threads) => callNative(() => raw.setNumThreads(threads)),
      getNumThreads: () => callNative(() => raw.getNumThreads()),
      buildInfo: () => callNative(() => raw.buildInfo()),
    };
  } catch (error) {
    throw new Error(
      `rnn-node: could not load ${choice.path} (${choice.reason}): ${(error as Error).message}. ` +
        'A source build (`RNN_NODE_BUILD_FROM_SOURCE=1 npm rebuild rnn-node`) works where the prebuilt binaries do not.',
      { cause: error },
    );
  }
  loadedBinary = choice;
  return addon;
}
