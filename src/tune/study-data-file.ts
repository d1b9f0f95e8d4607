/**
 * A study's data as one file on storage every worker sees: the training and validation sets
 * exactly as the study split them, so a `tune work` process on another machine trains each
 * trial on the same rows without reading or splitting anything itself. Written atomically
 * and named in each job with its SHA-256, which the worker checks before use.
 *
 *   one JSON line: {"format": "rnn-node-study-data", "version": 1, "sets": [{name, dtype,
 *     shape, lengths, labels: "int32" | [names...]}, ...]}
 *   then, per set: its values, its lengths (when it has them), its labels (int32), little-endian
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { Dataset, TypedSequences } from '../data/sequence-set';
import type { DenseInputConfig, TokenInputConfig } from '../model/config';
import { writeFileAtomic } from '../util/atomic-file';
import { StudyError } from '../util/errors';

interface SetHeader {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  lengths: boolean;
  labels: 'int32' | string[];
}

function isTyped(x: unknown): x is TypedSequences {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'values' in x && 'shape' in x;
}

/** A dataset's sequences as typed arrays: nested arrays padded to the longest, with lengths. */
function typedOf(data: Dataset, input: DenseInputConfig | TokenInputConfig): TypedSequences {
  if (isTyped(data.x)) return data.x;
  const rows = data.x as ReadonlyArray<ArrayLike<ArrayLike<number> | number>>;
  const count = rows.length;
  const lengths = Int32Array.from(rows, (r) => r.length);
  const steps = lengths.reduce((m, n) => Math.max(m, n), 0);
  if (input.type === 'tokens') {
    const values = new Int32Array(count * steps);
    rows.forEach((r, s) => values.set(Array.from(r as ArrayLike<number>), s * steps));
    return { values, shape: [count, steps], lengths };
  }
  const features = input.features;
  const values = new Float32Array(count * steps * features);
  rows.forEach((r, s) => {
    for (let t = 0; t < r.length; t++) {
      const step = r[t] as ArrayLike<number>;
      if (step?.length !== features) throw new RangeError(`options.data.x[${s}][${t}]: expected ${features} features, got ${step?.length}`);
      values.set(Array.from(step), (s * steps + t) * features);
    }
  });
  return { values, shape: [count, steps, features], lengths };
}

const bytesOf = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Writes the study's sets to `path` (atomically); resolves with the file's SHA-256. */
export async function writeStudyData(path: string, sets: Record<'train' | 'validation', Dataset>, input: DenseInputConfig | TokenInputConfig): Promise<string> {
  const headers: SetHeader[] = [];
  const parts: Buffer[] = [];
  for (const [name, data] of Object.entries(sets)) {
    const x = typedOf(data, input);
    const y = Array.from(data.y as ArrayLike<number | string>);
    const strings = y.length > 0 && typeof y[0] === 'string';
    headers.push({ name, dtype: x.values instanceof Float32Array ? 'float32' : 'int32', shape: [...x.shape], lengths: x.lengths !== undefined, labels: strings ? (y as string[]) : 'int32' });
    parts.push(bytesOf(x.values));
    if (x.lengths) parts.push(bytesOf(x.lengths));
    if (!strings) parts.push(bytesOf(Int32Array.from(y as number[])));
  }
  const head = Buffer.from(`${JSON.stringify({ format: 'rnn-node-study-data', version: 1, sets: headers })}\n`);
  const bytes = Buffer.concat([head, ...parts]);
  await writeFileAtomic(path, bytes);
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a study data file, checking its checksum and every size: StudyError otherwise. */
export function readStudyData(path: string, sha256: string): Record<'train' | 'validation', Dataset> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new StudyError(`the study data ${path} cannot be read on this worker (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): --checkpoints must be storage every worker sees`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new StudyError(`the study data ${path} is not the study's (SHA-256 ${actual.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…)`);
  const bad = (why: string) => new StudyError(`the study data ${path} is damaged: ${why}`);
  const newline = bytes.indexOf(0x0a);
  let header: { format?: string; version?: number; sets?: SetHeader[] };
  try {
    header = JSON.parse(bytes.subarray(0, newline).toString('utf8'));
  } catch {
    throw bad('no header');
  }
  if (header.format !== 'rnn-node-study-data' || header.version !== 1 || !Array.isArray(header.sets)) throw bad('not a study data file');
  let at = newline + 1;
  const take = (count: number, kind: 'float32' | 'int32') => {
    if (!Number.isSafeInteger(count) || count < 0 || at + count * 4 > bytes.length) throw bad('shorter than its header says');
    // A copy: the file's buffer need not be 4-byte aligned.
    const raw = bytes.subarray(at, at + count * 4);
    at += count * 4;
    const out = kind === 'float32' ? new Float32Array(count) : new Int32Array(count);
    Buffer.from(out.buffer).set(raw);
    return out;
  };
  const out: Partial<Record<'train' | 'validation', Dataset>> = {};
  for (const s of header.sets) {
    if ((s.name !== 'train' && s.name !== 'validation') || !Array.isArray(s.shape) || (s.dtype !== 'float32' && s.dtype !== 'int32')) throw bad('an unknown set');
    // Dense sets are [count, steps, features] floats, token sets [count, steps] ids.
    if (s.shape.length !== (s.dtype === 'float32' ? 3 : 2) || !s.shape.every((d) => Number.isSafeInteger(d) && d >= 1)) throw bad(`${s.name}: shape ${JSON.stringify(s.shape)}`);
    const count = s.shape[0], steps = s.shape[1];
    const values = take(s.shape.reduce((a, b) => a * b, 1), s.dtype);
    const lengths = s.lengths ? (take(count, 'int32') as Int32Array) : undefined;
    if (lengths?.some((n) => n < 1 || n > steps)) throw bad(`${s.name}: a length outside [1, ${steps}]`);
    const y = s.labels === 'int32' ? take(count, 'int32') : s.labels;
    if (!Array.isArray(y) && !(y instanceof Int32Array)) throw bad('labels');
    if (y.length !== count) throw bad(`${count} sequences but ${y.length} labels`);
    out[s.name] = { x: { values, shape: s.shape, ...(lengths ? { lengths } : {}) }, y: y as Dataset['y'] };
  }
  if (!out.train || !out.validation || at !== bytes.length) throw bad('sets missing or trailing bytes');
  return out as Record<'train' | 'validation', Dataset>;
}
