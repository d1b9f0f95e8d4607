/**
 * Splitting a job's input into parts, the same way for array-job shards (`predict --shard
 * K/N`) and for queue chunks (`queue submit`). Each file is split the way its format's entry
 * in the format table says (src/data/sources/formats.ts): byte ranges aligned to record
 * starts (a CSV part gets the header line in front of it), row groups, or whole files. A
 * byte-range format may still have a file read whole (gzip'd, a CSV with quoted newlines);
 * anything else, an entry without a strategy included, goes whole to one part, so no source
 * is ever handed a part it would ignore and read whole once per shard.
 * Each part knows the line its first record has in the whole file, so output line numbers
 * are those of a single run. The plan depends only on the files and the number of parts:
 * every shard process computes the same plan, and the parts are disjoint and cover every
 * record.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';

import { DataFormatError } from '../util/errors';
import type { RecordSchema } from '../data/record-schema';
import { expandPaths, formatNamed, formatOf, type InputFormat, type RecordFormat, type SourcePart, type SplitStrategy } from '../data/sources';

/** One input file as the planner sees it. */
export interface InputUnit {
  path: string;
  format: RecordFormat;
  /** Bytes (the weight that balances the parts). */
  size: number;
  /** Its format's strategy, or 'whole-files' where the file cannot be split that way. */
  split: SplitStrategy;
  /** Row groups: compressed bytes of each (the weight) and its rows (for --chunk-size). */
  rowGroupBytes?: number[];
  rowGroupRows?: number[];
  /** Byte ranges of a file with a header row: its bytes (the first line), put in front of every later part. */
  header?: string;
}

/** A part of the job: one file, or a part of one. */
export interface Piece {
  path: string;
  format: RecordFormat;
  part?: SourcePart;
  /** The file's name in the output when it differs from `path` (a queue chunk opens the absolute path). */
  name?: string;
}

const WINDOW = 1 << 16;

/** Describes the input files of a job (expandPaths, then each file's format and split). */
export async function describeInputs(args: readonly string[], format: RecordFormat | 'auto', schema: RecordSchema): Promise<InputUnit[]> {
  const units: InputUnit[] = [];
  for (const path of expandPaths(args)) {
    if (path === '-') throw new DataFormatError('stdin', 0, 'standard input cannot be split into shards or chunks: name files');
    units.push(await describeInput(path, formatNamed(formatOf(path, format)), schema));
  }
  return units;
}

/** How one file of format `entry` is split: by the entry's strategy, else whole. */
export async function describeInput(path: string, entry: InputFormat<RecordFormat>, schema: RecordSchema): Promise<InputUnit> {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new DataFormatError(path, 0, 'no such file');
  }
  const unit = { path, format: entry.name, size: stat.size };
  switch (entry.split) {
    case 'row-groups': {
      const groups = await entry.rowGroups(path);
      return { ...unit, split: 'row-groups', rowGroupBytes: groups.map((g) => g.bytes), rowGroupRows: groups.map((g) => g.rows) };
    }
    case 'byte-ranges': {
      const ranges = await entry.byteRanges(path, schema);
      if (ranges) return { ...unit, split: 'byte-ranges', ...(ranges.header !== undefined ? { header: ranges.header } : {}) };
      return { ...unit, split: 'whole-files' };
    }
    default:
      // 'whole-files', and an entry without a strategy: never cut. A directory (an IDX set)
      // weighs 1, as its size in bytes says nothing of its records.
      return { ...unit, size: stat.isDirectory() ? 1 : stat.size, split: 'whole-files' };
  }
}

/** The first record start at or after `offset` (0, `floor`, the byte after a newline, or the size). */
function recordStartAt(fd: number, offset: number, floor: number, size: number): number {
  if (offset <= floor) return floor;
  if (offset >= size) return size;
  // A record starts where the byte before it is a newline.
  let position = offset - 1;
  const buffer = Buffer.alloc(WINDOW);
  while (position < size) {
    const n = readSync(fd, buffer, 0, WINDOW, position);
    if (n === 0) break;
    const nl = buffer.subarray(0, n).indexOf(0x0a);
    if (nl >= 0) return position + nl + 1;
    position += n;
  }
  return size;
}

/** Newlines in [0, end) of a file, counted at disk speed: the line number a range starts at. */
function linesBefore(fd: number, end: number): number {
  const buffer = Buffer.alloc(1 << 20);
  let count = 0;
  for (let position = 0; position < end; ) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
    if (n === 0) break;
    const view = buffer.subarray(0, n);
    for (let at = view.indexOf(0x0a); at >= 0; at = view.indexOf(0x0a, at + 1)) count++;
    position += n;
  }
  return count;
}

/**
 * The pieces of the weight interval [from, to) of the whole input (files laid end to end by
 * size). Byte-split files contribute the records that start inside it; a whole file or a row
 * group goes to the interval holding its midpoint, so each lands in exactly one.
 */
