/**
 * Streaming readers for the record formats documented in docs/API.md (the sources built
 * on them: src/data/sources/records.ts). Records are read line by line, so files larger than memory can
 * be evaluated or predicted; a malformed record throws a
 * DataFormatError naming the file and line.
 *
 * - JSONL text:   {"text": "...", "label": "fr"}            (label string or integer)
 * - JSONL dense:  {"sequence": [[f1..fF], ...], "label": 3}  (null or "NaN" = missing value)
 * - CSV (UCR):    label,v1,v2,...  one univariate series per line (comma or tab separated;
 *                 empty, NaN or ? = missing value)
 * - CSV/TSV with named columns (a RecordSchema names them): quoted fields may hold commas,
 *   quotes and newlines (parsed by csv-parse); a text column makes text records, otherwise
 *   the columns other than label and id are a univariate series.
 * Any of them may be gzip-compressed (`.gz`): decompressed while streaming.
 */
import { createReadStream } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse';
import { DataFormatError } from '../util/errors';
import { columnIndex, usesColumns, type RecordSchema } from './record-schema';

export interface TextRecord {
  kind: 'text';
  text: string;
  label?: string | number;
  /** The record's id (RecordSchema idField / idColumn), copied into `predict`'s output. */
  id?: string | number;
  /** Where the record is in its file: the line (JSONL, CSV), or the row (Parquet, `unit: 'row'`). */
  line: number;
  unit?: 'row';
  file?: string;
}

export interface SequenceRecord {
  kind: 'sequence';
  /** steps x features; NaN marks a missing value. */
  sequence: number[][];
  label?: string | number;
  id?: string | number;
  /** Where the record is in its file: the line (JSONL, CSV), or the row (Parquet, `unit: 'row'`). */
  line: number;
  unit?: 'row';
  file?: string;
}

/** Token ids given directly (`{"ids": [4, 17, 9]}`): for text models imported without their vocabulary. */
export interface IdsRecord {
  kind: 'ids';
  ids: number[];
  label?: string | number;
  id?: string | number;
  line: number;
  unit?: 'row';
  file?: string;
}

export type DataRecord = TextRecord | SequenceRecord | IdsRecord;

function checkLabel(file: string, line: number, label: unknown): string | number | undefined {
  if (label === undefined || label === null) return undefined;
  if (typeof label === 'string' && label !== '') return label;
  if (typeof label === 'number' && Number.isInteger(label) && label >= 0) return label;
  throw new DataFormatError(file, line, `"label" must be a non-empty string or a non-negative integer, got ${JSON.stringify(label)}`);
}

function checkId(file: string, line: number, id: unknown, key: string): string | number | undefined {
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return id;
  throw new DataFormatError(file, line, `"${key}" (the id) must be a string or a number, got ${JSON.stringify(id)}`);
}

/** Parses one JSONL line into a record; `schema` names the text, label and id keys. */
export function parseJsonlRecord(text: string, file: string, line: number, schema: RecordSchema = {}): DataRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(file, line, `not valid JSON (${(e as Error).message})`);
  }
  return recordFromJson(value, file, line, schema);
}

/** One record from a parsed JSON value (a JSONL line's, a JSON array's element). */
export function recordFromJson(value: unknown, file: string, line: number, schema: RecordSchema = {}): DataRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DataFormatError(file, line, 'expected a JSON object with "text", "sequence" or "ids"');
  const v = value as Record<string, unknown>;
  const textKey = schema.textField ?? 'text';
  const label = checkLabel(file, line, v[schema.labelField ?? 'label']);
  const id = schema.idField === undefined ? undefined : checkId(file, line, v[schema.idField], schema.idField);
  const withId = id === undefined ? {} : { id };
  if (typeof v[textKey] === 'string') return { kind: 'text', text: v[textKey] as string, label, ...withId, line, file };
  if (Array.isArray(v.sequence)) {
    const sequence = v.sequence.map((step, t) => {
      const values = Array.isArray(step) ? step : [step];
      return values.map((x, f) => {
        if (typeof x === 'number' && Number.isFinite(x)) return x;
        if (x === null || x === 'NaN') return NaN;
        throw new DataFormatError(file, line, `sequence[${t}][${f}] must be a finite number or null (missing), got ${JSON.stringify(x)}`);
      });
    });
    return { kind: 'sequence', sequence, label, ...withId, line, file };
  }
  if (Array.isArray(v.ids)) {
    const ids = v.ids.map((x, t) => {
      if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return x;
      throw new DataFormatError(file, line, `ids[${t}] must be a non-negative integer token id, got ${JSON.stringify(x)}`);
    });
    return { kind: 'ids', ids, label, ...withId, line, file };
  }
  if (v[textKey] !== undefined) throw new DataFormatError(file, line, `"${textKey}" must be a string, got ${JSON.stringify(v[textKey])}`);
  throw new DataFormatError(file, line, `expected a "${textKey}" string, a "sequence" array or an "ids" array`);
}

