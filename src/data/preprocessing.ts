/**
 * From raw records to model input, and back again at prediction time: the tokenizer (text)
 * or per-feature normalisation and the missing-value policy (dense sequences). Fitted on the
 * training records and saved inside the model file, so `predict` on raw records gives the
 * same answers as during training.
 */
import { checkChoice, checkInteger } from '../util/validate';
import { DataFormatError, invalidType, outOfRange } from '../util/errors';
import type { TypedSequences } from './sequence-set';
import type { DataRecord, SequenceRecord, TextRecord } from './readers';
import { applyMissingPolicy, MISSING_POLICIES, type MissingPolicy } from './missing';
import { reserve, Tokenizer, UnknownTokenError, type TokenizerJSON, type TokenizerOptions } from './tokenizer';


export interface PreprocessingJSON {
  /** 'ids': records carry token ids (`{"ids": [...]}`), checked against `vocabSize`. */
  kind: 'text' | 'sequence' | 'ids';
  /** 'ids': the model's vocabulary size. */
  vocabSize?: number;
  tokenizer?: TokenizerJSON;
  features?: number;
  normalization?: { mean: number[]; std: number[] } | null;
  missing?: MissingPolicy;
  /** Keep at most this many steps (the first ones). */
  maxLength?: number | null;
}

export interface PreprocessorOptions {
  tokenizer?: TokenizerOptions;
  /** Dense: standardise each feature with the training mean and std. Default true. */
  normalize?: boolean;
  missing?: MissingPolicy;
  maxLength?: number;
}

/** The most steps one sequence may have (the native batch's limit). */
const MAX_STEPS = 1 << 24;

export class Preprocessor {
  readonly kind: 'text' | 'sequence' | 'ids';
  /** 'ids': the largest id + 1. */
  readonly vocabSize: number;
  readonly tokenizer: Tokenizer | null;
  readonly features: number;
  readonly normalization: { mean: number[]; std: number[] } | null;
  readonly missing: MissingPolicy;
  readonly maxLength: number | null;
  /** Token ids of the batch being encoded, end to end (reused: encode copies them out). */
  readonly #scratch = { ids: new Int32Array(0) };

  private constructor(json: PreprocessingJSON, tokenizer: Tokenizer | null) {
    this.kind = json.kind;
    this.vocabSize = json.vocabSize ?? 0;
    this.tokenizer = tokenizer;
    this.features = json.features ?? 1;
    this.normalization = json.normalization ?? null;
    this.missing = json.missing ?? 'error';
    this.maxLength = json.maxLength ?? null;
  }

  /** Fits on training records (all text, or all sequences). */
  static fit(records: readonly DataRecord[], options: PreprocessorOptions = {}): Preprocessor {
    if (records.length === 0) throw outOfRange('records', 'at least one record', records);
    const kind = records[0].kind;
    const other = records.find((r) => r.kind !== kind);
    if (other) throw new DataFormatError(other.file ?? 'data', other.line, `mixes ${other.kind} and ${kind} records`);
    if (kind === 'ids') throw new DataFormatError(records[0].file ?? 'data', records[0].line, 'training from token ids needs a model built with the library API (records with "ids" are for imported models)');
    const maxLength = options.maxLength === undefined ? null : checkInteger('maxLength', options.maxLength, 1, 2 ** 24);
    if (kind === 'text') {
      const tokenizer = Tokenizer.fit(
        (records as TextRecord[]).map((r) => r.text),
        { kind: 'char', ...options.tokenizer, ...(maxLength ? { maxLength } : {}) },
      );
      return new Preprocessor({ kind, maxLength }, tokenizer);
    }
    const missing = options.missing === undefined ? 'error' : checkChoice('missing', options.missing, MISSING_POLICIES);
    const seqs = records as SequenceRecord[];
    const features = seqs[0].sequence[0]?.length ?? 0;
    if (features < 1) throw new DataFormatError('data', seqs[0].line, 'the first sequence has no features');
    const probe = new Preprocessor({ kind, features, normalization: null, missing, maxLength }, null);
    let normalization: PreprocessingJSON['normalization'] = null;
    if (options.normalize ?? true) {
      const sum = new Float64Array(features);
      const sq = new Float64Array(features);
      let n = 0;
      for (const r of seqs) {
        for (const step of probe.clean(r)) {
          for (let f = 0; f < features; f++) {
            sum[f] += step[f];
            sq[f] += step[f] * step[f];
          }
          n++;
        }
      }
      const mean = Array.from(sum, (s) => s / n);
      const std = Array.from(sq, (s, f) => {
        const v = s / n - mean[f] * mean[f];
        return v > 1e-12 ? Math.sqrt(v) : 1;
      });
      normalization = { mean, std };
    }
    return new Preprocessor({ kind, features, normalization, missing, maxLength }, null);
  }

