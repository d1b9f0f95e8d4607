/**
 * The `SequenceClassifier` constructor config (a contract: docs/API.md), its defaults
 * and its validation.
 */
import { invalidType, outOfRange } from '../util/errors';
import { checkBoolean, checkChoice, checkInteger, checkKnownKeys, checkNumber } from '../util/validate';
import type { NativeModelConfig } from '../native/addon';
import { CELL_TYPES, type CellType } from './cells';
import type { DenseInputConfig, EmbeddingInitializer, ResolvedInputConfig, TokenInputConfig } from '../data/input-config';

export type { DenseInputConfig, EmbeddingInitializer, TokenInputConfig } from '../data/input-config';

export type { CellType } from './cells';

export type KernelInitializer = 'glorotUniform' | 'torchUniform';
export type RecurrentInitializer = 'orthogonal' | 'torchUniform';
export type BiasInitializer = 'zeros' | 'torchUniform';

/**
 * The initialisers a config gets when it names none. Chosen by measurement, not habit:
 * bench/INIT.md trains four tasks (two text, Fashion-MNIST rows, a numeric series) with LSTM
 * and GRU over 3 seeds for each combination, against PyTorch with the same model.
 */
export const DEFAULT_INITIALIZERS = {
  embedding: 'normal',
  kernel: 'glorotUniform',
  recurrent: 'orthogonal',
  bias: 'zeros',
} as const satisfies {
  embedding: EmbeddingInitializer;
  kernel: KernelInitializer;
  recurrent: RecurrentInitializer;
  bias: BiasInitializer;
};

/** What files of model format 1 were initialised with (Keras's initialisers, the only ones then). */
export const KERAS_INITIALIZERS = {
  embedding: 'uniform',
  kernel: 'glorotUniform',
  recurrent: 'orthogonal',
  bias: 'zeros',
} as const;

export interface LayerConfig {
  cell: CellType;
  units: number;
  /** Run a second, time-reversed copy and concatenate. Default false. */
  bidirectional?: boolean;
  /** How a bidirectional layer joins its directions (Keras's merge_mode): 'concat' (2 x units
   * wide), or elementwise 'sum', 'ave' (mean) or 'mul' (units wide). Default 'concat'. */
  mergeMode?: 'concat' | 'sum' | 'ave' | 'mul';
  /** Output/candidate activation. Default 'tanh'. */
  activation?: 'tanh' | 'relu';
  /** Gate activation (LSTM, GRU). Default 'sigmoid'; 'hardSigmoid' is Keras-2's clip(0.2x + 0.5, 0, 1). */
  recurrentActivation?: 'sigmoid' | 'hardSigmoid';
  /** GRU form. Default true (PyTorch/cuDNN/Keras default); false is tfjs's only form. */
  resetAfter?: boolean;
  /** LSTM: initialise the forget-gate bias to 1. Default true. */
  unitForgetBias?: boolean;
  /** Dropout rate on this layer's output sequence, training only. Default 0. */
  dropout?: number;
  /** Input kernel: 'glorotUniform' (Keras) or 'torchUniform' U(±1/√units) (PyTorch). */
  kernelInitializer?: KernelInitializer;
  /** Recurrent kernel: 'orthogonal' (Keras) or 'torchUniform' U(±1/√units) (PyTorch). */
  recurrentInitializer?: RecurrentInitializer;
  /** Bias: 'zeros' (Keras) or 'torchUniform' (PyTorch's b_ih + b_hh, each U(±1/√units)).
   * The LSTM forget-gate bias is 1 regardless while unitForgetBias is true. */
  biasInitializer?: BiasInitializer;
}

export interface SequenceClassifierConfig {
  input: DenseInputConfig | TokenInputConfig;
  layers: LayerConfig[];
  /** How the top layer's output sequence becomes one vector. Default 'last'. */
  pooling?: 'last' | 'mean' | 'max';
  /** Number of classes, or their names (then `predict` returns names). */
  classes: number | string[];
  /** Seed for weight initialisation, shuffling and dropout. Default 0. */
  seed?: number;
  /**
   * Arithmetic of the recurrent products. Default 'float32'. 'int8' and 'bf16' models are
   * inference-only; `model.quantize()` makes them from a trained float32 model.
   */
  precision?: Precision;
}

/** 'int8': per-channel int8 weights, per-row dynamic int8 activations; 'bf16': bfloat16 operands, float sums. */
export type Precision = 'float32' | 'int8' | 'bf16';

export interface ResolvedConfig {
  input: ResolvedInputConfig;
  layers: Required<LayerConfig>[];
  pooling: 'last' | 'mean' | 'max';
  classes: number;
  labels: string[] | null;
  seed: number;
  precision: Precision;
}

