/**
 * Streaming readers for the record formats documented in docs/API.md (the sources built
 * on them: src/sources.ts). Records are read line by line, so files larger than memory can
 * be evaluated or predicted; a malformed record throws a
 * DataFormatError naming the file and line.
 *
 * - JSONL text:   {"text": "...", "label": "fr"}            (label string or integer)
 * - JSONL dense:  {"sequence": [[f1..fF], ...], "label": 3}  (null or "NaN" = missing value)
 * - CSV (UCR):    label,v1,v2,...  one univariate series per line (comma or tab separated;
 *                 empty, NaN or ? = missing value)
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { DataFormatError } from './errors';

export interface TextRecord {
  kind: 'text';
  text: string;
  label?: string | number;
  line: number;
  file?: string;
}

export interface SequenceRecord {
  kind: 'sequence';
  /** steps x features; NaN marks a missing value. */
  sequence: number[][];
  label?: string | number;
  line: number;
  file?: string;
}

export type DataRecord = TextRecord | SequenceRecord;

function checkLabel(file: string, line: number, label: unknown): string | number | undefined {
  if (label === undefined || label === null) return undefined;
  if (typeof label === 'string' && label !== '') return label;
  if (typeof label === 'number' && Number.isInteger(label) && label >= 0) return label;
  throw new DataFormatError(file, line, `"label" must be a non-empty string or a non-negative integer, got ${JSON.stringify(label)}`);
}

/** Parses one JSONL line into a record. */
export function parseJsonlRecord(text: string, file: string, line: number): DataRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DataFormatError(file, line, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DataFormatError(file, line, 'expected a JSON object with "text" or "sequence"');
  const v = value as Record<string, unknown>;
  const label = checkLabel(file, line, v.label);
  if (typeof v.text === 'string') return { kind: 'text', text: v.text, label, line, file };
  if (Array.isArray(v.sequence)) {
    const sequence = v.sequence.map((step, t) => {
      const values = Array.isArray(step) ? step : [step];
      return values.map((x, f) => {
        if (typeof x === 'number' && Number.isFinite(x)) return x;
        if (x === null || x === 'NaN') return NaN;
        throw new DataFormatError(file, line, `sequence[${t}][${f}] must be a finite number or null (missing), got ${JSON.stringify(x)}`);
      });
    });
    return { kind: 'sequence', sequence, label, line, file };
  }
  throw new DataFormatError(file, line, 'expected a "text" string or a "sequence" array');
}

/** Parses one UCR-style CSV line: label, then the series. */
export function parseCsvRecord(text: string, file: string, line: number): SequenceRecord {
  const cells = text.split(text.includes('\t') ? '\t' : ',').map((c) => c.trim());
  if (cells.length < 2) throw new DataFormatError(file, line, 'expected a label and at least one value');
  const rawLabel = cells[0];
  if (rawLabel === '') throw new DataFormatError(file, line, 'empty label');
  const numeric = Number(rawLabel);
  const label = Number.isInteger(numeric) && numeric >= 0 && /^\d+(\.0*)?$/.test(rawLabel) ? numeric : rawLabel;
  const sequence = cells.slice(1).map((c, t) => {
    if (c === '' || c === 'NaN' || c === 'nan' || c === '?') return [NaN];
    const x = Number(c);
    if (!Number.isFinite(x)) throw new DataFormatError(file, line, `value ${t + 1} is not a number: ${JSON.stringify(c)}`);
    return [x];
  });
  return { kind: 'sequence', sequence, label, line, file };
}

/** Yields the records of a JSONL or CSV file in order, one line at a time. Blank lines are
 * skipped. With `onError`, a malformed record is passed to it and skipped instead of thrown. */
export async function* readRecords(
  path: string,
  format: 'jsonl' | 'csv',
  onError?: (error: DataFormatError) => void,
): AsyncGenerator<DataRecord> {
  const stream = path === '-' ? process.stdin : createReadStream(path, { encoding: 'utf8' });
  const name = path === '-' ? 'stdin' : path;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      try {
        yield format === 'csv' ? parseCsvRecord(text, name, line) : parseJsonlRecord(text, name, line);
      } catch (e) {
        if (onError && e instanceof DataFormatError) onError(e);
        else throw e;
      }
    }
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataFormatError(name, line, `cannot read (${code ?? (e as Error).message})`);
  } finally {
    lines.close();
    if (stream !== process.stdin) (stream as ReturnType<typeof createReadStream>).destroy();
  }
}

/** All records of a file (for training). */
export async function readAllRecords(path: string, format: 'jsonl' | 'csv'): Promise<DataRecord[]> {
  const out: DataRecord[] = [];
  for await (const r of readRecords(path, format)) out.push(r);
  return out;
}
