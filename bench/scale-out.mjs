#!/usr/bin/env node
// `npm run bench:scale-out`: one machine's view of the two scale-out modes, in one run, on
// the same 1M short JSONL text records (the batch-job workload), each ending with one merged
// output file that must equal the single run's byte for byte:
//   - one `predict` with 2 threads;
//   - 2 `predict --shard k/2` processes of 1 thread each, then `merge`;
//   - 2 `queue work` processes of 1 thread each on a local redis-server (started here), from
//     `queue submit` to `queue collect`;
//   - the same queue job with one worker SIGKILLed mid-chunk: the time to recover (its chunk
//     is redone after the lock expires).
// Writes bench/SCALE-OUT.md (only when every mode ran and matched).
//
//   node bench/scale-out.mjs [--records 1000000] [--units 128] [--cell gru] [--batch-size 512] [--chunk-size 50000] [--lock-duration 5000]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const script = 'bench/scale-out.mjs';
const opt = parseOptions(script, {
  records: { type: 'string', default: '1000000' },
  units: { type: 'string', default: '128' },
  cell: { type: 'string', default: 'gru' },
  'batch-size': { type: 'string', default: '512' },
  'chunk-size': { type: 'string', default: '50000' },
  'lock-duration': { type: 'string', default: '5000' },
  report: { type: 'string', default: join(here, 'SCALE-OUT.md') },
});
const [records, units, batchSize, chunkSize, lockDuration] = ['records', 'units', 'batch-size', 'chunk-size', 'lock-duration'].map((k) => positiveIntegers(script, k, opt[k])[0]);
if (!['lstm', 'gru', 'rnn'].includes(opt.cell)) {
  process.stderr.write(`${script}: --cell must be lstm, gru or rnn, got ${JSON.stringify(opt.cell)}\n`);
  process.exit(2);
}
const cli = join(root, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-scale-out-'));
const WORDS = ['order', 'refund', 'late', 'delivery', 'great', 'broken', 'thanks', 'help', 'account', 'password', 'price', 'quality'];
const text = (i) => Array.from({ length: 2 + (i % 4) }, (_, k) => WORDS[(i * 7 + k * 5 + (i >> 3)) % WORDS.length]).join(' ');

async function writeJsonl(path, n, withLabel) {
  const out = createWriteStream(path);
  for (let i = 0; i < n; i++) {
    const record = withLabel ? { text: text(i), label: /refund|broken/.test(text(i)) ? 'complaint' : 'other' } : { text: text(i) };
    if (!out.write(JSON.stringify(record) + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const cliArgs = (args) => [cli, ...args];
/** Runs a command to the end; throws with its stderr on failure. */
function runSync(args) {
  const r = spawnSync(process.execPath, cliArgs(args), { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rnn-node ${args.slice(0, 2).join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`);
  return r;
}
/** Starts a command; resolves with its exit code. */
function start(args) {
  const child = spawn(process.execPath, cliArgs(args), { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}
const seconds = (t0) => (performance.now() - t0) / 1000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const rows = [];
const missing = [];
let redis = null;
try {
  await writeJsonl(join(dir, 'train.jsonl'), 4000, true);
  await writeJsonl(join(dir, 'records.jsonl'), records, false);
  execFileSync(process.execPath, cliArgs(['train', '--data', 'train.jsonl', '--cell', opt.cell, '--units', String(units), '--embedding', '32', '--epochs', '1', '--out', 'model.rnn']), { cwd: dir, stdio: 'ignore' });
  const predictArgs = ['--model', 'model.rnn', '--data', 'records.jsonl', '--batch-size', String(batchSize)];

  let t0 = performance.now();
  runSync(['predict', ...predictArgs, '--threads', '2', '--output', 'single.jsonl']);
  const single = seconds(t0);
  const expected = readFileSync(join(dir, 'single.jsonl'));
  rows.push({ mode: 'one `predict`, 2 threads', seconds: single, detail: '' });

  // Shards: both processes at once, then merge.
  mkdirSync(join(dir, 'shards'));
  t0 = performance.now();
  const shards = [0, 1].map((k) => start(['predict', ...predictArgs, '--threads', '1', '--shard', `${k}/2`, '--output', 'shards']));
  const shardCodes = await Promise.all(shards.map((s) => s.exited));
  if (shardCodes.some((c) => c !== 0)) throw new Error(`a shard failed: ${shards.map((s) => s.stderr()).join('\n')}`);
  const shardRun = seconds(t0);
  runSync(['merge', '--input', 'shards', '--output', 'shards.jsonl']);
  const shardTotal = seconds(t0);
  const shardsMatch = readFileSync(join(dir, 'shards.jsonl')).equals(expected);
  if (!shardsMatch) missing.push('shards: merged output differs from the single run');
  rows.push({ mode: '2 `predict --shard k/2`, 1 thread each, + `merge`', seconds: shardTotal, detail: `shards ${shardRun.toFixed(1)} s, merge ${(shardTotal - shardRun).toFixed(1)} s; output ${shardsMatch ? 'identical' : 'DIFFERS'}` });

  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) {
    if (i > 100) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = `redis://127.0.0.1:${port}`;
  const queueJob = async (name, kill) => {
    const t = performance.now();
    runSync(['queue', 'submit', '--redis', url, '--model', 'model.rnn', '--input', 'records.jsonl', '--output', `${name}-parts`, '--chunk-size', String(chunkSize), '--batch-size', String(batchSize), '--name', name]);
    const submitted = seconds(t);
    const workers = [0, 1].map(() => start(['queue', 'work', '--redis', url, '--threads', '1', '--exit-when-idle', '--lock-duration', String(lockDuration)]));
    if (kill) {
      // Kill the first worker once it is into its second chunk.
      await new Promise((resolve) => {
        const check = setInterval(() => {
          if ((workers[0].stderr().match(/ started /g) ?? []).length >= 2) {
            clearInterval(check);
            workers[0].child.kill('SIGKILL');
            resolve();
          }
        }, 5);
      });
    }
    const codes = await Promise.all(workers.slice(kill ? 1 : 0).map((w) => w.exited));
    if (codes.some((c) => c !== 0)) throw new Error(`a worker failed: ${workers.map((w) => w.stderr()).join('\n')}`);
    const worked = seconds(t);
    runSync(['queue', 'collect', '--redis', url, '--name', name, '--output', `${name}.jsonl`]);
    const total = seconds(t);
    const match = readFileSync(join(dir, `${name}.jsonl`)).equals(expected);
    if (!match) missing.push(`${name}: collected output differs from the single run`);
    return { total, submitted, worked, match };
  };
  const q = await queueJob('bench', false);
  rows.push({ mode: '2 `queue work`, 1 thread each: submit → collect', seconds: q.total, detail: `submit ${q.submitted.toFixed(1)} s, work ${(q.worked - q.submitted).toFixed(1)} s, collect ${(q.total - q.worked).toFixed(1)} s; ${Math.ceil(records / chunkSize)} chunks; output ${q.match ? 'identical' : 'DIFFERS'}` });
  const killed = await queueJob('killed', true);
  rows.push({ mode: 'the same, one worker SIGKILLed in its 2nd chunk', seconds: killed.total, detail: `recovery cost ${(killed.total - q.total).toFixed(1)} s (lock ${lockDuration / 1000} s, then the chunk redone by the other worker); output ${killed.match ? 'identical' : 'DIFFERS'}` });

  const queueVsShards = shardTotal / q.total;
  const table = rows.map((r) => `| ${r.mode} | ${r.seconds.toFixed(1)} | ${Math.round(records / r.seconds).toLocaleString('en')} | ${r.detail} |`).join('\n');
  const text = `# Scale-out: shards and the work queue on one machine

Generated by \`npm run bench:scale-out\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} CPUs, Node ${process.versions.node}, Redis ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1] ?? '?'} on loopback.
${records.toLocaleString('en')} JSONL records of 2-5 words; char tokens, embedding 32, ${opt.cell.toUpperCase()}(${units}), batches of ${batchSize}. Every mode ends with one file, compared byte for byte with the single run's.

| mode | seconds | records/s | detail |
|---|---|---|---|
${table}

- The queue against the shards: ${(queueVsShards * 100).toFixed(0)}% of their throughput (${queueVsShards >= 0.9 ? 'within' : 'NOT within'} the 10% goal), the difference being submit's scan for record boundaries (\`--chunk-size\`), per-chunk model checks and part files, and collect.
- Recovery: a worker killed mid-chunk leaves its lock to expire (\`--lock-duration\`, here ${lockDuration / 1000} s; 30 s by default), BullMQ's stalled-job check puts the chunk back, and another worker redoes it; nothing is lost or written twice.
`;
  writeReportIfComplete(script, opt.report, text, missing);
  console.log(text);
} finally {
  redis?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
