/**
 * JSONL and CSV/TSV: records one per line (a CSV with named columns may hold newlines in
 * quoted fields), optionally gzip'd, parsed by ../readers.ts. Both are split among shards by
 * byte ranges, except a file the ranges would misread, which is read whole (byteRanges).
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

import { DataFormatError } from '../../util/errors';
import { readRecordBatches, type ByteRange } from '../readers';
import { usesColumns, type RecordSchema } from '../record-schema';
import type { DataSource, InputFormat, SourceChunk, SourceOptions } from './source';

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

function openRecords(format: 'jsonl' | 'csv', path: string, options: SourceOptions, name: string, range?: ByteRange): DataSource {
  if (path !== '-' && !existsSync(path)) throw new DataFormatError(name, 0, 'no such file');
  return new RecordSource(path === '-' ? 'stdin' : name, path, format, options.schema ?? {}, range);
}

/**
 * Whether a file can be cut at line starts, and the header line later parts need. Read whole
 * instead: a gzip'd file (no byte of it is a line start), a CSV with a newline inside a quoted
 * field (a line start may be inside a record), a file with a lone carriage return, and a
 * headered CSV whose first line is blank (see below).
 */
async function recordByteRanges(format: 'jsonl' | 'csv', path: string, schema: RecordSchema): Promise<{ header?: string } | null> {
  if (/\.gz$/i.test(path)) return null;
  if ((format === 'csv' && (await hasQuotedNewline(path))) || (await hasLoneCarriageReturn(path))) return null;
  const header = format === 'csv' && usesColumns(schema) && schema.header !== false ? firstLine(path) : undefined;
  if (header === undefined) return {};
  // The CSV parser skips blank lines, so a blank first line is not the header: such a file
  // is read whole rather than given the wrong header in front of its later parts.
  return header.replace(/^\ufeff/, '').trim() === '' ? null : { header };
}

/** Whether a CSV file has a newline inside a quoted field (then it is split by whole files). */
async function hasQuotedNewline(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    let quoted = false;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return false;
      // A file without quotes (most numeric CSV) is decided at indexOf speed.
      if (!quoted && buffer.subarray(0, bytesRead).indexOf(0x22) < 0) continue;
      for (let i = 0; i < bytesRead; i++) {
        const b = buffer[i];
        if (b === 0x22) quoted = !quoted; // "" inside a field toggles twice
        else if (b === 0x0a && quoted) return true;
      }
    }
  } finally {
    await file.close();
  }
}

/**
 * Whether a file has a carriage return not followed by a line feed. The readers end a line
 * there (as readline does); the byte ranges count line feeds only, so such a file is split by
 * whole files, where both agree.
 */
async function hasLoneCarriageReturn(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    let position = 0;
    for (;;) {
      // One byte of overlap, so a \r\n across two reads is seen whole.
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return false;
      const view = buffer.subarray(0, bytesRead);
      for (let at = view.indexOf(0x0d); at >= 0; at = view.indexOf(0x0d, at + 1)) {
        if (at + 1 < bytesRead) {
          if (view[at + 1] !== 0x0a) return true;
        } else if (position + bytesRead < (await file.stat()).size) {
          break; // decided by the next read, which starts at this byte
        } else {
          return true; // the file's last byte
        }
      }
      if (bytesRead < buffer.length) return false;
      position += bytesRead - 1;
    }
  } finally {
    await file.close();
  }
}

/** The first line of a file, newline included. */
function firstLine(path: string): string {
  const WINDOW = 1 << 16;
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let position = 0;
    for (;;) {
      const buffer = Buffer.alloc(WINDOW);
      const n = readSync(fd, buffer, 0, WINDOW, position);
      if (n === 0) break;
      const nl = buffer.subarray(0, n).indexOf(0x0a);
      if (nl >= 0) {
        chunks.push(buffer.subarray(0, nl + 1));
        break;
      }
      chunks.push(buffer.subarray(0, n));
      position += n;
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export const JSONL: InputFormat<'jsonl'> = {
  name: 'jsonl',
  description: 'JSONL',
  inputs: { files: ['.jsonl', '.json', '.ndjson'], gzip: true },
  split: 'byte-ranges',
  open: (path, options, name, range) => openRecords('jsonl', path, options, name, range),
  byteRanges: (path, schema) => recordByteRanges('jsonl', path, schema),
};

/** CSV and TSV are one format: the reader takes tabs from a .tsv name, or from a UCR line holding one. */
export const CSV: InputFormat<'csv'> = {
  name: 'csv',
  description: 'CSV/TSV',
  inputs: { files: ['.csv', '.tsv'], gzip: true },
  split: 'byte-ranges',
  open: (path, options, name, range) => openRecords('csv', path, options, name, range),
  byteRanges: (path, schema) => recordByteRanges('csv', path, schema),
};
