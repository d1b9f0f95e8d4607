/**
 * Parquet files as a data source, read row group by row group (so memory follows one row
 * group, not the file) through hyparquet: a maintained, dependency-free Parquet reader
 * (snappy and uncompressed pages; other codecs need hyparquet-compressors).
 *
 * Columns come from the RecordSchema (name or #N): a text column (default `text` when the
 * file has one) makes text records; otherwise the columns other than label and id are the
 * series: one list-of-numbers column as the steps, or the numeric scalar columns in order as
 * a univariate series (like a CSV row). Rows are numbered from 1 (records carry them as
 * `line` with `unit: 'row'`, and predict writes them as `row`).
 */
import { existsSync } from 'node:fs';

import { DataFormatError } from '../../util/errors';
import { importEsm } from '../../util/esm';
import type { DataRecord } from '../readers';
import { columnIndex, type RecordSchema } from '../record-schema';
import type { DataSource, InputFormat, RowGroup, RowGroupRange, SourceChunk } from './source';

interface Hyparquet {
  asyncBufferFromFile(path: string): Promise<unknown>;
  parquetMetadataAsync(file: unknown): Promise<{ num_rows: bigint; row_groups: { num_rows: bigint | number; total_byte_size: bigint | number }[]; schema: { name: string; num_children?: number }[] }>;
  parquetSchema(meta: unknown): { children: { element: { name: string } }[] };
  parquetReadObjects(options: { file: unknown; columns?: string[]; rowStart: number; rowEnd: number }): Promise<Record<string, unknown>[]>;
}

class ParquetSource implements DataSource {
  constructor(
    readonly name: string,
    private readonly schema: RecordSchema,
    /** Only these row groups [first, last) (a shard's or a queue chunk's part). */
    private readonly groups?: RowGroupRange,
    /** Where to read it, when the records should name it otherwise (a queue worker opens
     * the absolute path of a file the job named relative to where it was submitted). */
    private readonly path: string = name,
  ) {}

  async *chunks(size: number, onError?: (error: DataFormatError) => void): AsyncIterable<SourceChunk> {
    const hp = await importEsm<Hyparquet>('hyparquet');
    let file: unknown;
    let meta: Awaited<ReturnType<Hyparquet['parquetMetadataAsync']>>;
    try {
      file = await hp.asyncBufferFromFile(this.path);
      meta = await hp.parquetMetadataAsync(file);
    } catch (e) {
      throw new DataFormatError(this.name, 0, `not a readable Parquet file (${(e as Error).message})`);
    }
    const names = hp.parquetSchema(meta).children.map((c) => c.element.name);
    const pick = (spec: string | undefined) => (spec === undefined ? null : names[columnIndex(spec, names, names.length, this.name)]);
    const text = pick(this.schema.textColumn ?? (names.includes('text') ? 'text' : undefined));
    const label = pick(this.schema.labelColumn ?? (names.includes('label') ? 'label' : undefined));
    const id = pick(this.schema.idColumn);
    const series = text === null ? names.filter((n) => n !== label && n !== id) : [];
    if (text === null && series.length === 0) throw new DataFormatError(this.name, 0, `no text column and no series columns (columns: ${names.join(', ')})`);
    const columns = [...new Set([text, label, id, ...series].filter((c): c is string => c !== null))];
    let rowStart = 0;
    let records: DataRecord[] = [];
    for (const [g, group] of meta.row_groups.entries()) {
      const rowEnd = rowStart + Number(group.num_rows);
      if (this.groups && (g < this.groups.first || g >= this.groups.last)) {
        rowStart = rowEnd;
        continue;
      }
      let rows: Record<string, unknown>[];
      try {
        rows = await hp.parquetReadObjects({ file, columns, rowStart, rowEnd });
      } catch (e) {
        throw new DataFormatError(this.name, rowStart + 1, `cannot read the row group from row ${rowStart + 1} (${(e as Error).message})`);
      }
      for (let i = 0; i < rows.length; i++) {
        const line = rowStart + i + 1;
        try {
          records.push(this.record(rows[i], line, text, label, id, series));
        } catch (e) {
          if (onError && e instanceof DataFormatError) onError(e);
          else throw e;
        }
        if (records.length === size) {
          yield { kind: 'records', records };
          records = [];
        }
      }
      rowStart = rowEnd;
    }
    if (records.length > 0) yield { kind: 'records', records };
  }

  private record(row: Record<string, unknown>, line: number, text: string | null, label: string | null, id: string | null, series: string[]): DataRecord {
    const file = this.name;
    const labelValue = label === null ? undefined : scalarLabel(row[label], file, line, label);
    const idValue = id === null || row[id] === null || row[id] === undefined ? undefined : scalarId(row[id], file, line, id);
    const extra = { ...(labelValue === undefined ? {} : { label: labelValue }), ...(idValue === undefined ? {} : { id: idValue }) };
    if (text !== null) {
      const value = row[text];
      if (typeof value !== 'string') throw new DataFormatError(file, line, `column "${text}" must be text, got ${describe(value)}`);
      return { kind: 'text', text: value, ...extra, line, unit: 'row', file };
    }
    const steps = series.length === 1 && Array.isArray(row[series[0]]) ? (row[series[0]] as unknown[]) : series.map((c) => row[c]);
    if (steps.length === 0) throw new DataFormatError(file, line, 'the series is empty');
    const sequence = steps.map((v, t) => {
      if (v === null || v === undefined) return [NaN];
      const x = typeof v === 'bigint' ? Number(v) : v;
      if (typeof x !== 'number' || !Number.isFinite(x) && !Number.isNaN(x)) throw new DataFormatError(file, line, `series value ${t + 1} is not a number: ${describe(v)}`);
      return [x];
    });
    return { kind: 'sequence', sequence, ...extra, line, unit: 'row', file };
  }
}

function describe(v: unknown): string {
  return typeof v === 'bigint' ? `${v}` : JSON.stringify(v) ?? String(v);
}

function scalarLabel(v: unknown, file: string, line: number, column: string): string | number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' && v !== '') return v;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
  throw new DataFormatError(file, line, `column "${column}" (the label) must be a non-empty string or a non-negative integer, got ${describe(v)}`);
}

function scalarId(v: unknown, file: string, line: number, column: string): string | number {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw new DataFormatError(file, line, `column "${column}" (the id) must be a string or a number, got ${describe(v)}`);
}

/** Each row group's compressed bytes (at least 1) and rows, from the file's metadata. */
async function rowGroups(path: string): Promise<RowGroup[]> {
  const hp = await importEsm<Hyparquet>('hyparquet');
  try {
    const meta = await hp.parquetMetadataAsync(await hp.asyncBufferFromFile(path));
    return meta.row_groups.map((g) => ({ bytes: Math.max(1, Number(g.total_byte_size) || Number(g.num_rows)), rows: Number(g.num_rows) }));
  } catch (e) {
    throw new DataFormatError(path, 0, `not a readable Parquet file (${(e as Error).message})`);
  }
}

export const PARQUET: InputFormat<'parquet'> = {
  name: 'parquet',
  description: 'Parquet',
  // hyparquet reads no gzip'd file; a .parquet.gz is still taken for Parquet, which says so.
  inputs: { files: ['.parquet'], gzip: false },
  // Row groups are read independently (ParquetSource skips the others), and memory follows one.
  split: 'row-groups',
  open: (path, options, name, groups) => {
    if (!existsSync(path)) throw new DataFormatError(name, 0, 'no such file');
    return new ParquetSource(name, options.schema ?? {}, groups, path);
  },
  rowGroups,
};