/** A CSV cell as a label: an integer-looking cell is a class index, anything else a name. */
function csvLabel(cell: string): string | number | undefined {
  if (cell === '') return undefined;
  const numeric = Number(cell);
  return Number.isInteger(numeric) && numeric >= 0 && /^\d+(\.0*)?$/.test(cell) ? numeric : cell;
}

/** A CSV cell as a series value: empty, NaN or ? is missing. */
function csvValue(cell: string, file: string, line: number, t: number): number {
  const c = cell.trim();
  if (c === '' || c === 'NaN' || c === 'nan' || c === '?') return NaN;
  const x = Number(c);
  if (!Number.isFinite(x)) throw new DataFormatError(file, line, `value ${t + 1} is not a number: ${JSON.stringify(cell)}`);
  return x;
}

/** Parses one UCR-style CSV line: label, then the series. */
export function parseCsvRecord(text: string, file: string, line: number): SequenceRecord {
  const cells = text.split(text.includes('\t') ? '\t' : ',').map((c) => c.trim());
  if (cells.length < 2) throw new DataFormatError(file, line, 'expected a label and at least one value');
  if (cells[0] === '') throw new DataFormatError(file, line, 'empty label');
  const sequence = cells.slice(1).map((c, t) => [csvValue(c, file, line, t)]);
  return { kind: 'sequence', sequence, label: csvLabel(cells[0]), line, file };
}

/**
 * A byte range of an uncompressed file that starts and ends at record starts (a shard or a
 * queue chunk: src/scale/plan.ts), read as if it were the whole file: `header` (a CSV's
 * first line, or null) comes first, and records are numbered by their line in the whole
 * file, the first one being `firstLine`.
 */
export interface ByteRange {
  start: number;
  end: number;
  firstLine: number;
  header: string | null;
}

/** The file's text stream: stdin for '-', decompressed on the fly for a `.gz` path, or a byte range. */
function openText(path: string, range?: ByteRange): Readable {
  if (path === '-') return process.stdin;
  if (range) {
    if (range.end <= range.start) return Readable.from(range.header === null ? [] : [range.header]);
    const slice = createReadStream(path, { start: range.start, end: range.end - 1 });
    if (range.header === null) return slice;
    const joined = new PassThrough();
    joined.write(range.header);
    slice.on('error', (e) => joined.destroy(e));
    slice.pipe(joined);
    return joined;
  }
  const file = createReadStream(path);
  if (!/\.gz$/i.test(path)) return file; // A.JSONL.GZ too
  const gunzip = createGunzip();
  file.on('error', (e) => gunzip.destroy(e));
  return file.pipe(gunzip);
}

function readError(name: string, line: number, e: unknown): DataFormatError {
  if (e instanceof DataFormatError) return e;
  const error = e as NodeJS.ErrnoException;
  // zlib names its failures Z_DATA_ERROR, Z_BUF_ERROR, ...: the file is not valid gzip.
  if (error.code?.startsWith('Z_')) return new DataFormatError(name, line, `not valid gzip data (${error.message})`);
  return new DataFormatError(name, line, `cannot read (${error.code ?? error.message})`);
}

/** Yields the records of a JSONL or CSV file in order, one at a time (readRecordBatches,
 * record by record). Blank lines are skipped. With `onError`, a malformed record is passed to
 * it and skipped instead of thrown. `schema` names the JSONL keys or CSV columns (a CSV with
 * named columns is read with a CSV parser, so quoted fields may span lines). */