  /** The model's input config this preprocessing feeds. */
  inputConfig(embeddingDim = 32): { type: 'dense'; features: number } | { type: 'tokens'; vocabSize: number; embeddingDim: number } {
    if (this.kind === 'ids') return { type: 'tokens', vocabSize: this.vocabSize, embeddingDim };
    return this.tokenizer
      ? { type: 'tokens', vocabSize: this.tokenizer.size, embeddingDim }
      : { type: 'dense', features: this.features };
  }

  /** A sequence record's steps after the missing-value policy and truncation. */
  clean(r: SequenceRecord): number[][] {
    let steps = this.maxLength !== null ? r.sequence.slice(0, this.maxLength) : r.sequence;
    const F = this.features;
    steps.forEach((step, t) => {
      if (step.length !== F) throw new DataFormatError(r.file ?? 'data', r.line, `step ${t} has ${step.length} features, expected ${F}`);
    });
    if (steps.some((s) => s.some(Number.isNaN))) {
      const flat = Float64Array.from(steps.flat());
      const { kept, missingAt } = applyMissingPolicy(flat, 0, steps.length, F, this.missing);
      if (missingAt)
        throw new DataFormatError(r.file ?? 'data', r.line, `missing value at step ${missingAt[0]}, feature ${missingAt[1]} (choose a missing-value policy: zero, ffill or mask)`);
      steps = Array.from({ length: kept }, (_, t) => Array.from(flat.subarray(t * F, (t + 1) * F)));
    }
    if (steps.length === 0) throw new DataFormatError(r.file ?? 'data', r.line, 'the sequence is empty (after removing missing steps)');
    if (steps.length > MAX_STEPS) throw new DataFormatError(r.file ?? 'data', r.line, `${steps.length} steps; a sequence has at most ${MAX_STEPS}`);
    return steps;
  }

  /** Encodes records as typed model input. With `onError`, a record that cannot be encoded
   * is reported and left out (`kept` lists the records that made it). */
  encode(records: readonly DataRecord[], onError?: (record: DataRecord, error: DataFormatError) => void): { x: TypedSequences; kept: number[] } {
    if (this.tokenizer || this.kind === 'ids') return this.#encodeTokens(records, onError);
    const rows: number[][][] = [];
    const kept: number[] = [];
    records.forEach((r, i) => {
      try {
        if (r.kind !== 'sequence') throw new DataFormatError(r.file ?? 'data', r.line, `expected a ${this.kind} record, got ${r.kind}`);
        rows.push(this.clean(r));
        kept.push(i);
      } catch (e) {
        if (onError && e instanceof DataFormatError) onError(r, e);
        else throw e;
      }
    });
    if (rows.length === 0) return { x: { values: new Float32Array(0), shape: [0, 1, this.features] }, kept };
    let steps = 0;
    for (const row of rows) steps = Math.max(steps, row.length);
    const lengths = Int32Array.from(rows, (row) => row.length);
    const F = this.features;
    const values = new Float32Array(rows.length * steps * F);
    const norm = this.normalization;
    rows.forEach((row, s) => {
      row.forEach((step, t) => {
        const base = (s * steps + t) * F;
        for (let f = 0; f < F; f++) values[base + f] = norm ? (step[f] - norm.mean[f]) / norm.std[f] : step[f];
      });
    });
    return { x: { values, shape: [rows.length, steps, F], lengths }, kept };
  }

