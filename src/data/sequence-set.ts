/**
 * Input conversion: nested arrays or flat typed arrays (with an explicit shape) become a
 * `SequenceSet`, checked once (shape, ragged lengths, finite values, id ranges); batches
 * are then gathered from it for the native side.
 */
import { invalidType, outOfRange } from '../util/errors';
import type { SequenceSpec } from './input-config';
import type { NativeBatch } from '../native/addon';

import { applyMissingPolicy, type MissingPolicy } from './missing';

/** The largest float32 (|x| above it would be stored as Infinity). */
const FLOAT32_MAX = 3.4028234663852886e38;
/** Most values a padded nested batch may hold (8 GiB of float32). */
const MAX_PADDED_VALUES = 2 ** 31;

/** Dense sequences as nested arrays: `x[sequence][step][feature]`; ragged steps allowed. */
export type DenseSequences = ReadonlyArray<ReadonlyArray<ArrayLike<number>>>;
/** Token sequences as nested arrays: `x[sequence][step]` ids; ragged allowed. */
export type TokenSequences = ReadonlyArray<ArrayLike<number>>;
/** Flat row-major sequences with an explicit shape, `[N, T, F]` (dense) or `[N, T]` (tokens).
 * `lengths` gives each sequence's valid steps; without it, all T steps are valid (for
 * masked token input: up to the last nonzero id). */
export interface TypedSequences {
  values: Float32Array | Int32Array;
  shape: readonly number[];
  lengths?: Int32Array;
}
export type SequenceInput = DenseSequences | TokenSequences | TypedSequences;
/** Class indices, or label names when the model was given `classes: string[]`. */
export type Labels = ArrayLike<number> | ReadonlyArray<string>;

export interface Dataset {
  x: SequenceInput;
  y: Labels;
}

/** Sequences ready for batching (internal). */
export interface SequenceSet {
  count: number;
  steps: number; // row stride in steps (padded length)
  features: number; // dense width; 1 for tokens
  lengths: Int32Array;
  dense?: Float32Array; // [count, steps, features]
  tokens?: Int32Array; // [count, steps]
  typed: boolean; // given as typed arrays (results come back typed)
}

function isTyped(x: unknown): x is TypedSequences {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'values' in x && 'shape' in x;
}

function checkShape(name: string, shape: unknown, rank: number): number[] {
  if (!Array.isArray(shape) || shape.length !== rank)
    throw invalidType(`${name}.shape`, `an array of ${rank} integers`, shape);
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1)
      throw outOfRange(`${name}.shape[${i}]`, 'a positive integer', d);
  });
  return shape as number[];
}

function checkLengths(name: string, lengths: unknown, count: number, steps: number): Int32Array {
  if (!(lengths instanceof Int32Array)) throw invalidType(`${name}.lengths`, 'an Int32Array', lengths);
  if (lengths.length !== count) throw outOfRange(`${name}.lengths`, `${count} lengths (one per sequence)`, lengths);
  for (let i = 0; i < count; i++) {
    if (lengths[i] < 1 || lengths[i] > steps)
      throw outOfRange(`${name}.lengths[${i}]`, `a length in [1, ${steps}] (empty sequences are not allowed)`, lengths[i]);
  }
  return lengths;
}

function checkFinite(name: string, values: Float32Array, count: number, steps: number, features: number, lengths: Int32Array, allowNaN = false) {
  for (let s = 0; s < count; s++) {
    const end = (s * steps + lengths[s]) * features;
    for (let k = s * steps * features; k < end; k++) {
      const v = values[k];
      if (v - v !== 0 && !(allowNaN && Number.isNaN(v))) {
        const step = Math.floor(k / features) - s * steps;
        throw outOfRange(`${name}[${s}][${step}][${k % features}]`, 'a finite number', v);
      }
    }
  }
}

function checkTokenIds(name: string, tokens: Int32Array, count: number, steps: number, lengths: Int32Array, vocab: number, maskZero: boolean) {
  for (let s = 0; s < count; s++) {
    for (let t = 0; t < lengths[s]; t++) {
      const id = tokens[s * steps + t];
      if (id < 0 || id >= vocab) throw outOfRange(`${name}[${s}][${t}]`, `a token id in [0, ${vocab})`, id);
      if (maskZero && id === 0)
        throw outOfRange(`${name}[${s}][${t}]`, 'a nonzero id within the given length (0 is the padding id with maskZero)', id);
    }
  }
}

/** Converts and validates `x` for a model with this config. With a `missing` policy other
 * than 'error', NaN values in dense input are handled by it (see MissingPolicy). */
export function toSequenceSet(x: unknown, config: SequenceSpec, name = 'x', missing: MissingPolicy = 'error'): SequenceSet {
  const set = convert(x, config, name, missing !== 'error');
  return missing === 'error' || !set.dense ? set : resolveMissing(set, missing, name);
}

