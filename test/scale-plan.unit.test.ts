/**
 * The split plan shards and queue chunks share: for every N, the parts are disjoint, cover
 * every record in order, start each at the line its first record has in the whole file, and
 * are balanced; whole files and row groups stay whole.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readRecords } from '../src/data/readers';
import { chunkPieces, describeInputs, shardPieces, type Piece } from '../src/scale/plan';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every record of the pieces, as "file:line:text". */
async function recordsOf(pieces: Piece[], schema = {}): Promise<string[]> {
  const out: string[] = [];
  for (const p of pieces) {
    const range = p.part?.kind === 'bytes' ? p.part : undefined;
    for await (const r of readRecords(p.path, p.format as 'jsonl' | 'csv', undefined, schema, range)) out.push(`${r.file}:${r.line}:${r.kind === 'text' ? r.text : JSON.stringify(r.sequence)}`);
  }
  return out;
}

describe('shards of JSONL and CSV', () => {
  const jsonl = join(dir, 'a.jsonl');
  // Lines of very different lengths, blank lines, a CRLF line, no final newline.
  const lines = Array.from({ length: 400 }, (_, i) => (i % 37 === 5 ? '' : JSON.stringify({ text: 'w'.repeat(1 + ((i * 31) % 200)) + ` ${i}`, label: 'x' })));
  writeFileSync(jsonl, lines.join('\n').replace('\n', '\r\n'));
  const csv = join(dir, 'b.csv');
  writeFileSync(csv, ['id,text,label', ...Array.from({ length: 300 }, (_, i) => `r${i},"${'v'.repeat(1 + (i % 50))}, quoted",y`)].join('\n') + '\n');

  it.each([1, 2, 3, 7, 16, 50])('N=%i: disjoint, complete, in order, with whole-file line numbers', async (n) => {
    const units = await describeInputs([jsonl, csv], 'auto', { textColumn: 'text', labelColumn: 'label' });
    expect(units.map((u) => [u.split, u.header ?? null])).toEqual([['byte-ranges', null], ['byte-ranges', 'id,text,label\n']]);
    const whole = [...(await recordsOf([{ path: jsonl, format: 'jsonl' }])), ...(await recordsOf([{ path: csv, format: 'csv' }], { textColumn: 'text', labelColumn: 'label' }))];
    const sharded: string[] = [];
    for (let k = 0; k < n; k++) {
      const pieces = shardPieces(units, k, n);
      const jsonlPieces = pieces.filter((p) => p.format === 'jsonl');
      const csvPieces = pieces.filter((p) => p.format === 'csv');
      sharded.push(...(await recordsOf(jsonlPieces)), ...(await recordsOf(csvPieces, { textColumn: 'text', labelColumn: 'label' })));
    }
    expect(sharded).toEqual(whole);
  });

  it('balances shards by bytes', async () => {
    const units = await describeInputs([jsonl], 'auto', {});
    const sizes = Array.from({ length: 4 }, (_, k) => shardPieces(units, k, 4).reduce((a, p) => a + (p.part?.kind === 'bytes' ? p.part.end - p.part.start : 0), 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    for (const s of sizes) expect(Math.abs(s - total / 4)).toBeLessThan(300); // within a record or two
  });
});

describe('what stays whole', () => {
  it('a CSV with a newline inside a quoted field, and gzip files, go whole to one shard', async () => {
    const quoted = join(dir, 'q.csv');
    writeFileSync(quoted, 'text,label\n"two\nlines",a\nplain,b\n');
    const gz = join(dir, 'c.jsonl.gz');
    writeFileSync(gz, Buffer.from([0x1f, 0x8b]));
    const units = await describeInputs([quoted, gz], 'auto', { textColumn: 'text', labelColumn: 'label' });
    expect(units.map((u) => u.split)).toEqual(['whole-files', 'whole-files']);
    for (const n of [1, 2, 5]) {
      const all = Array.from({ length: n }, (_, k) => shardPieces(units, k, n)).flat();
      expect(all.map((p) => p.path).sort()).toEqual([gz, quoted].sort());
      expect(all.every((p) => p.part === undefined)).toBe(true);
    }
  });

  it('standard input cannot be split', async () => {
    await expect(describeInputs(['-'], 'auto', {})).rejects.toThrow(/standard input cannot be split/);
  });
});

describe('queue chunks', () => {
  it('are consecutive pieces of about the requested size, covering everything', async () => {
    const file = join(dir, 'chunks.jsonl');
    writeFileSync(file, Array.from({ length: 1000 }, (_, i) => JSON.stringify({ text: `t${i}` })).join('\n') + '\n');
    const units = await describeInputs([file], 'auto', {});
    const chunks = chunkPieces(units, 2000);
    expect(chunks.length).toBeGreaterThanOrEqual(8);
    const lines = await recordsOf(chunks.flat());
    expect(lines).toHaveLength(1000);
    expect(lines[999]).toMatch(/:1000:t999$/);
  });
});
