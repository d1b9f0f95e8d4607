/**
 * `rnn-node predict` streams with bounded memory: the peak RSS on 1,000,000 short records
 * stays within 50 MB of the peak on 100,000, and every record comes back, in order.
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

function predictPeak(input: string, output: string) {
  const r = spawnSync(
    process.execPath,
    ['-r', join(ROOT, 'test', 'support', 'report-rss.cjs'), join(ROOT, 'dist', 'cli.js'), 'predict', '--model', 'm.rnn', '--input', input, '--output', output],
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
});