function convert(x: unknown, config: SequenceSpec, name: string, allowNaN: boolean): SequenceSet {
  const input = config.input;
  if (isTyped(x)) {
    if (input.type === 'dense') {
      if (!(x.values instanceof Float32Array)) throw invalidType(`${name}.values`, 'a Float32Array (dense input)', x.values);
      const [count, steps, features] = checkShape(name, x.shape, 3);
      if (features !== input.features)
        throw outOfRange(`${name}.shape[2]`, `${input.features} features per step (the model's input.features)`, features);
      if (x.values.length !== count * steps * features)
        throw outOfRange(`${name}.values`, `${count * steps * features} values for shape [${count}, ${steps}, ${features}]`, x.values);
      const lengths = x.lengths === undefined ? new Int32Array(count).fill(steps) : checkLengths(name, x.lengths, count, steps);
      checkFinite(name, x.values, count, steps, features, lengths, allowNaN);
      return skipMaskedSteps(name, { count, steps, features, lengths, dense: x.values, typed: true }, input.maskValue);
    }
    if (!(x.values instanceof Int32Array)) throw invalidType(`${name}.values`, 'an Int32Array (token input)', x.values);
    const [count, steps] = checkShape(name, x.shape, 2);
    if (x.values.length !== count * steps)
      throw outOfRange(`${name}.values`, `${count * steps} values for shape [${count}, ${steps}]`, x.values);
    let lengths: Int32Array;
    let tokens = x.values;
    if (x.lengths !== undefined) lengths = checkLengths(name, x.lengths, count, steps);
    else if (input.maskZero) ({ tokens, lengths } = skipPadding(name, x.values, count, steps));
    else lengths = new Int32Array(count).fill(steps);
    checkTokenIds(name, tokens, count, steps, lengths, input.vocabSize, input.maskZero);
    return { count, steps, features: 1, lengths, tokens, typed: true };
  }
  if (!Array.isArray(x)) throw invalidType(name, 'nested arrays or { values, shape, lengths? }', x);
  if (x.length === 0) throw outOfRange(name, 'at least one sequence', x);
  const count = x.length;
  const lengths = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const seq = x[s];
    if (!Array.isArray(seq) && !ArrayBuffer.isView(seq)) throw invalidType(`${name}[${s}]`, 'an array of steps', seq);
    if ((seq as ArrayLike<unknown>).length === 0) throw outOfRange(`${name}[${s}]`, 'a non-empty sequence', seq);
    lengths[s] = (seq as ArrayLike<unknown>).length;
  }
  const steps = maxOf(lengths);
  // Nested sequences are padded to the longest one: a batch mixing a very long sequence with
  // many short ones can ask for more memory than it holds.
  const padded = count * steps * (input.type === 'dense' ? input.features : 1);
  if (padded > MAX_PADDED_VALUES)
    throw outOfRange(name, `sequences that padded to the longest (${steps} steps) hold at most ${MAX_PADDED_VALUES} values (split the data or shorten the longest)`, `${count} sequences, ${padded} values`);
  if (input.type === 'dense') {
    const features = input.features;
    const dense = new Float32Array(count * steps * features);
    for (let s = 0; s < count; s++) {
      const seq = x[s] as ArrayLike<ArrayLike<number>>;
      for (let t = 0; t < seq.length; t++) {
        const step = seq[t];
        if (!step || typeof step !== 'object' || typeof step.length !== 'number')
          throw invalidType(`${name}[${s}][${t}]`, `an array of ${features} numbers`, step);
        if (step.length !== features) throw outOfRange(`${name}[${s}][${t}]`, `${features} features (the model's input.features)`, step);
        const base = (s * steps + t) * features;
        for (let f = 0; f < features; f++) {
          const v = step[f];
          if (typeof v !== 'number') throw invalidType(`${name}[${s}][${t}][${f}]`, 'a number', v);
          if (!Number.isFinite(v) && !(allowNaN && Number.isNaN(v))) throw outOfRange(`${name}[${s}][${t}][${f}]`, 'a finite number', v);
          if (Math.abs(v) > FLOAT32_MAX) throw outOfRange(`${name}[${s}][${t}][${f}]`, 'a number float32 holds (|x| <= 3.4028235e38)', v);
          dense[base + f] = v;
        }
      }
    }
    return skipMaskedSteps(name, { count, steps, features, lengths, dense, typed: false }, input.maskValue);
  }
  const tokens = new Int32Array(count * steps);
  for (let s = 0; s < count; s++) {
    const seq = x[s] as ArrayLike<number>;
    for (let t = 0; t < seq.length; t++) {
      const id = seq[t];
      if (typeof id !== 'number') throw invalidType(`${name}[${s}][${t}]`, 'an integer token id', id);
      if (!Number.isInteger(id)) throw outOfRange(`${name}[${s}][${t}]`, 'an integer token id', id);
      if (id < 0 || id >= input.vocabSize) throw outOfRange(`${name}[${s}][${t}]`, `a token id in [0, ${input.vocabSize})`, id);
      tokens[s * steps + t] = id;
    }
  }
  // Without masking, padding zeros are real steps (Keras semantics): every row is full length.
  if (!input.maskZero) {
    lengths.fill(steps);
    checkTokenIds(name, tokens, count, steps, lengths, input.vocabSize, false);
    return { count, steps, features: 1, lengths, tokens, typed: false };
  }
  const skipped = skipPadding(name, tokens, count, steps, lengths);
  checkTokenIds(name, skipped.tokens, count, steps, skipped.lengths, input.vocabSize, true);
  return { count, steps, features: 1, lengths: skipped.lengths, tokens: skipped.tokens, typed: false };
}

