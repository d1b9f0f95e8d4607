/**
 * The files batch jobs really have, through the CLI as a user runs it: gzip'd JSONL and CSV,
 * CSV/TSV with a header and quoted fields (commas, quotes, newlines), JSONL with other keys,
 * ids passed through to predict's output, gzip'd output written atomically, the record
 * settings saved in the model, and every bad-input path: file:line errors, --on-error skip,
 * exit 1 at run time and 2 for usage, no partial output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const quote = (cell: string) => (/[",\n\t]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

/** Reviews whose texts hold commas, quotes and (every third) a newline; label by a letter. */
function reviews(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const good = i % 2 === 0;
    const text = `${good ? 'aaa, "a" aa' : 'bbb, "b" bb'}${i % 3 === 0 ? '\nmore' : ''} ${'c'.repeat(i % 5)}`;
    return { id: `r-${i}`, text, label: good ? 'good' : 'bad' };
  });
}

beforeAll(() => {
  const rows = reviews(240);
  writeFileSync(join(dir, 'reviews.csv'), ['uid,review,sentiment', ...rows.map((r) => [r.id, r.text, r.label].map(quote).join(','))].join('\n') + '\n');
  writeFileSync(join(dir, 'reviews.tsv'), ['uid\treview\tsentiment', ...rows.map((r) => [r.id, r.text, r.label].map(quote).join('\t'))].join('\n') + '\n');
  writeFileSync(join(dir, 'noheader.csv'), rows.map((r) => [r.label, r.text, r.id].map(quote).join(',')).join('\n') + '\n');
  const jsonl = rows.map((r) => JSON.stringify({ review: r.text, sentiment: r.label, key: r.id })).join('\n') + '\n';
  writeFileSync(join(dir, 'reviews.jsonl'), jsonl);
  writeFileSync(join(dir, 'reviews.jsonl.gz'), gzipSync(jsonl));
  writeFileSync(join(dir, 'reviews.csv.gz'), gzipSync(readFileSync(join(dir, 'reviews.csv'))));
  // Numeric series with a header: label in the middle, the other columns are the series.
  const series = ['a,kind,b,c,d', ...Array.from({ length: 120 }, (_, i) => (i % 2 ? `1,up,2,3,4` : `4,down,3,2,1`))];
  writeFileSync(join(dir, 'series.csv'), series.join('\n') + '\n');
});

describe('headered CSV/TSV with quoted fields', () => {
  it('trains by column names, saves them, and evaluate/predict reuse them; ids and multi-line rows come through', () => {
    const train = run(['train', '--data', 'reviews.csv', '--text-column', 'review', '--label-column', 'sentiment', '--units', '12', '--epochs', '3', '--lr', '0.01', '--output', 'csv.rnn', '--json']);
    expect(train.code, train.stderr).toBe(0);
    const info = JSON.parse(run(['info', 'csv.rnn', '--json']).stdout);
    expect(info.labels).toEqual(['bad', 'good']);
    const evaluated = run(['evaluate', '--model', 'csv.rnn', '--data', 'reviews.csv', '--json']); // no column flags: saved ones
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).accuracy).toBeGreaterThan(0.9);
    const predicted = run(['predict', '--model', 'csv.rnn', '--data', 'reviews.csv', '--id-column', 'uid']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const out = lines(predicted.stdout);
    expect(out).toHaveLength(240);
    expect(out.slice(0, 3).map((o) => [o.id, o.line])).toEqual([['r-0', 2], ['r-1', 4], ['r-2', 5]]); // r-0 spans lines 2-3
    expect(out[0].label).toBe('good');
  });

  it('TSV, gzip, and #N columns without a header give the same predictions', () => {
    const base = lines(run(['predict', '--model', 'csv.rnn', '--data', 'reviews.csv']).stdout).map((o) => o.probabilities);
    const tsv = run(['predict', '--model', 'csv.rnn', '--data', 'reviews.tsv']);
    expect(tsv.code, tsv.stderr).toBe(0);
    expect(lines(tsv.stdout).map((o) => o.probabilities)).toEqual(base);
    const gz = run(['predict', '--model', 'csv.rnn', '--data', 'reviews.csv.gz']);
    expect(lines(gz.stdout).map((o) => o.probabilities)).toEqual(base);
    const numbered = run(['predict', '--model', 'csv.rnn', '--data', 'noheader.csv', '--no-header', '--text-column', '#1', '--label-column', '#0', '--id-column', '#2']);
    expect(numbered.code, numbered.stderr).toBe(0);
    const rows = lines(numbered.stdout);
    expect(rows.map((o) => o.probabilities)).toEqual(base);
    expect(rows[0]).toMatchObject({ id: 'r-0', line: 1 });
  });

  it('a label column without a text column reads the other columns as a numeric series', () => {
    const r = run(['train', '--data', 'series.csv', '--label-column', 'kind', '--units', '8', '--epochs', '2', '--out', 'series.rnn', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(run(['info', 'series.rnn', '--json']).stdout).input).toMatchObject({ type: 'dense', features: 1 });
    expect(lines(run(['predict', '--model', 'series.rnn', '--data', 'series.csv']).stdout)).toHaveLength(120);
  });

  it('an unknown column is a runtime error that lists the header; a malformed row is file:line, or skipped', () => {
    const unknown = run(['train', '--data', 'reviews.csv', '--text-column', 'body', '--out', 'x.rnn']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/reviews\.csv:1: no column "body"; the header has: "uid", "review", "sentiment"/)]);
    writeFileSync(join(dir, 'broken.csv'), 'uid,review,sentiment\nr1,"fine",good\nr2,"never closed,bad\n');
    const broken = run(['predict', '--model', 'csv.rnn', '--data', 'broken.csv', '--output', 'broken.jsonl']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken\.csv:\d+: .*[Qq]uote/);
    expect(existsSync(join(dir, 'broken.jsonl'))).toBe(false);
    // A row too short to hold the text column is that row's error; the rows after it go on.
    writeFileSync(join(dir, 'mixed.csv'), 'uid,review,sentiment\nr1,aaa,good\nr2\nr3,bbb,bad\n');
    const skipped = run(['predict', '--model', 'csv.rnn', '--data', 'mixed.csv', '--on-error', 'skip']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(lines(skipped.stdout).map((o) => o.line)).toEqual([2, 4]);
    expect(skipped.stderr).toMatch(/skipped mixed\.csv:3: the row has 1 columns; the text is column #1/);
  });
});

