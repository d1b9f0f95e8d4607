/**
 * `rnn-node predict` streams with bounded memory: the peak RSS on 1,000,000 short records
 * stays within 50 MB of the peak on 100,000, and every record comes back, in order; the same
 * for 300,000 rows of headered CSV and of gzip'd JSONL (with gzip'd output) against 30,000.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writeRecords(path: string, n: number) {
  const out = createWriteStream(path);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma'];
  for (let i = 0; i < n; i++) {
    const line = `{"text":"${words[i % 6]} ${words[(i * 7) % 6]} ${i % 1000}"}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function predictPeak(input: string, output: string, extra: string[] = []) {
  const r = spawnSync(
    process.execPath,
    ['-r', join(ROOT, 'bench', 'support', 'report-rss.cjs'), join(ROOT, 'dist', 'cli.js'), 'predict', '--model', 'm.rnn', '--input', input, '--output', output, ...extra],
    { cwd: dir, encoding: 'utf8', timeout: 170_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return Number(/maxRSS_KB=(\d+)/.exec(r.stderr)![1]) / 1024;
}

describe('predict memory', () => {
  it('peak RSS on 1M records is within 50 MB of the peak on 100k', async () => {
    const train = Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: i % 2 ? 'alpha beta' : 'gamma 12', label: i % 2 ? 'a' : 'b' })).join('\n');
    require('node:fs').writeFileSync(join(dir, 'train.jsonl'), train + '\n');
    const t = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'train', '--data', 'train.jsonl', '--units', '8', '--embedding', '4', '--epochs', '1', '--out', 'm.rnn', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    await writeRecords(join(dir, 'small.jsonl'), 100_000);
    await writeRecords(join(dir, 'large.jsonl'), 1_000_000);
    const small = predictPeak('small.jsonl', 'small.out.jsonl');
    const started = performance.now();
    const large = predictPeak('large.jsonl', 'large.out.jsonl');
    const seconds = (performance.now() - started) / 1000;
    console.log(`predict peak RSS: ${small.toFixed(1)} MB on 100k records, ${large.toFixed(1)} MB on 1M (${Math.round(1e6 / seconds)} records/s end to end)`);
    expect(large - small).toBeLessThan(50);
    const out = readFileSync(join(dir, 'large.out.jsonl'), 'utf8');
    let lines = 0;
    for (let at = out.indexOf('\n'); at !== -1; at = out.indexOf('\n', at + 1)) lines++;
    expect(lines).toBe(1_000_000);
    expect(JSON.parse(out.slice(out.lastIndexOf('\n', out.length - 2) + 1)).line).toBe(1_000_000);
    expect(statSync(join(dir, 'large.out.jsonl')).size).toBeGreaterThan(statSync(join(dir, 'large.jsonl')).size);
  });

  it('headered CSV and gzip\'d JSONL (gzip\'d output): peak RSS on 300k rows within 50 MB of 30k', async () => {
    const { createGzip, gunzipSync } = await import('node:zlib');
    const { pipeline } = await import('node:stream/promises');
    const { Readable } = await import('node:stream');
    const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma'];
    const rows = function* (n: number, csv: boolean) {
      if (csv) yield 'id,text\n';
      for (let i = 0; i < n; i++) {
        const text = `${words[i % 6]}, ${words[(i * 7) % 6]} "${i % 1000}"`;
        yield csv ? `r${i},"${text.replace(/"/g, '""')}"\n` : JSON.stringify({ text }) + '\n';
      }
    };
    const write = async (name: string, n: number, csv: boolean, gzip: boolean) => {
      const file = createWriteStream(join(dir, name));
      if (gzip) await pipeline(Readable.from(rows(n, csv)), createGzip(), file);
      else await pipeline(Readable.from(rows(n, csv)), file);
    };
    await write('small.csv', 30_000, true, false);
    await write('large.csv', 300_000, true, false);
    await write('small.jsonl.gz', 30_000, false, true);
    await write('large.jsonl.gz', 300_000, false, true);
    const csvFlags = ['--text-column', 'text', '--id-column', 'id'];
    const csvSmall = predictPeak('small.csv', 'small-csv.out.jsonl', csvFlags);
    const csvLarge = predictPeak('large.csv', 'large-csv.out.jsonl', csvFlags);
    const gzSmall = predictPeak('small.jsonl.gz', 'small-gz.out.jsonl.gz');
    const gzLarge = predictPeak('large.jsonl.gz', 'large-gz.out.jsonl.gz');
    console.log(`predict peak RSS: CSV ${csvSmall.toFixed(1)} MB on 30k rows, ${csvLarge.toFixed(1)} MB on 300k; gzip'd JSONL ${gzSmall.toFixed(1)} MB / ${gzLarge.toFixed(1)} MB`);
    expect(csvLarge - csvSmall).toBeLessThan(50);
    expect(gzLarge - gzSmall).toBeLessThan(50);
    const csvOut = readFileSync(join(dir, 'large-csv.out.jsonl'), 'utf8').trim().split('\n');
    expect(csvOut).toHaveLength(300_000);
    expect(JSON.parse(csvOut[299_999])).toMatchObject({ id: 'r299999', line: 300_001 });
    const gzOut = gunzipSync(readFileSync(join(dir, 'large-gz.out.jsonl.gz'))).toString('utf8').trim().split('\n');
    expect(gzOut).toHaveLength(300_000);
    expect(JSON.parse(gzOut[299_999]).line).toBe(300_000);
  }, 300_000);
});
