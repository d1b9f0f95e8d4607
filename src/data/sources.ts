/**
 * Data sources: the one abstraction `train`, `evaluate` and `predict` read through, so that a
 * format is added in one place (a class here and a case in openSource). A source yields
 * chunks of examples in file order, in one of two forms:
 *   - records (JSONL, CSV): raw text or sequences, which the model's preprocessing encodes;
 *   - typed (IDX): numeric sequences with numeric labels, ready for the model as they are.
 * Every example carries where it came from (`line` for records, `index` for typed rows),
 * which `predict` writes beside its output.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import type { TypedSequences } from './sequence-set';
import { DataFormatError } from '../util/errors';
import { readIdxDataset } from './idx';
import { ParquetSource } from './parquet-source';
import { readRecordBatches, type ByteRange, type DataRecord } from './readers';
import type { RecordSchema } from './record-schema';

/** The formats a source can have. */
export type RecordFormat = 'jsonl' | 'csv' | 'idx' | 'parquet';

/** The format a path implies: a directory is IDX; .csv/.tsv CSV; anything else JSONL. */
export function detectFormat(path: string): RecordFormat {
  try {
    if (statSync(path).isDirectory()) return 'idx';
  } catch {
    // fall through: the reader reports a missing file
  }
  const ext = extname(path.replace(/\.gz$/i, '')).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  return ext === '.csv' || ext === '.tsv' ? 'csv' : 'jsonl';
}

export type SourceChunk =
  | { kind: 'records'; records: DataRecord[] }
  | { kind: 'typed'; x: TypedSequences & { values: Float32Array }; y: Int32Array; firstIndex: number; file: string };

export interface DataSource {
  /** The path (or 'stdin'), for messages. */
  readonly name: string;
  /** Examples in chunks of at most `size`, in order. With `onError`, a malformed record is
   * reported and skipped; without, it throws a DataFormatError naming file and line. */
  chunks(size: number, onError?: (error: DataFormatError) => void): AsyncIterable<SourceChunk>;
}

export interface SourceOptions {
  /** IDX: the file prefix inside the directory ('train', 't10k', ...). */
  idxPrefix?: string;
  /** IDX: the prefix to use when the directory holds several and none is named. */
  preferredPrefix?: string;
  /** JSONL keys and CSV columns of text, label and id. */
  schema?: RecordSchema;
}

/**
 * Part of one file, for sharded and queued jobs (src/scale): a byte range of an uncompressed
 * JSONL or CSV file aligned to record starts, or Parquet row groups [first, last).
 */
export type SourcePart = ({ kind: 'bytes' } & ByteRange) | { kind: 'rowGroups'; first: number; last: number };

/** JSONL or CSV records (optionally gzip'd), streamed in order ('-' is stdin, JSONL). */
class RecordSource implements DataSource {
  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly format: 'jsonl' | 'csv',
    private readonly schema: RecordSchema,
    private readonly range?: ByteRange,
  ) {}

  async *chunks(size: number, onError?: (error: DataFormatError) => void): AsyncIterable<SourceChunk> {
    for await (const records of readRecordBatches(this.path, this.format, size, onError, this.schema, this.range, this.name)) yield { kind: 'records', records };
  }
}

/** An IDX image/label pair (MNIST family): pixels / 255, rows as steps. */
class IdxSource implements DataSource {
  constructor(
    readonly name: string,
    private readonly prefix: string,
    private readonly path: string = name,
  ) {}

  async *chunks(size: number): AsyncIterable<SourceChunk> {
    const { x, y } = readIdxDataset(this.path, this.prefix);
    const [count, steps, features] = x.shape;
    for (let start = 0; start < count; start += size) {
      const end = Math.min(count, start + size);
      yield {
        kind: 'typed',
        x: { values: x.values.subarray(start * steps * features, end * steps * features), shape: [end - start, steps, features] },
        y: y.subarray(start, end),
        firstIndex: start,
        file: this.name,
      };
    }
  }
}

/** The IDX prefix to use in a directory: the one named, the only one, else `preferred`. */
export function idxPrefix(dir: string, preferred: string, explicit?: string): string {
  if (explicit) return explicit;
  if (!existsSync(dir)) throw new DataFormatError(dir, 0, 'no such directory');
  const prefixes = [...new Set(readdirSync(dir).filter((f) => /-images-idx3-ubyte(\.gz)?$/.test(f)).map((f) => f.replace(/-images-idx3-ubyte(\.gz)?$/, '')))];
  if (prefixes.length === 0) throw new DataFormatError(dir, 0, 'no *-images-idx3-ubyte[.gz] file in the directory');
  if (prefixes.length === 1) return prefixes[0];
  if (prefixes.includes(preferred)) return preferred;
  throw new DataFormatError(dir, 0, `several IDX sets (${prefixes.join(', ')}): choose one with --idx-prefix`);
}

/** The format of a path: the one named, or the one the path implies (detectFormat). */
export function formatOf(path: string, format: RecordFormat | 'auto'): RecordFormat {
  return format !== 'auto' ? format : path === '-' ? 'jsonl' : detectFormat(path);
}