export async function* readRecords(
  path: string,
  format: 'jsonl' | 'csv',
  onError?: (error: DataFormatError) => void,
  schema: RecordSchema = {},
  range?: ByteRange,
  /** How records name their file (default: the path). */
  displayName?: string,
): AsyncGenerator<DataRecord> {
  for await (const batch of readRecordBatches(path, format, 1024, onError, schema, range, displayName, true)) yield* batch;
}

/**
 * The records of a JSONL or CSV file in order, in batches of `size` (the last may be
 * smaller), as readRecords describes them. Lines end at \n, \r\n or a lone \r (as readline
 * splits them); a UTF-8 byte-order mark at the start is dropped. Lines are split from the
 * stream's chunks here rather than by readline, and records are handed on a batch at a time:
 * a million short records otherwise cost the JavaScript thread several promise turns each,
 * which on a small machine is CPU taken from inference.
 */
/** The longest record line read (a file without line ends, /dev/zero, would grow without bound). */
const MAX_LINE_CHARS = 256 * 1024 * 1024;

export async function* readRecordBatches(
  path: string,
  format: 'jsonl' | 'csv',
  size: number,
  onError?: (error: DataFormatError) => void,
  schema: RecordSchema = {},
  range?: ByteRange,
  displayName?: string,
  /** Hand on each stream chunk's records as soon as they are read (smaller batches). */
  flushEachChunk = false,
): AsyncGenerator<DataRecord[]> {
  const name = path === '-' ? 'stdin' : displayName ?? path;
  const stream = openText(path, range);
  // Lines of the stream are numbered as in the whole file: a range's first record line is
  // range.firstLine, after the header line put in front of it.
  const lineOffset = range ? range.firstLine - 1 - (range.header === null ? 0 : 1) : 0;
  let batch: DataRecord[] = [];
  if (format === 'csv' && usesColumns(schema)) {
    for await (const record of readColumns(stream, name, schema, onError, lineOffset)) {
      batch.push(record);
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  stream.setEncoding('utf8');
  let line = lineOffset;
  const take = (text: string) => {
    line++;
    if (text.trim() === '') return;
    try {
      batch.push(format === 'csv' ? parseCsvRecord(text, name, line) : parseJsonlRecord(text, name, line, schema));
    } catch (e) {
      if (onError && e instanceof DataFormatError) onError(e);
      else throw e;
    }
  };
  // Takes every line `text` ends; returns the unfinished rest. A \r at the very end may be
  // the first half of a \r\n split between chunks: it stays in the rest.
  const takeLines = (text: string): string => {
    let start = 0;
    if (text.indexOf('\r') < 0) {
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        take(text.slice(start, end));
        start = end + 1;
      }
      return text.slice(start);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i + 1 === text.length) break;
      take(text.slice(start, i));
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    return text.slice(start);
  };
  // The unfinished line: chunks kept as they came until a line end arrives (joining them at
  // every chunk would copy a long line over and over).
  let pending: string[] = [];
  let pendingLength = 0;
  let first = true;
  // A record that cannot be read (without onError) ends the reading, but the records before
  // it are handed on first, as a line-by-line reader would have.
  let failure: unknown = null;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = chunk;
      if (first && text !== '') {
        if (pending.length === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const endsInCr = pendingLength > 0 && pending[pending.length - 1].endsWith('\r');
      if (!endsInCr && text.indexOf('\n') < 0 && text.indexOf('\r') < 0) {
        pending.push(text);
        pendingLength += text.length;
        if (pendingLength > MAX_LINE_CHARS) throw new DataFormatError(name, line + 1, `the line is longer than ${MAX_LINE_CHARS} characters (is this a text file of records?)`);
        continue;
      }
      if (pending.length > 0) text = pending.join('') + text;
      let rest: string;
      try {
        rest = takeLines(text);
      } catch (e) {
        failure = e;
        break;
      }
      pending = rest === '' ? [] : [rest];
      pendingLength = rest.length;
      while (batch.length >= size) {
        const full = batch.length === size ? batch : batch.slice(0, size);
        batch = batch.length === size ? [] : batch.slice(size);
        yield full;
      }
      if (flushEachChunk && batch.length > 0) {
        // Records as they arrive (readRecords): a slow pipe's first line is not held back.
        const ready = batch;
        batch = [];
        yield ready;
      }
    }
    // The last line, with or without its line end (and a lone \r inside it split, too).
    if (failure === null && pendingLength > 0) {
      try {
        takeLines(`${pending.join('')}\n`);
      } catch (e) {
        failure = e;
      }
    }
  } catch (e) {
    throw readError(name, line, e);
  } finally {
    if (stream !== process.stdin) stream.destroy();
  }
  if (batch.length > 0) yield batch;
  if (failure !== null) throw readError(name, line, failure);
}

/** Records of a CSV/TSV file read by named columns (RecordSchema). */
async function* readColumns(stream: Readable, name: string, schema: RecordSchema, onError?: (error: DataFormatError) => void, lineOffset = 0): AsyncGenerator<DataRecord> {
  const parser = parseCsv({
    delimiter: /\.tsv(\.gz)?$/i.test(name) ? '\t' : ',',
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
    ...(onError ? { skip_records_with_error: true } : {}),
  });
  if (onError) parser.on('skip', (e: Error & { lines?: number }) => onError(new DataFormatError(name, (e.lines ?? 0) + lineOffset, e.message)));
  stream.on('error', (e) => parser.destroy(e));
  stream.pipe(parser);
  const hasHeader = schema.header !== false;
  let header: string[] | null = null;
  let columns: { text: number | null; label: number | null; id: number | null } | null = null;
  let endOfPrevious = 0;
  let emptyBefore = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number; empty_lines: number } }>) {
      // The row's first line: after the previous row and any blank lines skipped since.
      const line = lineOffset + endOfPrevious + 1 + (info.empty_lines - emptyBefore);
      endOfPrevious = info.lines;
      emptyBefore = info.empty_lines;
      if (!columns) {
        if (hasHeader) header = record.map((h) => h.trim());
        const at = (spec: string | undefined) => (spec === undefined ? null : columnIndex(spec, header, record.length, name));
        columns = { text: at(schema.textColumn), label: at(schema.labelColumn), id: at(schema.idColumn) };
        if (hasHeader) continue;
      }
      try {
        yield columnRecord(record, columns, name, line);
      } catch (e) {
        if (onError && e instanceof DataFormatError) onError(e);
        else throw e;
      }
    }
  } catch (e) {
    const error = e as Error & { lines?: number; code?: string };
    // csv-parse's own errors (INVALID_OPENING_QUOTE, CSV_QUOTE_NOT_CLOSED, ...) carry the line
    // they stopped at (csv-parse 5+ names most without the CSV_ prefix).
    if (typeof error.lines === 'number' || error.code?.startsWith('CSV_')) throw new DataFormatError(name, (error.lines ?? endOfPrevious + 1) + lineOffset, error.message);
    throw readError(name, lineOffset + endOfPrevious + 1, e);
  } finally {
    if (stream !== process.stdin) stream.destroy();
  }
}