export function piecesBetween(units: InputUnit[], from: number, to: number): Piece[] {
  const pieces: Piece[] = [];
  let offset = 0;
  for (const u of units) {
    const begin = offset;
    offset += u.size;
    if (u.split === 'row-groups') {
      // The file's weight shared among its row groups in proportion to their bytes.
      const groups = u.rowGroupBytes!;
      const scale = u.size / groups.reduce((a, b) => a + b, 0);
      let at = begin;
      let first = -1;
      let last = -1;
      groups.forEach((bytes, g) => {
        const mid = at + (bytes * scale) / 2;
        at += bytes * scale;
        if (mid >= from && mid < to) {
          if (first < 0) first = g;
          last = g + 1;
        }
      });
      if (first >= 0) pieces.push({ path: u.path, format: u.format, part: { kind: 'rowGroups', first, last } });
      continue;
    }
    if (u.split !== 'byte-ranges') {
      // Whole files (and any strategy this planner does not know): to the interval holding the midpoint.
      const mid = begin + u.size / 2;
      if (mid >= from && mid < to) pieces.push({ path: u.path, format: u.format });
      continue;
    }
    // Whole bytes, rounded the same way on both sides of a boundary, so neighbours agree.
    const a = Math.ceil(Math.max(from, begin) - begin);
    const b = Math.ceil(Math.min(to, offset) - begin);
    if (b <= a) continue;
    const fd = openSync(u.path, 'r');
    try {
      const floor = u.header !== undefined ? Buffer.byteLength(u.header) : 0;
      const start = recordStartAt(fd, a, a === 0 ? 0 : floor, u.size);
      const end = b >= u.size ? u.size : recordStartAt(fd, b, floor, u.size);
      if (end <= start) continue;
      // The first part of a headered CSV reads the file's own header; later ones get it put in front.
      const header = u.header !== undefined && start > 0 ? u.header : null;
      pieces.push({ path: u.path, format: u.format, part: { kind: 'bytes', start, end, firstLine: linesBefore(fd, start) + 1, header } });
    } finally {
      closeSync(fd);
    }
  }
  return pieces;
}

/** Shard k of n (0-based): the k-th of n equal intervals of the input's weight. */
export function shardPieces(units: InputUnit[], k: number, n: number): Piece[] {
  const total = units.reduce((a, u) => a + u.size, 0);
  const from = (total * k) / n;
  const to = k === n - 1 ? Infinity : (total * (k + 1)) / n;
  return piecesBetween(units, k === 0 ? -Infinity : from, to);
}

/** Consecutive pieces of about `bytes` each (queue chunks, `--chunk-bytes`), in input order. */
export function chunkPieces(units: InputUnit[], bytes: number): Piece[][] {
  const total = units.reduce((a, u) => a + u.size, 0);
  const count = Math.max(1, Math.ceil(total / bytes));
  const chunks: Piece[][] = [];
  for (let k = 0; k < count; k++) {
    const pieces = shardPieces(units, k, count);
    if (pieces.length > 0) chunks.push(pieces);
  }
  return chunks;
}

/**
 * Chunks of `records` records each (`--chunk-size`): one scan of each byte-split file finds
 * the record starts to cut at (a record is a non-blank line; a headered CSV's header is not
 * one); row groups are gathered until they reach `records` rows; whole files are one
 * chunk each. A chunk never spans two files.
 */
export async function chunkPiecesByRecords(units: InputUnit[], records: number): Promise<Piece[][]> {
  const chunks: Piece[][] = [];
  for (const u of units) {
    if (u.split === 'row-groups') {
      const rows = u.rowGroupRows!;
      let first = 0;
      let count = 0;
      rows.forEach((n, g) => {
        count += n;
        if (count >= records || g === rows.length - 1) {
          chunks.push([{ path: u.path, format: u.format, part: { kind: 'rowGroups', first, last: g + 1 } }]);
          first = g + 1;
          count = 0;
        }
      });
    } else if (u.split === 'byte-ranges') {
      for (const range of await recordRanges(u, records)) chunks.push([{ path: u.path, format: u.format, part: { kind: 'bytes', ...range } }]);
    } else {
      chunks.push([{ path: u.path, format: u.format }]);
    }
  }
  return chunks;
}

/** Byte ranges of `records` non-blank lines each, with the line each starts at. */
async function recordRanges(u: InputUnit, records: number): Promise<{ start: number; end: number; firstLine: number; header: string | null }[]> {
  const headerBytes = u.header !== undefined ? Buffer.byteLength(u.header) : 0;
  const out: { start: number; end: number; firstLine: number; header: string | null }[] = [];
  const file = await open(u.path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    let position = 0; // file offset of buffer[0]
    let line = 1; // the line that starts at lineStart
    let lineStart = 0;
    let lineBlank = true;
    let chunkStart = headerBytes;
    let chunkFirstLine = headerBytes > 0 ? 2 : 1;
    let inChunk = 0;
    const close = (end: number) => {
      if (end > chunkStart) out.push({ start: chunkStart, end, firstLine: chunkFirstLine, header: u.header !== undefined && chunkStart > 0 ? u.header : null });
    };
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      for (let i = 0; i < bytesRead; i++) {
        const b = buffer[i];
        if (b === 0x0a) {
          const end = position + i + 1;
          if (lineStart >= headerBytes && !lineBlank) inChunk++;
          line++;
          lineStart = end;
          lineBlank = true;
          if (inChunk === records) {
            close(end);
            chunkStart = end;
            chunkFirstLine = line;
            inChunk = 0;
          }
        } else if (b !== 0x0d && b !== 0x20 && b !== 0x09) {
          lineBlank = false;
        }
      }
      position += bytesRead;
    }
    close(position);
  } finally {
    await file.close();
  }
  return out;
}
