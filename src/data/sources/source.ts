/**
 * The one interface every input format implements, and nothing else: the format files
 * (records.ts, idx.ts, parquet.ts) import only this and their parser, and the table
 * (formats.ts) imports them, so no import runs in a circle.
 *
 * A source yields chunks of examples in file order, in one of two forms:
 *   - records (JSONL, CSV, Parquet): raw text or sequences, which the model's preprocessing encodes;
 *   - typed (IDX): numeric sequences with numeric labels, ready for the model as they are.
 * Every example carries where it came from (`line` for records, `index` for typed rows),
 * which `predict` writes beside its output.
 */
import type { DataFormatError } from '../../util/errors';
import type { ByteRange, DataRecord } from '../readers';
import type { RecordSchema } from '../record-schema';
import type { TypedSequences } from '../sequence-set';

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

/** Row groups [first, last) of a Parquet file (or of any format split by row groups). */
export interface RowGroupRange {
  first: number;
  last: number;
}

/**
 * Part of one file, for sharded and queued jobs (src/scale): a byte range aligned to record
 * starts (formats split by byte ranges), or row groups (formats split by row groups).
 */
export type SourcePart = ({ kind: 'bytes' } & ByteRange) | ({ kind: 'rowGroups' } & RowGroupRange);

/**
 * How a format's files are shared among shards and queue chunks (src/scale/plan.ts reads it):
 *   - 'byte-ranges': records are lines (a blank line holds none), so a file can be cut at
 *     any line start; the source reads a `ByteRange` (with the header line, if any, in front);
 *   - 'row-groups': the file is a list of independently readable row groups;
 *   - 'whole-files': each file goes whole to one part. The safe choice: a format whose
 *     source cannot read a part must say this, or every shard would read the whole file.
 */
export type SplitStrategy = 'byte-ranges' | 'whole-files' | 'row-groups';

/** One row group as the planner weighs it: compressed bytes (at least 1) and rows. */
export interface RowGroup {
  bytes: number;
  rows: number;
}

/**
 * How `--format auto` and directory arguments recognise a format's inputs:
 *   - files by their ending (lower case, one extension, e.g. '.csv'); a `.gz` after it is
 *     looked through when detecting, and `gzip` says whether the format reads such files
 *     (then a directory argument lists them too);
 *   - or a directory that is one input (IDX: a set of files); `holds` tells such a directory
 *     from a directory of files, which a directory argument stands for.
 */
export type FormatInputs = { files: readonly string[]; gzip: boolean } | { directory: true; holds(dir: string): boolean };

interface FormatBase<Name extends string> {
  /** The `--format` choice. */
  readonly name: Name;
  /** A noun phrase for the help texts: 'JSONL', 'an IDX directory', ... */
  readonly description: string;
  readonly inputs: FormatInputs;
}

/**
 * One entry of the format table (formats.ts). `split` is required, and the way a part
 * reaches `open` follows it, so a format cannot be cut in a way its source does not read.
 * `open` gets the path to read and `name`, the path its records name (a queue worker opens
 * the absolute path of a file the job named relative to where it was submitted).
 */
export type InputFormat<Name extends string = string> =
  | (FormatBase<Name> & {
      readonly split: 'whole-files';
      open(path: string, options: SourceOptions, name: string): DataSource;
    })
  | (FormatBase<Name> & {
      readonly split: 'byte-ranges';
      open(path: string, options: SourceOptions, name: string, range?: ByteRange): DataSource;
      /** Whether this file can be cut at line starts: null to read it whole (gzip, ...), else
       * the header line to put in front of every part after the first (none: no header). */
      byteRanges(path: string, schema: RecordSchema): Promise<{ header?: string } | null>;
    })
  | (FormatBase<Name> & {
      readonly split: 'row-groups';
      open(path: string, options: SourceOptions, name: string, groups?: RowGroupRange): DataSource;
      /** The file's row groups, in order, from its metadata. */
      rowGroups(path: string): Promise<RowGroup[]>;
    });
