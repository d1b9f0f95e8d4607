/**
 * The format table (src/data/sources/formats.ts) is the one list of input formats: every
 * entry has a split strategy, the shard planner follows it for each (a format split by whole
 * files is never cut, an entry without a strategy is read whole), openSource refuses a part
 * the format is not split into, and the `--format` choices and help texts come from it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { FORMAT_FLAG, inputFormatsText } from '../src/cli/common-flags';
import { detectFormat, expandPaths, FORMATS, openSource, type InputFormat, type RecordFormat } from '../src/data/sources';
import { chunkPieces, chunkPiecesByRecords, describeInput, describeInputs, shardPieces } from '../src/scale/plan';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of 200 short JSONL lines: any byte-range planner could cut it anywhere. */
const lines = join(dir, 'lines.jsonl');
writeFileSync(lines, Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `t${i}`, label: 'a' })).join('\n') + '\n');

/** Every part the plan gives N shards and queue chunks of its units. */
async function allParts(units: Awaited<ReturnType<typeof describeInputs>>) {
  const shards = [1, 2, 5].flatMap((n) => Array.from({ length: n }, (_, k) => shardPieces(units, k, n)).flat());
  return [...shards, ...chunkPieces(units, 100).flat(), ...(await chunkPiecesByRecords(units, 7)).flat()];
}

describe('the format table', () => {
  it('names each format once, each with a split strategy and a description', () => {
    const names = FORMATS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of FORMATS) {
      expect(['byte-ranges', 'whole-files', 'row-groups'], f.name).toContain(f.split);
      expect(f.description, f.name).not.toBe('');
    }
  });

  it('the --format choices are auto and the table names; the help texts name every format', () => {
    expect(typeof FORMAT_FLAG.kind === 'object' && FORMAT_FLAG.kind.choices).toEqual(['auto', ...FORMATS.map((f) => f.name)]);
    for (const f of FORMATS) {
      expect(FORMAT_FLAG.help).toContain(f.name);
      expect(inputFormatsText()).toContain(f.description);
    }
    // The wording itself is pinned by docs/CLI.md (test/docs.unit.test.ts).
    expect(inputFormatsText({ stdin: true })).toMatch(/, or '-' for stdin \(JSONL\)$/);
  });

  it('detection and directory listing follow the table, as before', () => {
    mkdirSync(join(dir, 'set'));
    writeFileSync(join(dir, 'set', 'train-images-idx3-ubyte'), '');
    const cases: [string, RecordFormat][] = [
      [join(dir, 'set'), 'idx'],
      ['x.csv', 'csv'],
      ['x.TSV.gz', 'csv'],
      ['x.parquet', 'parquet'],
      ['x.jsonl.gz', 'jsonl'],
      ['x.txt', 'jsonl'],
    ];
    for (const [path, format] of cases) expect(detectFormat(path), path).toBe(format);
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    for (const f of ['a.jsonl', 'b.ndjson.gz', 'c.csv', 'd.TSV', 'e.parquet', 'f.parquet.gz', 'g.txt', 'h.csv.bz2']) writeFileSync(join(mixed, f), '');
    expect(expandPaths([mixed]).map((p) => p.slice(mixed.length + 1))).toEqual(['a.jsonl', 'b.ndjson.gz', 'c.csv', 'd.TSV', 'e.parquet']);
    expect(expandPaths([join(dir, 'set')])).toEqual([join(dir, 'set')]);
  });
});

describe('the planner follows each entry', () => {
  // Each real entry, with its file reading stubbed so that any file will do: the planner's
  // decision alone, for every format the table will ever hold.
  it.each(FORMATS.map((f) => [f.name, f] as const))('%s', async (_, real) => {
    const entry = { ...real, byteRanges: async () => ({}), rowGroups: async () => [{ bytes: 500, rows: 100 }, { bytes: 500, rows: 100 }] } as InputFormat<RecordFormat>;
    const unit = await describeInput(lines, entry, {});
    expect(unit.split).toBe(real.split);
    const kinds = new Set((await allParts([unit])).map((p) => p.part?.kind ?? 'whole'));
    expect([...kinds]).toEqual([{ 'byte-ranges': 'bytes', 'row-groups': 'rowGroups', 'whole-files': 'whole' }[real.split]]);
  });

  it('an entry without a strategy, or an unknown one, is split by whole files', async () => {
    for (const split of [undefined, 'lines']) {
      const entry = { ...FORMATS[0], split } as unknown as InputFormat<RecordFormat>;
      const unit = await describeInput(lines, entry, {});
      expect(unit.split).toBe('whole-files');
      const parts = await allParts([unit]);
      expect(parts.every((p) => p.part === undefined)).toBe(true);
      expect(shardPieces([unit], 0, 3).concat(shardPieces([unit], 1, 3), shardPieces([unit], 2, 3))).toHaveLength(1);
    }
  });

  it('real files: JSONL and CSV by byte ranges, an IDX set whole, Parquet by row groups', async () => {
    const csv = join(dir, 'b.csv');
    writeFileSync(csv, 'text,label\nx,a\ny,b\n');
    mkdirSync(join(dir, 'idx'));
    writeFileSync(join(dir, 'idx', 't10k-images-idx3-ubyte'), '');
    const pq = join(dir, 'd.parquet');
    const { parquetWriteFile } = await import('hyparquet-writer');
    parquetWriteFile({ filename: pq, columnData: [{ name: 'text', data: ['a', 'b', 'c', 'd'], type: 'STRING' }], rowGroupSize: 2 });
    const units = await describeInputs([lines, csv, join(dir, 'idx'), pq], 'auto', {});
    expect(units.map((u) => [u.format, u.split])).toEqual([
      ['jsonl', 'byte-ranges'],
      ['csv', 'byte-ranges'],
      ['idx', 'whole-files'],
      ['parquet', 'row-groups'],
    ]);
    expect(units[3].rowGroupRows).toEqual([2, 2]);
    for (const u of units) expect(u.split, u.format).toBe(FORMATS.find((f) => f.name === u.format)!.split);
  });
});

describe('openSource', () => {
  it('refuses a part of a kind the format is not split into (it would read the whole file)', () => {
    const rows = { kind: 'rowGroups', first: 0, last: 1 } as const;
    const bytes = { kind: 'bytes', start: 0, end: 10, firstLine: 1, header: null } as const;
    expect(() => openSource(lines, 'jsonl', {}, rows)).toThrow(/cannot read a rowGroups part: jsonl files are split by byte-ranges/);
    expect(() => openSource(join(dir, 'd.parquet'), 'parquet', {}, bytes)).toThrow(/cannot read a bytes part: parquet files are split by row-groups/);
    expect(() => openSource(join(dir, 'set'), 'idx', {}, bytes)).toThrow(/cannot read a bytes part: idx files are split by whole-files/);
    expect(openSource(lines, 'auto', {}, bytes).name).toBe(lines);
  });
});
