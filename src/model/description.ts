/**
 * A model as plain data: its resolved config, its weights and its preprocessing. Importers
 * return one, exporters, the quantizer and the model file take one, and `SequenceClassifier`
 * converts to and from it in one place; none of them needs the native addon, so structures are
 * compared as data and `convert` runs without it.
 *
 * `tensorsOf(config)` lists a config's weight tensors without building a model. It mirrors the
 * native parameter layout (native/core/param_layout.cc), which a test holds equal to it: tfjs
 * `model.getWeights()` order (embedding; per recurrent layer and direction its kernel,
 * recurrent kernel and bias; the dense kernel and bias), Keras's names.
 */
import { biasRows, CELLS, gateCount, type TensorRole } from './cells';
import type { ResolvedConfig } from './config';
import { invalidType, outOfRange } from '../util/errors';

export interface WeightTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** One tensor of a config's weights: its name, shape and role, and where it sits. */
export interface TensorInfo {
  name: string;
  shape: number[];
  role: TensorRole;
  /** Recurrent layer index, or -1 (embedding, dense head). */
  layer: number;
  /** 0 forward, 1 backward (a bidirectional layer's second direction). */
  direction: number;
  /** Offset in the flat parameter vector, and the number of values. */
  offset: number;
  size: number;
}

export interface ModelDescription {
  /** The config with every default applied; `labels` names the classes. */
  config: ResolvedConfig;
  /** One tensor per `tensorsOf(config)` entry, in that order and shape. */
  weights: WeightTensor[];
  /** Tokenizer, normalisation, ...: what turns records into the model's input (JSON). */
  preprocessing: Record<string, unknown> | null;
}

/** Width of a layer's output sequence: 2u for a concatenated bidirectional layer, else u. */
export function layerOutputWidth(layer: ResolvedConfig['layers'][number]): number {
  return layer.bidirectional && layer.mergeMode === 'concat' ? 2 * layer.units : layer.units;
}

/** Values per step entering the first recurrent layer. */
export function inputWidth(config: ResolvedConfig): number {
  return config.input.type === 'dense' ? config.input.features : config.input.embeddingDim;
}

/**
 * Keras's name of recurrent layer l (`lstm_0`, or `bidirectional_0` around an inner `lstm`),
 * which its weights are named after: `lstm_0/kernel`, `bidirectional_0/forward_lstm/kernel`.
 */
export function recurrentLayerName(layer: ResolvedConfig['layers'][number], l: number): { name: string; inner: string | null } {
  const prefix = CELLS[layer.cell].weightPrefix;
  return layer.bidirectional ? { name: `bidirectional_${l}`, inner: prefix } : { name: `${prefix}_${l}`, inner: null };
}

/** The weight tensors of a config, in parameter order. */
export function tensorsOf(config: ResolvedConfig): TensorInfo[] {
  const out: TensorInfo[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], role: TensorRole, layer = -1, direction = 0) => {
    const size = shape.reduce((a, d) => a * d, 1);
    out.push({ name, shape, role, layer, direction, offset, size });
    offset += size;
  };
  if (config.input.type === 'tokens') add('embedding/embeddings', [config.input.vocabSize, config.input.embeddingDim], 'embedding');
  let input = inputWidth(config);
  config.layers.forEach((layer, l) => {
    const gu = gateCount(layer.cell) * layer.units;
    const { name, inner } = recurrentLayerName(layer, l);
    for (let d = 0; d < (layer.bidirectional ? 2 : 1); d++) {
      const prefix = inner === null ? name : `${name}/${d === 0 ? 'forward' : 'backward'}_${inner}`;
      add(`${prefix}/kernel`, [input, gu], 'kernel', l, d);
      add(`${prefix}/recurrent_kernel`, [layer.units, gu], 'recurrent', l, d);
      add(`${prefix}/bias`, biasRows(layer) === 2 ? [2, gu] : [gu], 'bias', l, d);
    }
    input = layerOutputWidth(layer);
  });
  add('dense/kernel', [input, config.classes], 'denseKernel');
  add('dense/bias', [config.classes], 'denseBias');
  return out;
}

