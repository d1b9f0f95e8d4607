/**
 * Data sources: the one abstraction `train`, `evaluate` and `predict` read through. Each
 * input format is a file in this folder behind the DataSource interface (source.ts), listed
 * in one table (formats.ts); openSource and the rest here read that table and name no format.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import type { TypedSequences } from '../sequence-set';
import { DataFormatError } from '../../util/errors';
import type { DataRecord } from '../readers';
import { directoryInputsText, formatNamed, formatOf, isInputDirectory, isInputFileName, type RecordFormat } from './formats';
import type { DataSource, SourceChunk, SourceOptions, SourcePart } from './source';

export { detectFormat, FALLBACK_FORMAT, FORMATS, formatNamed, formatOf, type RecordFormat } from './formats';
export type { DataSource, InputFormat, RowGroup, RowGroupRange, SourceChunk, SourceOptions, SourcePart, SplitStrategy } from './source';

/**
 * The source for a path (or for a part of it): the format named, or the one the path implies.
 * Records name their file `name` (default: the path), which a queue worker keeps as the job
 * gave it while opening the absolute path. A part must be of the kind the format is split
 * into: a source handed a part it cannot read would read its whole file, once per shard.
 */
export function openSource(path: string, format: RecordFormat | 'auto', options: SourceOptions = {}, part?: SourcePart, name: string = path): DataSource {
  const entry = formatNamed(formatOf(path, format));
  const wrongPart = () => new DataFormatError(name, 0, `cannot read a ${part!.kind} part: ${entry.name} files are split by ${entry.split}`);
  switch (entry.split) {
    case 'byte-ranges':
      if (part && part.kind !== 'bytes') throw wrongPart();
      return entry.open(path, options, name, part);
    case 'row-groups':
      if (part && part.kind !== 'rowGroups') throw wrongPart();
      return entry.open(path, options, name, part && { first: part.first, last: part.last });
    default:
      // 'whole-files', and an entry without a strategy (from JavaScript): read whole, no part.
      if (part) throw wrongPart();
      return entry.open(path, options, name);
  }
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
    if (arg !== '-' && existsSync(arg) && statSync(arg).isDirectory() && !isInputDirectory(arg)) {
      const files = readdirSync(arg).filter(isInputFileName).sort().map((f) => join(arg, f));
      if (files.length === 0) throw new DataFormatError(arg, 0, `the directory holds ${directoryInputsText()}`);
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
