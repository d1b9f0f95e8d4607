/**
 * What one `push` on a stream reads: the steps given (dense steps, token ids, or text through
 * the model's tokenizer), checked as `predictProba` checks a sequence, with masked steps
 * (the model's `maskValue`, or id 0 with `maskZero`) left out as a whole sequence leaves them
 * out: a masked step does not change a recurrent state.
 */
import type { SequenceSpec } from '../data/input-config';
import type { Tokenizer } from '../data/tokenizer';
import { invalidType, outOfRange } from '../util/errors';

/** Dense steps `[step][feature]`, or flat with a shape `[T, F]`. */
export type DenseSteps = ReadonlyArray<ArrayLike<number>> | { values: Float32Array; shape: readonly number[] };
/** Token ids, or (for a model with a tokenizer) text. */
export type TokenSteps = ArrayLike<number> | string;
export type StreamSteps = DenseSteps | TokenSteps;

/** The most steps one push may hold (a native batch's limit). */
const MAX_PUSH_STEPS = 1 << 24;
const FLOAT32_MAX = 3.4028234663852886e38;

/** One push, checked: what the stream batcher carries (one object per push, no other). */
export interface StreamChunk {
  /** The unmasked steps, [length × features] (dense) or [length] ids. */
  values: Float32Array | Int32Array;
  /** Unmasked steps: 0 when every step was masked (or none given). */
  length: number;
  /** Steps given, masked ones included. */
  given: number;
  /** Per step given: how many unmasked steps it and those before it hold (its row in the
   * output is that minus one; 0: no unmasked step yet in this push). Null: none was masked. */
  through: Int32Array | null;
  /** Whether the input was typed (results come back typed). */
  typed: boolean;
  // Set by the stream as the push runs:
  /** The probabilities after every step, not only the last. */
  everyStep: boolean;
  /** The stream's slot in the model's state slab (its carried state's row). */
  slot: number;
  /** Steps the stream read before. */
  steps: number;
  /** The probabilities before this push, when its rows need them (masked steps, everyStep). */
  before: Float32Array | null;
  /** Set by the batcher: [classes] after the last step, or [length × classes] after each. */
  read: Float32Array | null;
  /** The push's promise, settled when its batch ends. */
  resolve: ((probabilities: Float32Array | number[] | number[][]) => void) | null;
  reject: ((error: unknown) => void) | null;
}

function chunk(values: Float32Array | Int32Array, length: number, given: number, through: Int32Array | null, typed: boolean): StreamChunk {
  return { values, length, given, through, typed, everyStep: false, slot: -1, steps: 0, before: null, read: null, resolve: null, reject: null };
}

/** Checks and converts one push's steps. `tokenizer` is the model's, for text. */
export function toStreamChunk(steps: unknown, spec: SequenceSpec, tokenizer: Tokenizer | null): StreamChunk {
  return spec.input.type === 'dense' ? denseChunk(steps, spec.input.features, spec.input.maskValue ?? null) : tokenChunk(steps, spec.input.vocabSize, spec.input.maskZero === true, tokenizer);
}