  /** Token records: each one's ids into the scratch buffer, then one [rows, steps] copy. */
  #encodeTokens(records: readonly DataRecord[], onError?: (record: DataRecord, error: DataFormatError) => void): { x: TypedSequences; kept: number[] } {
    const kept: number[] = [];
    const starts: number[] = [];
    const lengths: number[] = [];
    let used = 0;
    let steps = 0;
    records.forEach((r, i) => {
      try {
        const n = this.#idsInto(r, used);
        kept.push(i);
        starts.push(used);
        lengths.push(n);
        used += n;
        if (n > steps) steps = n;
      } catch (e) {
        if (onError && e instanceof DataFormatError) onError(r, e);
        else throw e;
      }
    });
    if (kept.length === 0) return { x: { values: new Int32Array(0), shape: [0, 1, this.features] }, kept };
    const ids = this.#scratch.ids;
    const values = new Int32Array(kept.length * steps);
    for (let s = 0; s < kept.length; s++) values.set(ids.subarray(starts[s], starts[s] + lengths[s]), s * steps);
    return { x: { values, shape: [kept.length, steps], lengths: Int32Array.from(lengths) }, kept };
  }

  /** A token record's ids into the scratch buffer from `at`; returns how many. */
  #idsInto(r: DataRecord, at: number): number {
    if (r.kind !== this.kind) throw new DataFormatError(r.file ?? 'data', r.line, `expected a ${this.kind} record, got ${r.kind}`);
    if (r.kind === 'text') {
      let n: number;
      try {
        n = this.tokenizer!.encodeInto(r.text, this.#scratch, at);
      } catch (e) {
        if (e instanceof UnknownTokenError) throw new DataFormatError(r.file ?? 'data', r.line, e.message);
        throw e;
      }
      if (n === 0) throw new DataFormatError(r.file ?? 'data', r.line, 'the text has no tokens');
      if (n > MAX_STEPS) throw new DataFormatError(r.file ?? 'data', r.line, `the text has ${n} tokens; a sequence has at most ${MAX_STEPS} steps (set a maximum length)`);
      return n;
    }
    if (r.kind !== 'ids') throw new DataFormatError(r.file ?? 'data', r.line, `expected a ${this.kind} record, got ${r.kind}`);
    const ids = this.maxLength !== null ? r.ids.slice(0, this.maxLength) : r.ids;
    const bad = ids.findIndex((id) => id >= this.vocabSize);
    if (bad >= 0) throw new DataFormatError(r.file ?? 'data', r.line, `ids[${bad}] is ${ids[bad]}, outside the vocabulary [0, ${this.vocabSize})`);
    if (ids.length === 0) throw new DataFormatError(r.file ?? 'data', r.line, 'the ids list is empty');
    if (ids.length > MAX_STEPS) throw new DataFormatError(r.file ?? 'data', r.line, `${ids.length} ids; a sequence has at most ${MAX_STEPS} steps`);
    reserve(this.#scratch, at + ids.length).set(ids, at);
    return ids.length;
  }

  toJSON(): PreprocessingJSON {
    if (this.kind === 'ids') return { kind: 'ids', vocabSize: this.vocabSize, maxLength: this.maxLength };
    return this.tokenizer
      ? { kind: 'text', tokenizer: this.tokenizer.toJSON(), maxLength: this.maxLength }
      : { kind: 'sequence', features: this.features, normalization: this.normalization, missing: this.missing, maxLength: this.maxLength };
  }

  static fromJSON(json: unknown): Preprocessor {
    const j = json as PreprocessingJSON;
    if (!j || typeof j !== 'object') throw invalidType('preprocessing', 'a preprocessing object', json);
    const kind = checkChoice('preprocessing.kind', j.kind, ['text', 'sequence', 'ids'] as const);
    const maxLength = j.maxLength === undefined || j.maxLength === null ? null : checkInteger('preprocessing.maxLength', j.maxLength, 1, 2 ** 24);
    if (kind === 'text') return new Preprocessor({ kind, maxLength }, Tokenizer.fromJSON(j.tokenizer));
    if (kind === 'ids') return new Preprocessor({ kind, maxLength, vocabSize: checkInteger('preprocessing.vocabSize', j.vocabSize, 1, 2 ** 31 - 1) }, null);
    const features = checkInteger('preprocessing.features', j.features, 1, 1 << 20);
    const missing = checkChoice('preprocessing.missing', j.missing, MISSING_POLICIES);
    const n = j.normalization;
    if (n !== null && n !== undefined) {
      const ok = (a: unknown) => Array.isArray(a) && a.length === features && a.every((v) => typeof v === 'number' && Number.isFinite(v));
      if (!ok(n.mean) || !ok(n.std) || n.std.some((v) => v <= 0)) throw outOfRange('preprocessing.normalization', `${features} finite means and positive stds`, n);
    }
    return new Preprocessor({ kind, features, normalization: n ?? null, missing, maxLength }, null);
  }
}

/** Label names or indices of training records: all strings (sorted names) or all integers
 * (classes 0..max). */
export function labelSpace(records: readonly DataRecord[]): { classes: number | string[] } {
  const missing = records.find((r) => r.label === undefined);
  if (missing) throw new DataFormatError(missing.file ?? 'data', missing.line, 'the record has no "label"');
  const strings = records.filter((r) => typeof r.label === 'string');
  if (strings.length === records.length) {
    return { classes: [...new Set(strings.map((r) => r.label as string))].sort() };
  }
  if (strings.length > 0) throw new DataFormatError(strings[0].file ?? 'data', strings[0].line, 'labels mix names and integers');
  let max = 0;
  for (const r of records) max = Math.max(max, r.label as number);
  return { classes: Math.max(2, max + 1) };
}
