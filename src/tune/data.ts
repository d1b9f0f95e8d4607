/**
 * A study's data: the training set, the validation set every trial is scored on (given, or
 * split off once with the study's seed, so every trial sees the same one), and what the data
 * says about the model (input features, classes) that a trial's config leaves out.
 */
import type { Dataset, SequenceInput, TypedSequences } from '../data/sequence-set';
import type { DenseInputConfig, TokenInputConfig } from '../model/config';
import { splitIndices } from '../training/split';

function isTyped(x: SequenceInput): x is TypedSequences {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'values' in x && 'shape' in x;
}

/** The number of sequences in x. */
function count(x: SequenceInput): number {
  return isTyped(x) ? x.shape[0] : (x as ArrayLike<unknown>).length;
}

/** The rows `indices` of a dataset, in their order (nested arrays share the sequences). */
export function subsetDataset(data: Dataset, indices: Int32Array): Dataset {
  const x = data.x;
  let sub: SequenceInput;
  if (isTyped(x)) {
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const values = x.values instanceof Float32Array ? new Float32Array(indices.length * row) : new Int32Array(indices.length * row);
    indices.forEach((i, k) => values.set(x.values.subarray(i * row, (i + 1) * row), k * row));
    sub = { values, shape: [indices.length, ...x.shape.slice(1)], ...(x.lengths ? { lengths: Int32Array.from(indices, (i) => x.lengths![i]) } : {}) };
  } else {
    const rows = x as ReadonlyArray<unknown>;
    sub = Array.from(indices, (i) => rows[i]) as SequenceInput;
  }
  const y = Array.from(indices, (i) => (data.y as ArrayLike<number | string>)[i]);
  return { x: sub, y: (typeof y[0] === 'string' ? y : Int32Array.from(y as number[])) as Dataset['y'] };
}

/** Training and validation sets: the given validation data, or `fraction` split off. */
export function studyData(data: Dataset, validationData: Dataset | undefined, fraction: number | undefined, stratify: boolean, seed: number): { train: Dataset; validation: Dataset } {
  if (typeof data !== 'object' || data === null || !('x' in data) || !('y' in data)) throw new TypeError('options.data must be { x, y }');
  if (validationData !== undefined) {
    if (fraction !== undefined) throw new TypeError('options.validationSplit: give validationData or validationSplit, not both');
    return { train: data, validation: validationData };
  }
  if (fraction === undefined) throw new TypeError('options.validationData: a study scores its trials on validation data; give validationData or validationSplit');
  const n = count(data.x);
  if ((data.y as ArrayLike<unknown>).length !== n) throw new RangeError(`options.data: ${n} sequences but ${(data.y as ArrayLike<unknown>).length} labels`);
  // Class ids for stratification: any consistent numbering of the labels will do.
  const ids = new Map<unknown, number>();
  const labels = Int32Array.from({ length: n }, (_, i) => {
    const v = (data.y as ArrayLike<unknown>)[i];
    if (!ids.has(v)) ids.set(v, ids.size);
    return ids.get(v)!;
  });
  const split = splitIndices(labels, fraction, seed, stratify);
  return { train: subsetDataset(data, split.train), validation: subsetDataset(data, split.validation) };
}

/** The model's input from the data (dense: its features), or the one given. */
export function inputOf(data: Dataset, given: DenseInputConfig | TokenInputConfig | undefined, embeddingDim: number | undefined): DenseInputConfig | TokenInputConfig {
  if (given !== undefined) return given.type === 'tokens' && embeddingDim !== undefined ? { ...given, embeddingDim } : given;
  const x = data.x;
  if (isTyped(x)) {
    if (x.shape.length === 3 && x.values instanceof Float32Array) return { type: 'dense', features: x.shape[2] };
  } else {
    const first = (x as ReadonlyArray<ReadonlyArray<unknown>>)[0];
    const step = first?.[0];
    if (step !== undefined && typeof step === 'object' && step !== null && 'length' in step) return { type: 'dense', features: (step as ArrayLike<number>).length };
  }
  throw new TypeError('options.input: give the model input for token data ({ type: "tokens", vocabSize, embeddingDim })');
}

/** The classes: the ones given, the label names in sorted order, or max id + 1. */
export function classesOf(data: Dataset, validation: Dataset, given: number | string[] | undefined): number | string[] {
  if (given !== undefined) return given;
  const all = [...Array.from(data.y as ArrayLike<number | string>), ...Array.from(validation.y as ArrayLike<number | string>)];
  if (all.length > 0 && typeof all[0] === 'string') return [...new Set(all as string[])].sort();
  return Math.max(2, (all as number[]).reduce((m, v) => Math.max(m, v + 1), 0));
}
