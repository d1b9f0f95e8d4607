#!/usr/bin/env node
// `npm run bench:formats`: `rnn-node predict` end to end over the same N records in each input
// format a batch job meets — plain JSONL, gzip'd JSONL, headered CSV (quoted text, an id
// column), gzip'd CSV, Parquet (written by hyparquet-writer, row groups of 100k) — with
// records/s and the job's peak RSS, in one run. Writes
// bench/FORMATS.md (only when every format was measured).
//
//   node bench/formats.mjs [--records 1000000] [--units 128] [--cell gru] [--batch-size 512]
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

import { parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const opt = parseOptions('bench/formats.mjs', {
  records: { type: 'string', default: '1000000' },
  units: { type: 'string', default: '128' },
  cell: { type: 'string', default: 'gru' },
  'batch-size': { type: 'string', default: '512' },
  report: { type: 'string', default: join(here, 'FORMATS.md') },
});
const [records] = positiveIntegers('bench/formats.mjs', 'records', opt.records);
positiveIntegers('bench/formats.mjs', 'units', opt.units);
positiveIntegers('bench/formats.mjs', 'batch-size', opt['batch-size']);
if (!['lstm', 'gru', 'rnn'].includes(opt.cell)) {
  process.stderr.write(`bench/formats.mjs: expected one of lstm, gru, rnn for --cell but received ${JSON.stringify(opt.cell)}\n`);
  process.exit(2);
}
const cli = join(root, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-formats-'));
const WORDS = ['order', 'refund', 'late', 'delivery', 'great', 'broken', 'thanks', 'help', 'account', 'password', 'price', 'quality'];

/** 2-5 words with a comma and quotes now and then: what a CSV writer must quote. */
function text(i) {
  const n = 2 + (i % 4);
  const words = Array.from({ length: n }, (_, k) => WORDS[(i * 7 + k * 5 + (i >> 3)) % WORDS.length]);
  if (i % 3 === 0) words[0] += ',';
  if (i % 5 === 0) words[n - 1] = `"${words[n - 1]}"`;
  return words.join(' ');
}

function* jsonl(n, labelled) {
  for (let i = 0; i < n; i++) {
    const t = text(i);
    yield JSON.stringify(labelled ? { id: `t${i}`, text: t, label: /refund|broken/.test(t) ? 'complaint' : 'other' } : { id: `t${i}`, text: t }) + '\n';
  }
}

function* csv(n) {
  yield 'id,text\n';
  for (let i = 0; i < n; i++) yield `t${i},"${text(i).replace(/"/g, '""')}"\n`;
}

async function write(name, rows, gzip) {
  const file = createWriteStream(join(dir, name));
  await (gzip ? pipeline(Readable.from(rows), createGzip(), file) : pipeline(Readable.from(rows), file));
  return statSync(join(dir, name)).size;
}

async function writeParquet(name, n) {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const ids = Array.from({ length: n }, (_, i) => `t${i}`);
  const texts = Array.from({ length: n }, (_, i) => text(i));
  parquetWriteFile({ filename: join(dir, name), columnData: [{ name: 'id', data: ids, type: 'STRING' }, { name: 'text', data: texts, type: 'STRING' }], rowGroupSize: 100_000 });
  return statSync(join(dir, name)).size;
}

const FORMATS = [
  { name: 'JSONL', file: 'records.jsonl', make: () => write('records.jsonl', jsonl(records, false), false), flags: ['--id-field', 'id'] },
  { name: "JSONL, gzip'd", file: 'records.jsonl.gz', make: () => write('records.jsonl.gz', jsonl(records, false), true), flags: ['--id-field', 'id'] },
  { name: 'CSV with a header, quoted text', file: 'records.csv', make: () => write('records.csv', csv(records), false), flags: ['--text-column', 'text', '--id-column', 'id'] },
  { name: "CSV, gzip'd", file: 'records.csv.gz', make: () => write('records.csv.gz', csv(records), true), flags: ['--text-column', 'text', '--id-column', 'id'] },
  { name: 'Parquet (snappy, row groups of 100k)', file: 'records.parquet', make: () => writeParquet('records.parquet', records), flags: ['--text-column', 'text', '--id-column', 'id'] },
];

try {
  await write('train.jsonl', jsonl(4000, true), false);
  execFileSync(process.execPath, [cli, 'train', '--data', 'train.jsonl', '--cell', opt.cell, '--units', opt.units, '--embedding', '32', '--epochs', '1', '--out', 'model.rnn'], { cwd: dir, stdio: 'ignore' });
  const rows = [];
  for (const f of FORMATS) {
    const bytes = await f.make();
    const job = spawnSync(
      process.execPath,
      ['-r', join(here, 'support', 'report-rss.cjs'), cli, 'predict', '--model', 'model.rnn', '--data', f.file, '--output', 'out.jsonl', '--batch-size', opt['batch-size'], '--stats', ...f.flags],
      { cwd: dir, encoding: 'utf8' },
    );
    if (job.status !== 0) throw new Error(`${f.name}: ${job.stderr}`);
    const stats = JSON.parse(job.stderr.trim().split('\n').find((l) => l.startsWith('{')));
    const peak = Number(/maxRSS_KB=(\d+)/.exec(job.stderr)[1]) / 1024;
    rows.push({ ...f, bytes, stats, peak });
    process.stderr.write(`${f.name}: ${stats.recordsPerSecond} records/s, peak RSS ${peak.toFixed(0)} MB\n`);
    rmSync(join(dir, f.file));
  }
  const plain = rows[0].stats.recordsPerSecond;
  const lines = [
    '# Input formats: `rnn-node predict` end to end per format',
    '',
    `Generated by \`npm run bench:formats\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs, Node ${process.versions.node}.`,
    `${records.toLocaleString('en')} records of 2-5 words (commas and quotes in a third of them), each with an id copied to the output; char tokens, embedding 32, ${opt.cell.toUpperCase()}(${opt.units}), batches of ${opt['batch-size']}, all threads; output plain JSONL. Peak RSS of the whole \`predict\` process.`,
    '',
    '| format | file size | records/s | vs plain JSONL | seconds | peak RSS |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${(r.bytes / 1e6).toFixed(1)} MB | ${r.stats.recordsPerSecond.toLocaleString('en')} | ${(r.stats.recordsPerSecond / plain).toFixed(2)}x | ${r.stats.seconds.toFixed(1)} | ${r.peak.toFixed(0)} MB |`),
    '',
    'Where the time went (`--stats`, seconds; reading and parsing overlap with inference):',
    '',
    '| format | read + parse | encode | inference | format + write |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.stats.stageSeconds.readParse.toFixed(1)} | ${r.stats.stageSeconds.encode.toFixed(1)} | ${r.stats.stageSeconds.inference.toFixed(1)} | ${r.stats.stageSeconds.formatWrite.toFixed(1)} |`),
    '',
    ''
  ];
  process.stdout.write(lines.join('\n'));
  const missing = rows.length === FORMATS.length ? rows.filter((r) => !(r.stats.recordsPerSecond > 0)).map((r) => r.name) : ['some format'];
  writeReportIfComplete('bench/formats.mjs', opt.report, lines.join('\n'), missing);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