function denseChunk(steps: unknown, features: number, maskValue: number | null): StreamChunk {
  let values: Float32Array;
  let typed = false;
  if (steps !== null && typeof steps === 'object' && !Array.isArray(steps) && 'values' in steps && 'shape' in steps) {
    const { values: v, shape } = steps as { values: unknown; shape: unknown };
    if (!(v instanceof Float32Array)) throw invalidType('steps.values', 'a Float32Array (dense input)', v);
    if (!Array.isArray(shape) || shape.length !== 2 || !Number.isInteger(shape[0]) || shape[0] < 0 || !Number.isInteger(shape[1]))
      throw invalidType('steps.shape', 'two integers [steps, features]', shape);
    if (shape[1] !== features) throw outOfRange('steps.shape[1]', `${features} features per step (the model's input.features)`, shape[1]);
    if (v.length !== shape[0] * features) throw outOfRange('steps.values', `${shape[0] * features} values for shape [${shape[0]}, ${features}]`, v);
    if (shape[0] > MAX_PUSH_STEPS) throw outOfRange('steps.shape[0]', `at most ${MAX_PUSH_STEPS} steps per push`, shape[0]);
    for (let k = 0; k < v.length; k++)
      if (!Number.isFinite(v[k])) throw outOfRange(`steps[${Math.floor(k / features)}][${k % features}]`, 'a finite number', v[k]);
    values = v;
    typed = true;
  } else {
    if (!Array.isArray(steps)) throw invalidType('steps', 'an array of steps, or { values: Float32Array, shape: [steps, features] }', steps);
    if (steps.length > MAX_PUSH_STEPS) throw outOfRange('steps', `at most ${MAX_PUSH_STEPS} steps per push`, steps.length);
    values = new Float32Array(steps.length * features);
    steps.forEach((step: unknown, t) => {
      if (step === null || typeof step !== 'object' || typeof (step as ArrayLike<number>).length !== 'number')
        throw invalidType(`steps[${t}]`, `an array of ${features} numbers`, step);
      const row = step as ArrayLike<unknown>;
      if (row.length !== features) throw outOfRange(`steps[${t}]`, `${features} features (the model's input.features)`, step);
      for (let f = 0; f < features; f++) {
        const x = row[f];
        if (typeof x !== 'number') throw invalidType(`steps[${t}][${f}]`, 'a number', x);
        if (!Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) throw outOfRange(`steps[${t}][${f}]`, 'a finite number float32 holds', x);
        values[t * features + f] = x;
      }
    });
  }
  const given = values.length / features;
  if (maskValue === null) return chunk(values, given, given, null, typed);
  const masked = (t: number) => {
    for (let f = 0; f < features; f++) if (values[t * features + f] !== maskValue) return false;
    return true;
  };
  const through = keptSteps(given, masked);
  const kept = given === 0 ? 0 : through[given - 1];
  if (kept === given) return chunk(values, given, given, null, typed);
  const dense = new Float32Array(kept * features);
  let at = 0;
  for (let t = 0; t < given; t++) if (!masked(t)) dense.set(values.subarray(t * features, (t + 1) * features), features * at++);
  return chunk(dense, kept, given, through, typed);
}

function tokenChunk(steps: unknown, vocab: number, maskZero: boolean, tokenizer: Tokenizer | null): StreamChunk {
  let ids: Int32Array;
  const typed = steps instanceof Int32Array;
  if (typeof steps === 'string') {
    if (!tokenizer) throw invalidType('steps', 'token ids (this model has no tokenizer for text)', steps);
    try {
      ids = tokenizer.encode(steps);
    } catch (e) {
      throw outOfRange('steps', `text the model's tokenizer can encode (${(e as Error).message})`, steps);
    }
    if (ids.length > MAX_PUSH_STEPS) throw outOfRange('steps', `text of at most ${MAX_PUSH_STEPS} tokens per push`, ids.length);
  } else if (steps instanceof Int32Array) {
    if (steps.length > MAX_PUSH_STEPS) throw outOfRange('steps', `at most ${MAX_PUSH_STEPS} ids per push`, steps.length);
    ids = steps;
  } else if (Array.isArray(steps)) {
    if (steps.length > MAX_PUSH_STEPS) throw outOfRange('steps', `at most ${MAX_PUSH_STEPS} ids per push`, steps.length);
    ids = new Int32Array(steps.length);
    steps.forEach((id: unknown, t) => {
      if (typeof id !== 'number' || !Number.isInteger(id)) throw invalidType(`steps[${t}]`, 'an integer token id', id);
      if (id < 0 || id >= vocab) throw outOfRange(`steps[${t}]`, `a token id in [0, ${vocab})`, id);
      ids[t] = id;
    });
  } else {
    throw invalidType('steps', tokenizer ? 'text, or an array (or Int32Array) of token ids' : 'an array (or Int32Array) of token ids', steps);
  }
  for (let t = 0; t < ids.length; t++)
    if (ids[t] < 0 || ids[t] >= vocab) throw outOfRange(`steps[${t}]`, `a token id in [0, ${vocab})`, ids[t]);
  const given = ids.length;
  if (!maskZero || !ids.includes(0)) return chunk(ids, given, given, null, typed);
  const through = keptSteps(given, (t) => ids[t] === 0);
  return chunk(ids.filter((id) => id !== 0), through[given - 1], given, through, typed);
}

function keptSteps(given: number, masked: (t: number) => boolean): Int32Array {
  const through = new Int32Array(given);
  let kept = 0;
  for (let t = 0; t < given; t++) {
    if (!masked(t)) kept++;
    through[t] = kept;
  }
  return through;
}