/**
 * The source for a path (or for a part of it): the format named, or the one the path implies.
 * Records name their file `name` (default: the path), which a queue worker keeps as the job
 * gave it while opening the absolute path.
 */
export function openSource(path: string, format: RecordFormat | 'auto', options: SourceOptions = {}, part?: SourcePart, name: string = path): DataSource {
  const f = formatOf(path, format);
  if (f === 'idx') return new IdxSource(name, idxPrefix(path, options.preferredPrefix ?? 'train', options.idxPrefix), path);
  if (path !== '-' && !existsSync(path)) throw new DataFormatError(name, 0, 'no such file');
  if (f === 'parquet') return new ParquetSource(name, options.schema ?? {}, part?.kind === 'rowGroups' ? part : undefined, path);
  return new RecordSource(path === '-' ? 'stdin' : name, path, f, options.schema ?? {}, part?.kind === 'bytes' ? part : undefined);
}

/** Files a directory of records holds: its files of a supported format, by name. */
const RECORD_FILE = /(\.(jsonl|json|ndjson|csv|tsv)(\.gz)?|\.parquet)$/i;

/** Whether a directory is an IDX set (it holds *-images-idx3-ubyte[.gz]). */
function isIdxDirectory(dir: string): boolean {
  return readdirSync(dir).some((f) => /-images-idx3-ubyte(\.gz)?$/.test(f));
}

/**
 * The files `--data` arguments name, in order: each argument is a file, a directory (an IDX
 * set stays one source; any other directory means its files of supported formats, sorted by
 * name) or a quoted glob (expanded here, sorted). A glob that matches nothing, a missing
 * path or an empty directory is an error naming it.
 */
export function expandPaths(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (arg !== '-' && !existsSync(arg) && isDynamicPattern(arg)) {
      const matches = globSync([arg], { onlyFiles: true, expandDirectories: false }).sort();
      if (matches.length === 0) throw new DataFormatError(arg, 0, 'the pattern matches no file');
      out.push(...matches);
      continue;
    }
    if (arg !== '-' && existsSync(arg) && statSync(arg).isDirectory() && !isIdxDirectory(arg)) {
      const files = readdirSync(arg).filter((f) => RECORD_FILE.test(f)).sort().map((f) => join(arg, f));
      if (files.length === 0) throw new DataFormatError(arg, 0, 'the directory holds no IDX set and no .jsonl, .csv, .tsv or .parquet file');
      out.push(...files);
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** Several sources read one after another, in order: one job over many files (or parts). */
export class ChainedSource implements DataSource {
  readonly name: string;
  constructor(private readonly sources: DataSource[]) {
    this.name = sources.map((s) => s.name).join(', ');
  }

  async *chunks(size: number, onError?: (error: DataFormatError) => void): AsyncIterable<SourceChunk> {
    for (const source of this.sources) yield* source.chunks(size, onError);
  }
}

/** The source for several `--data` arguments (expandPaths), each opened with openSource. */
export function openSources(args: readonly string[], format: RecordFormat | 'auto', options: SourceOptions = {}): { source: DataSource; files: number } {
  const paths = expandPaths(args);
  const sources = paths.map((p) => openSource(p, format, options));
  return { source: sources.length === 1 ? sources[0] : new ChainedSource(sources), files: paths.length };
}

/** Everything a source holds, gathered: records, or one typed set. */
export type LoadedData =
  | { kind: 'records'; records: DataRecord[] }
  | { kind: 'typed'; x: TypedSequences & { values: Float32Array }; y: Int32Array };

export async function readAll(source: DataSource): Promise<LoadedData> {
  const records: DataRecord[] = [];
  const typed: Extract<SourceChunk, { kind: 'typed' }>[] = [];
  // One chunk per source when it can: an IDX set then comes back without another copy.
  for await (const chunk of source.chunks(Number.MAX_SAFE_INTEGER)) {
    if (chunk.kind === 'records') for (const r of chunk.records) records.push(r);
    else typed.push(chunk);
  }
  if (typed.length > 0 && records.length > 0) throw new DataFormatError(source.name, 0, 'mixes IDX sets with record files');
  if (typed.length === 1) return { kind: 'typed', x: typed[0].x, y: typed[0].y };
  if (typed.length > 0) {
    const [, steps, features] = typed[0].x.shape;
    const other = typed.find((c) => c.x.shape[1] !== steps || c.x.shape[2] !== features);
    if (other) throw new DataFormatError(other.file, 0, `its images are ${other.x.shape[1]}x${other.x.shape[2]}, the first set's ${steps}x${features}`);
    const count = typed.reduce((n, c) => n + c.y.length, 0);
    const values = new Float32Array(count * steps * features);
    const y = new Int32Array(count);
    let at = 0;
    for (const c of typed) {
      values.set(c.x.values, at * steps * features);
      y.set(c.y, at);
      at += c.y.length;
    }
    return { kind: 'typed', x: { values, shape: [count, steps, features] }, y };
  }
  if (records.length === 0) throw new DataFormatError(source.name, 0, 'no records');
  return { kind: 'records', records };
}
