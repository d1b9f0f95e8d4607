/**
 * Where an example's parts sit in a record: the JSONL keys or CSV columns of its text, label
 * and id. The CLI's `train` saves the schema it used in the model, and `evaluate` and
 * `predict` read with it unless their own flags say otherwise.
 *
 * A CSV column is a header name, or `#N` for the N-th column (0-based). Naming any column
 * makes a CSV file "headered" (its first row names the columns) unless `header` is false;
 * naming none keeps the UCR numeric format (label, then the series).
 */
import { DataFormatError, invalidType } from '../util/errors';

export interface RecordSchema {
  /** JSONL key of the text. Default 'text'. */
  textField?: string;
  /** JSONL key of the label. Default 'label'. */
  labelField?: string;
  /** JSONL key of an id that `predict` copies into its output. Default: none. */
  idField?: string;
  /** CSV column of the text. */
  textColumn?: string;
  /** CSV column of the label. */
  labelColumn?: string;
  /** CSV column of an id that `predict` copies into its output. */
  idColumn?: string;
  /** Whether a CSV file with named columns starts with a header row. Default true. */
  header?: boolean;
}

const KEYS = ['textField', 'labelField', 'idField', 'textColumn', 'labelColumn', 'idColumn'] as const;

/** Checks a schema (from flags or a model file): non-empty strings and a boolean header. */
export function checkRecordSchema(value: unknown, name = 'schema'): RecordSchema {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidType(name, 'an object', value);
  const v = value as Record<string, unknown>;
  const out: RecordSchema = {};
  for (const key of KEYS) {
    if (v[key] === undefined) continue;
    if (typeof v[key] !== 'string' || v[key] === '') throw invalidType(`${name}.${key}`, 'a non-empty string', v[key]);
    out[key] = v[key] as string;
  }
  if (v.header !== undefined) {
    if (typeof v.header !== 'boolean') throw invalidType(`${name}.header`, 'a boolean', v.header);
    out.header = v.header;
  }
  return out;
}

/** `saved` with every key `given` sets replaced. */
export function mergeSchemas(saved: RecordSchema, given: RecordSchema): RecordSchema {
  return { ...saved, ...given };
}

/** Whether CSV files are read by named columns (else as UCR numeric rows). */
export function usesColumns(schema: RecordSchema): boolean {
  return schema.textColumn !== undefined || schema.labelColumn !== undefined || schema.idColumn !== undefined;
}

/**
 * The index of column `spec` (a header name or `#N`); throws a DataFormatError (a runtime
 * error: the file lacks it) listing the header when there is no such column. `header` is
 * null for a file without a header row.
 */
export function columnIndex(spec: string, header: string[] | null, width: number, file: string): number {
  const numbered = /^#(\d+)$/.exec(spec);
  if (numbered) {
    const n = Number(numbered[1]);
    if (n >= width) throw new DataFormatError(file, 1, `column ${spec} is beyond the ${width} columns of the first row`);
    return n;
  }
  if (!header) throw new DataFormatError(file, 1, `column "${spec}" needs a header row; without one (--no-header) name columns as #N`);
  const at = header.indexOf(spec);
  if (at < 0) throw new DataFormatError(file, 1, `no column "${spec}"; the header has: ${header.map((h) => JSON.stringify(h)).join(', ')}`);
  return at;
}