describe('gzip and JSONL keys', () => {
  it('trains from .jsonl.gz with other keys, saves them; predict writes .jsonl.gz atomically with ids', () => {
    const train = run(['train', '--data', 'reviews.jsonl.gz', '--text-field', 'review', '--label-field', 'sentiment', '--units', '12', '--epochs', '3', '--lr', '0.01', '--out', 'jsonl.rnn', '--json']);
    expect(train.code, train.stderr).toBe(0);
    const evaluated = run(['evaluate', '--model', 'jsonl.rnn', '--data', 'reviews.jsonl', '--json']);
    expect(JSON.parse(evaluated.stdout).accuracy).toBeGreaterThan(0.9);
    const predicted = run(['predict', '--model', 'jsonl.rnn', '--input', 'reviews.jsonl.gz', '--id-field', 'key', '--output', 'out.jsonl.gz']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const out = lines(gunzipSync(readFileSync(join(dir, 'out.jsonl.gz'))).toString('utf8'));
    expect(out).toHaveLength(240);
    expect(out[5]).toMatchObject({ id: 'r-5', line: 6 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('corrupt gzip and records without the named key: one stderr line, exit 1, no output file', () => {
    writeFileSync(join(dir, 'corrupt.jsonl.gz'), Buffer.concat([gzipSync('{"review":"aaa"}\n').subarray(0, 12), Buffer.from('not gzip at all')]));
    const corrupt = run(['predict', '--model', 'jsonl.rnn', '--data', 'corrupt.jsonl.gz', '--output', 'c.jsonl.gz']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    expect(corrupt.stderr).toMatch(/corrupt\.jsonl\.gz:\d+: (not valid gzip data|cannot read)/);
    expect(existsSync(join(dir, 'c.jsonl.gz'))).toBe(false);
    writeFileSync(join(dir, 'wrongkeys.jsonl'), '{"review": "aaa"}\n{"text": "bbb"}\n{"review": 3}\n');
    const wrong = run(['predict', '--model', 'jsonl.rnn', '--data', 'wrongkeys.jsonl', '--on-error', 'skip']);
    expect(wrong.code, wrong.stderr).toBe(0);
    expect(lines(wrong.stdout).map((o) => o.line)).toEqual([1]);
    expect(wrong.stderr).toMatch(/wrongkeys\.jsonl:2: expected a "review" string/);
    expect(wrong.stderr).toMatch(/wrongkeys\.jsonl:3: "review" must be a string, got 3/);
  });
});

describe('Parquet', () => {
  it('text, label and id columns, several row groups; the saved columns are reused; a list column is a series', async () => {
    const { parquetWriteFile } = await import('hyparquet-writer');
    const rows = reviews(240);
    parquetWriteFile({
      filename: join(dir, 'reviews.parquet'),
      columnData: [
        { name: 'uid', data: rows.map((r) => r.id), type: 'STRING' },
        { name: 'review', data: rows.map((r) => r.text), type: 'STRING' },
        { name: 'sentiment', data: rows.map((r) => r.label), type: 'STRING' },
      ],
      rowGroupSize: 100,
    });
    const base = lines(run(['predict', '--model', 'csv.rnn', '--data', 'reviews.csv']).stdout).map((o) => o.probabilities);
    // csv.rnn saved review/sentiment as its columns: the Parquet file is read with them.
    const r = run(['predict', '--model', 'csv.rnn', '--data', 'reviews.parquet', '--id-column', 'uid']);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out.map((o) => o.probabilities)).toEqual(base);
    expect(out[150]).toMatchObject({ id: 'r-150', row: 151 });
    expect(out[150].line).toBeUndefined();
    const evaluated = run(['evaluate', '--model', 'csv.rnn', '--data', 'reviews.parquet', '--json']);
    expect(JSON.parse(evaluated.stdout).count).toBe(240);
    parquetWriteFile({
      filename: join(dir, 'series.parquet'),
      columnData: [
        { name: 'kind', data: Array.from({ length: 60 }, (_, i) => (i % 2 ? 'up' : 'down')), type: 'STRING' },
        { name: 'values', data: Array.from({ length: 60 }, (_, i) => (i % 2 ? [1, 2, 3, 4] : [4, 3, 2, 1])) },
      ],
    });
    const series = run(['train', '--data', 'series.parquet', '--label-column', 'kind', '--units', '8', '--epochs', '2', '--out', 'pq-series.rnn', '--json']);
    expect(series.code, series.stderr).toBe(0);
    expect(lines(run(['predict', '--model', 'pq-series.rnn', '--data', 'series.parquet']).stdout)).toHaveLength(60);
  });

  it('a file that is not Parquet, or a missing column: one stderr line, exit 1', () => {
    writeFileSync(join(dir, 'fake.parquet'), 'PAR1 not really');
    const fake = run(['predict', '--model', 'csv.rnn', '--data', 'fake.parquet']);
    expect(fake.code).toBe(1);
    expect(fake.stderr.trim().split('\n')).toEqual([expect.stringMatching(/fake\.parquet:0: not a readable Parquet file/)]);
    const missing = run(['predict', '--model', 'csv.rnn', '--data', 'reviews.parquet', '--text-column', 'body']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/reviews\.parquet:1: no column "body"; the header has: "uid", "review", "sentiment"/);
  });
});

describe('many files in one job', () => {
  it('--data repeated, a quoted glob, or a directory: input order kept, each line says its file and its line there', () => {
    const all = readFileSync(join(dir, 'reviews.jsonl'), 'utf8').trim().split('\n');
    mkdirSync(join(dir, 'parts'));
    writeFileSync(join(dir, 'parts', 'b.jsonl'), all.slice(100, 200).join('\n') + '\n');
    writeFileSync(join(dir, 'parts', 'a.jsonl.gz'), gzipSync(all.slice(0, 100).join('\n') + '\n'));
    writeFileSync(join(dir, 'parts', 'c.jsonl'), all.slice(200).join('\n') + '\n');
    writeFileSync(join(dir, 'parts', 'notes.txt'), 'not data\n');
    const whole = lines(run(['predict', '--model', 'jsonl.rnn', '--data', 'reviews.jsonl']).stdout);
    for (const args of [['--data', 'parts'], ['--data', 'parts/*.jsonl*'], ['--data', 'parts/a.jsonl.gz', '--data', 'parts/b.jsonl', '--data', 'parts/c.jsonl']]) {
      const r = run(['predict', '--model', 'jsonl.rnn', '--id-field', 'key', ...args]);
      expect(r.code, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out.map((o) => o.probabilities)).toEqual(whole.map((o) => o.probabilities));
      expect(out[0]).toMatchObject({ id: 'r-0', file: join('parts', 'a.jsonl.gz'), line: 1 });
      expect(out[150]).toMatchObject({ id: 'r-150', file: join('parts', 'b.jsonl'), line: 51 });
    }
    expect(whole[0].file).toBeUndefined(); // one file: no file field
    const train = run(['train', '--data', 'parts', '--text-field', 'review', '--label-field', 'sentiment', '--units', '8', '--epochs', '1', '--out', 'parts.rnn', '--json']);
    expect(train.code, train.stderr).toBe(0);
    expect(JSON.parse(train.stdout).history.loss).toHaveLength(1);
  });

  it('a glob that matches nothing, or a directory without data, is a runtime error naming it', () => {
    const none = run(['predict', '--model', 'jsonl.rnn', '--data', 'nowhere/*.jsonl']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nowhere\/\*\.jsonl:0: the pattern matches no file/);
    mkdirSync(join(dir, 'empty'));
    const empty = run(['evaluate', '--model', 'jsonl.rnn', '--data', 'empty']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/empty:0: the directory holds no \.jsonl, \.json, \.ndjson, \.csv, \.tsv or \.parquet file and is not an IDX directory/);
  });
});

describe('flag names', () => {
  it('--data everywhere (predict --input an alias), --output for --out; both names at once is a usage error', () => {
    const both = run(['predict', '--model', 'jsonl.rnn', '--data', 'reviews.jsonl', '--input', 'reviews.jsonl']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--data and --input name the same option/);
    const bothOut = run(['train', '--data', 'reviews.jsonl', '--out', 'a.rnn', '--output', 'b.rnn']);
    expect(bothOut.code).toBe(2);
    expect(run(['predict', '--help']).stdout).toMatch(/--data PATH +records: .*\(also --input\)/);
    expect(run(['predict', '--model', 'jsonl.rnn', '--data', 'reviews.jsonl', '--no-header=yes']).code).toBe(2);
  });
});