function columnRecord(cells: string[], c: { text: number | null; label: number | null; id: number | null }, file: string, line: number): DataRecord {
  const cell = (i: number | null) => (i === null ? undefined : cells[i]);
  const label = cell(c.label) === undefined ? undefined : csvLabel(cell(c.label)!.trim());
  const rawId = cell(c.id);
  const withId = rawId === undefined || rawId === '' ? {} : { id: rawId };
  if (c.text !== null) {
    const text = cell(c.text);
    if (text === undefined) throw new DataFormatError(file, line, `the row has ${cells.length} columns; the text is column #${c.text}`);
    return { kind: 'text', text, label, ...withId, line, file };
  }
  const values = cells.filter((_, i) => i !== c.label && i !== c.id);
  if (values.length === 0) throw new DataFormatError(file, line, 'no series values besides the label and id columns');
  return { kind: 'sequence', sequence: values.map((v, t) => [csvValue(v, file, line, t)]), label, ...withId, line, file };
}

/** All records of a file (for training). */
export async function readAllRecords(path: string, format: 'jsonl' | 'csv', schema: RecordSchema = {}): Promise<DataRecord[]> {
  const out: DataRecord[] = [];
  for await (const r of readRecords(path, format, undefined, schema)) out.push(r);
  return out;
}