/**
 * With a dense `maskValue`, a step whose every feature equals it is padding, as Keras's Masking
 * layer marks it: a masked step leaves a recurrent layer's state as it was, which is the same
 * as not having the step, so each row keeps its other steps in order. Rows without masked
 * steps before their end keep the buffer; otherwise one compacted copy is made.
 */
function skipMaskedSteps(name: string, set: SequenceSet, maskValue: number | null): SequenceSet {
  if (maskValue === null) return set;
  const { count, steps, features, dense } = set;
  const masked = (s: number, t: number) => {
    const base = (s * steps + t) * features;
    for (let f = 0; f < features; f++) if (dense![base + f] !== maskValue) return false;
    return true;
  };
  const lengths = new Int32Array(count);
  let compact = false;
  for (let s = 0; s < count; s++) {
    let kept = 0;
    let last = -1;
    for (let t = 0; t < set.lengths[s]; t++) {
      if (!masked(s, t)) {
        kept++;
        last = t;
      }
    }
    if (kept === 0) throw outOfRange(`${name}[${s}]`, `a sequence with at least one step that is not all ${maskValue} (the model's input.maskValue)`, 'all masked');
    if (kept !== last + 1) compact = true;
    lengths[s] = kept;
  }
  if (!compact) return { ...set, lengths };
  const out = new Float32Array(count * steps * features);
  for (let s = 0; s < count; s++) {
    let at = s * steps * features;
    for (let t = 0; t < set.lengths[s]; t++) {
      if (masked(s, t)) continue;
      out.set(dense!.subarray((s * steps + t) * features, (s * steps + t + 1) * features), at);
      at += features;
    }
  }
  return { ...set, lengths, dense: out };
}

function maxOf(values: Int32Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

/**
 * With maskZero, id 0 is padding wherever it is, as Keras masks it: trailing (post-padding),
 * leading (Keras's `pad_sequences` pads at the front by default) or between tokens. A masked
 * step leaves a recurrent layer's state as it was, which is the same as not having the step:
 * each row keeps its nonzero ids, in order. Rows padded only at the end keep their buffer;
 * otherwise one compacted copy is made. `rowLengths` bounds each row (nested input).
 */
function skipPadding(name: string, tokens: Int32Array, count: number, steps: number, rowLengths?: Int32Array): { tokens: Int32Array; lengths: Int32Array } {
  const lengths = new Int32Array(count);
  let compact = false;
  for (let s = 0; s < count; s++) {
    const end = rowLengths ? rowLengths[s] : steps;
    let kept = 0;
    let last = -1;
    for (let t = 0; t < end; t++) {
      if (tokens[s * steps + t] !== 0) {
        kept++;
        last = t;
      }
    }
    if (kept === 0) throw outOfRange(`${name}[${s}]`, 'a sequence with at least one nonzero token id', 'all padding');
    if (kept !== last + 1) compact = true;
    lengths[s] = kept;
  }
  if (!compact) return { tokens, lengths };
  const out = new Int32Array(count * steps);
  for (let s = 0; s < count; s++) {
    const end = rowLengths ? rowLengths[s] : steps;
    let at = s * steps;
    for (let t = 0; t < end; t++) if (tokens[s * steps + t] !== 0) out[at++] = tokens[s * steps + t];
  }
  return { tokens: out, lengths };
}

/** Converts labels (indices or names) to class indices. */
export function toLabels(y: unknown, count: number, config: SequenceSpec, name = 'y'): Int32Array {
  if (y === null || typeof y !== 'object' || typeof (y as ArrayLike<unknown>).length !== 'number')
    throw invalidType(name, 'an array of class indices or label names', y);
  const list = y as ArrayLike<unknown>;
  if (list.length !== count) throw outOfRange(`${name}.length`, `${count} labels (one per sequence)`, list.length);
  const out = new Int32Array(count);
  const names = config.labels;
  const index = names ? new Map(names.map((n, i) => [n, i])) : null;
  for (let i = 0; i < count; i++) {
    const v = list[i];
    if (typeof v === 'string') {
      const k = index?.get(v);
      if (k === undefined)
        throw outOfRange(`${name}[${i}]`, names ? `one of the model's labels (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''})` : 'a class index (the model has no label names)', v);
      out[i] = k;
    } else if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v >= config.classes)
        throw outOfRange(`${name}[${i}]`, `a class index in [0, ${config.classes})`, v);
      out[i] = v;
    } else {
      throw invalidType(`${name}[${i}]`, 'a class index or label name', v);
    }
  }
  return out;
}