/** Scalars in a config's weights. */
export function paramCountOf(config: ResolvedConfig): number {
  const tensors = tensorsOf(config);
  const last = tensors[tensors.length - 1];
  return last.offset + last.size;
}

export type WeightsInput = ReadonlyArray<{ shape?: readonly number[]; values: ArrayLike<number> }>;

/**
 * Weights given for `tensors` (getWeights() order), checked and packed into one flat float32
 * vector: the count, each shape (when given), each value finite and within float32's range.
 * Errors name the tensor: `weights[2] (lstm_0/bias).values[7]`.
 */
export function packWeights(tensors: readonly TensorInfo[], weights: WeightsInput): Float32Array {
  if (!Array.isArray(weights)) throw invalidType('weights', `an array of ${tensors.length} tensors`, weights);
  if (weights.length !== tensors.length)
    throw outOfRange('weights', `${tensors.length} tensors (${tensors.map((t) => t.name).join(', ')})`, weights);
  // Each tensor is copied once its length is checked, so memory follows what was given, not
  // what a (possibly hostile) config claims.
  const parts = tensors.map((t, i) => {
    const w = weights[i] as { shape?: readonly number[]; values: ArrayLike<number> };
    const name = `weights[${i}] (${t.name})`;
    if (!w || typeof w !== 'object' || !w.values || typeof w.values.length !== 'number')
      throw invalidType(name, '{ values: Float32Array | number[], shape? }', w);
    if (w.shape !== undefined && !Array.isArray(w.shape)) throw invalidType(`${name}.shape`, `an array like [${t.shape.join(', ')}] (or no shape)`, w.shape);
    if (w.shape !== undefined && (w.shape.length !== t.shape.length || w.shape.some((d, k) => d !== t.shape[k])))
      throw outOfRange(`${name}.shape`, `[${t.shape.join(', ')}]`, `[${w.shape.join(', ')}]`);
    if (w.values.length !== t.size) throw outOfRange(`${name}.values`, `${t.size} values for shape [${t.shape.join(', ')}]`, w.values);
    const part = new Float32Array(t.size);
    for (let k = 0; k < t.size; k++) {
      const v = w.values[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw outOfRange(`${name}.values[${k}]`, 'a finite number', v);
      part[k] = v;
      if (!Number.isFinite(part[k])) throw outOfRange(`${name}.values[${k}]`, 'a number float32 holds (|x| <= 3.4028235e38)', v);
    }
    return part;
  });
  const last = tensors[tensors.length - 1];
  const params = new Float32Array(last ? last.offset + last.size : 0);
  tensors.forEach((t, i) => params.set(parts[i], t.offset));
  return params;
}

/** The flat parameter vector split into named tensors (copies). */
export function unpackWeights(tensors: readonly TensorInfo[], params: Float32Array): WeightTensor[] {
  return tensors.map((t) => ({ name: t.name, shape: [...t.shape], values: params.slice(t.offset, t.offset + t.size) }));
}

/**
 * The parts of a config that a model file fixes (structure and shapes, not initialisers or
 * seed), as a comparable string: an importer restores an exporter's whole config only when it
 * agrees with the structure the file itself shows.
 */
export function structureOf(c: ResolvedConfig): string {
  return JSON.stringify({
    input: c.input.type === 'dense' ? { type: 'dense', features: c.input.features, maskValue: c.input.maskValue } : { type: 'tokens', vocabSize: c.input.vocabSize, embeddingDim: c.input.embeddingDim, maskZero: c.input.maskZero },
    layers: c.layers.map((l) => {
      const options = CELLS[l.cell].options;
      return [l.cell, l.units, l.bidirectional, l.bidirectional ? l.mergeMode : null, l.activation, options.recurrentActivation ? l.recurrentActivation : null, options.resetAfter ? l.resetAfter : null];
    }),
    pooling: c.pooling,
    classes: c.classes,
  });
}