const MAX_UNITS = 16384;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optional<T>(value: T | undefined, fallback: T, check: (v: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}

const CONFIG_KEYS = ['input', 'layers', 'pooling', 'classes', 'seed', 'labels', 'precision'] as const;
const INPUT_KEYS = { dense: ['type', 'features', 'maskValue'], tokens: ['type', 'vocabSize', 'embeddingDim', 'maskZero', 'embeddingInitializer'] } as const;
const LAYER_KEYS = ['cell', 'units', 'bidirectional', 'mergeMode', 'activation', 'recurrentActivation', 'resetAfter', 'unitForgetBias', 'dropout', 'kernelInitializer', 'recurrentInitializer', 'biasInitializer'] as const;

/**
 * Applies defaults and validates; throws TypeError/RangeError naming the field. `strict`
 * (a user's config) also rejects unknown keys, so that a typo is not silently ignored; model
 * files are read leniently.
 */
export function resolveConfig(config: unknown, strict = true): ResolvedConfig {
  if (!isObject(config)) throw invalidType('config', 'an object', config);
  if (strict) checkKnownKeys('config', config, CONFIG_KEYS);
  const input = config.input;
  if (!isObject(input)) throw invalidType('config.input', "an object like { type: 'dense', features: 28 }", input);
  const type = checkChoice('config.input.type', input.type, ['dense', 'tokens'] as const);
  if (strict) checkKnownKeys('config.input', input, INPUT_KEYS[type], { maskZero: "maskZero (token input only)", maskValue: 'maskValue (dense input only)' });
  const resolvedInput: ResolvedConfig['input'] =
    type === 'dense'
      ? {
          type,
          features: checkInteger('config.input.features', input.features, 1, 1 << 20),
          maskValue: optional(input.maskValue as number | null | undefined, null, (v) => (v === null ? null : checkNumber('config.input.maskValue', v, -3.4e38, 3.4e38))),
        }
      : {
          type,
          vocabSize: checkInteger('config.input.vocabSize', input.vocabSize, 2, 1 << 24),
          embeddingDim: checkInteger('config.input.embeddingDim', input.embeddingDim, 1, MAX_UNITS),
          maskZero: optional(input.maskZero as boolean | undefined, true, (v) => checkBoolean('config.input.maskZero', v)),
          embeddingInitializer: optional(input.embeddingInitializer as EmbeddingInitializer | undefined, DEFAULT_INITIALIZERS.embedding, (v) =>
            checkChoice('config.input.embeddingInitializer', v, ['uniform', 'normal'] as const),
          ),
        };
  if (!Array.isArray(config.layers) || config.layers.length === 0)
    throw invalidType('config.layers', 'a non-empty array of layer configs', config.layers);
  if (config.layers.length > 64) throw outOfRange('config.layers', 'at most 64 layers', config.layers);
  const layers = Array.from(config.layers as unknown[], (layer: unknown, i: number): Required<LayerConfig> => {
    const at = `config.layers[${i}]`;
    if (!isObject(layer)) throw invalidType(at, 'a layer config object', layer);
    if (strict) checkKnownKeys(at, layer, LAYER_KEYS, { type: 'cell', returnSequences: "pooling (on the config: 'last', 'mean' or 'max')" });
    return {
      cell: checkChoice(`${at}.cell`, layer.cell, CELL_TYPES),
      units: checkInteger(`${at}.units`, layer.units, 1, MAX_UNITS),
      bidirectional: optional(layer.bidirectional as boolean | undefined, false, (v) => checkBoolean(`${at}.bidirectional`, v)),
      mergeMode: optional(layer.mergeMode as 'concat' | undefined, 'concat', (v) => {
        const mode = checkChoice(`${at}.mergeMode`, v, ['concat', 'sum', 'ave', 'mul'] as const);
        if (mode !== 'concat' && layer.bidirectional !== true) throw outOfRange(`${at}.mergeMode`, "'concat' (merging needs bidirectional: true)", v);
        return mode;
      }),
      activation: optional(layer.activation as 'tanh' | undefined, 'tanh', (v) =>
        checkChoice(`${at}.activation`, v, ['tanh', 'relu'] as const),
      ),
      recurrentActivation: optional(layer.recurrentActivation as 'sigmoid' | undefined, 'sigmoid', (v) =>
        checkChoice(`${at}.recurrentActivation`, v, ['sigmoid', 'hardSigmoid'] as const),
      ),
      resetAfter: optional(layer.resetAfter as boolean | undefined, true, (v) => checkBoolean(`${at}.resetAfter`, v)),
      unitForgetBias: optional(layer.unitForgetBias as boolean | undefined, true, (v) =>
        checkBoolean(`${at}.unitForgetBias`, v),
      ),
      dropout: optional(layer.dropout as number | undefined, 0, (v) => checkNumber(`${at}.dropout`, v, 0, 1, true)),
      kernelInitializer: optional(layer.kernelInitializer as KernelInitializer | undefined, DEFAULT_INITIALIZERS.kernel, (v) =>
        checkChoice(`${at}.kernelInitializer`, v, ['glorotUniform', 'torchUniform'] as const),
      ),
      recurrentInitializer: optional(layer.recurrentInitializer as RecurrentInitializer | undefined, DEFAULT_INITIALIZERS.recurrent, (v) =>
        checkChoice(`${at}.recurrentInitializer`, v, ['orthogonal', 'torchUniform'] as const),
      ),
      biasInitializer: optional(layer.biasInitializer as BiasInitializer | undefined, DEFAULT_INITIALIZERS.bias, (v) =>
        checkChoice(`${at}.biasInitializer`, v, ['zeros', 'torchUniform'] as const),
      ),
    };
  });
  const pooling = optional(config.pooling as 'last' | undefined, 'last', (v) =>
    checkChoice('config.pooling', v, ['last', 'mean', 'max'] as const),
  );
  let classes: number;
  let labels: string[] | null = null;
  // A resolved config (model.config) carries its names in `labels` beside a class count: read
  // back as it is, they name the classes. A copy given other classes ({ ...model.config,
  // classes: [...] or 4 }) means those: names of another class count are not these classes'.
  const given = config.labels as unknown;
  if (given !== undefined && given !== null && !Array.isArray(given)) throw invalidType('config.labels', 'an array of class names (or null)', given);
  const namedClasses = Array.isArray(config.classes) ? config.classes : Array.isArray(given) && given.length === config.classes ? given : null;
  if (namedClasses) {
    // Array.from visits holes (as undefined), which .map would skip and keep.
    labels = Array.from(namedClasses as unknown[], (name: unknown, i: number) => {
      if (typeof name !== 'string' || name === '') throw invalidType(`config.classes[${i}]`, 'a non-empty string', name);
      return name;
    });
    if (new Set(labels).size !== labels.length) throw outOfRange('config.classes', 'distinct label names', namedClasses);
    classes = checkInteger('config.classes.length', labels.length, 2, 1 << 20);
  } else {
    classes = checkInteger('config.classes', config.classes, 2, 1 << 20);
  }
  const seed = optional(config.seed as number | undefined, 0, (v) => checkInteger('config.seed', v, 0, Number.MAX_SAFE_INTEGER));
  const top = layers[layers.length - 1];
  // Read at its last step, a merging top layer's output is each direction's own row, merged:
  // dropout on its per-step output would not reach it.
  if (top.bidirectional && top.mergeMode !== 'concat' && pooling === 'last' && top.dropout > 0)
    throw outOfRange(`config.layers[${layers.length - 1}].dropout`, "0 on a merging bidirectional top layer read at its last step (use pooling 'mean' or 'max', or mergeMode 'concat')", top.dropout);
  const precision = optional(config.precision as Precision | undefined, 'float32', (v) =>
    checkChoice('config.precision', v, ['float32', 'int8', 'bf16'] as const),
  );
  if (precision === 'int8') {
    // Exact int32 sums on every kernel (native/core/quantized_gemm.cc) need products of depth <= 1024.
    let width = resolvedInput.type === 'dense' ? resolvedInput.features : resolvedInput.embeddingDim;
    layers.forEach((l, i) => {
      if (width > 1024 || l.units > 1024)
        throw outOfRange('config.precision', `'float32' or 'bf16' for layer ${i} (int8 needs its input width and units at most 1024; they are ${width} and ${l.units})`, precision);
      width = l.bidirectional && l.mergeMode === 'concat' ? 2 * l.units : l.units;
    });
  }
  return { input: resolvedInput, layers, pooling, classes, labels, seed, precision };
}

export function toNativeConfig(c: ResolvedConfig): NativeModelConfig {
  return {
    input: c.input.type,
    ...(c.input.type === 'dense'
      ? { features: c.input.features }
      : { vocabSize: c.input.vocabSize, embeddingDim: c.input.embeddingDim, embeddingInitializer: c.input.embeddingInitializer }),
    layers: c.layers.map((l) => ({ ...l })),
    pooling: c.pooling,
    classes: c.classes,
    precision: c.precision,
  };
}