/** The native batch of sequences `order[start..end)`, padded to their longest length. */
/**
 * The sequences order[start..end) (or start..end) of a set as a NativeBatch that refers to
 * the set's own arrays: nothing is copied here, the addon gathers the members itself.
 */
export function batchOf(set: SequenceSet, order: Int32Array | null, start: number, end: number): NativeBatch {
  // The addon takes sources of at most 2^24 sequences and 2^31 padded steps; beyond that a
  // shuffled batch is gathered here instead (one more copy, only for such huge sets).
  if (order && (set.count > 2 ** 24 || set.count * set.steps > 2 ** 31)) return gatherBatch(set, order, start, end, true);
  const values = set.dense ? { dense: set.dense } : { tokens: set.tokens! };
  if (!order) {
    const width = set.dense ? set.features : 1;
    const range = (a: Float32Array | Int32Array) => a.subarray(start * set.steps * width, end * set.steps * width);
    return {
      batch: end - start,
      steps: set.steps,
      lengths: set.lengths.subarray(start, end),
      ...(set.dense ? { dense: range(set.dense) as Float32Array } : { tokens: range(set.tokens!) as Int32Array }),
    };
  }
  return { batch: end - start, steps: set.steps, lengths: set.lengths, ...values, sequences: order.subarray(start, end) };
}

/** A copy of the batch, padded to its own longest sequence: for augmentation, which changes it. */
export function gatherBatch(set: SequenceSet, order: ArrayLike<number> | null, start: number, end: number, copy = false): NativeBatch {
  const n = end - start;
  const lengths = new Int32Array(n);
  let steps = 0;
  for (let i = 0; i < n; i++) {
    const s = order ? order[start + i] : start + i;
    lengths[i] = set.lengths[s];
    if (lengths[i] > steps) steps = lengths[i];
  }
  const width = set.features;
  const source = (set.dense ?? set.tokens)!;
  let values: Float32Array | Int32Array;
  if (!order && !copy && steps === set.steps) {
    values = source.subarray(start * set.steps * width, end * set.steps * width); // no copy
  } else {
    values = set.dense ? new Float32Array(n * steps * width) : new Int32Array(n * steps * width);
    for (let i = 0; i < n; i++) {
      const s = order ? order[start + i] : start + i;
      const from = s * set.steps * width;
      values.set(source.subarray(from, from + lengths[i] * width), i * steps * width);
    }
  }
  return set.dense
    ? { batch: n, steps, lengths, dense: values as Float32Array }
    : { batch: n, steps, lengths, tokens: values as Int32Array };
}

/** Labels of `order[start..end)`. */
export function gatherLabels(labels: Int32Array, order: ArrayLike<number> | null, start: number, end: number): Int32Array {
  if (!order) return labels.subarray(start, end);
  const out = new Int32Array(end - start);
  for (let i = 0; i < out.length; i++) out[i] = labels[order[start + i]];
  return out;
}

/** Applies a missing-value policy to NaNs in a dense set (on a copy). */
function resolveMissing(set: SequenceSet, policy: MissingPolicy, name: string): SequenceSet {
  const F = set.features;
  const values = new Float32Array(set.dense!);
  const lengths = new Int32Array(set.lengths);
  for (let s = 0; s < set.count; s++) {
    const base = s * set.steps * F;
    const { kept } = applyMissingPolicy(values, base, set.lengths[s], F, policy);
    if (kept === 0) throw outOfRange(`${name}[${s}]`, 'at least one step without missing values', 'all steps missing');
    values.fill(0, base + kept * F, base + set.lengths[s] * F);
    lengths[s] = kept;
  }
  return { ...set, dense: values, lengths };
}

/** A new set holding the sequences `indices` (copied). */
export function subsetSet(set: SequenceSet, indices: Int32Array): SequenceSet {
  const batch = gatherBatch(set, indices, 0, indices.length, true);
  return { count: indices.length, steps: batch.steps, features: set.features, lengths: batch.lengths, dense: batch.dense, tokens: batch.tokens, typed: set.typed };
}
