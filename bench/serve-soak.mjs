#!/usr/bin/env node
// `npm run bench:serve-soak`: `rnn-node serve` under steady load for 10 minutes (bounded:
// back-to-back autocannon runs of --run seconds each, on loopback), with a side loop of
// streaming sessions (open, a few pushes, delete) and records; the server's RSS sampled every
// --sample seconds. After the warm-up (--warmup seconds) RSS must stay within ±5% of its value
// at the end of the warm-up. Writes bench/SERVE-SOAK.md.
//
//   node bench/serve-soak.mjs [--minutes 10] [--warmup 60] [--run 10] [--sample 5] [--connections 16]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';
import { startServer } from './support/start-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const script = 'bench/serve-soak.mjs';
const opt = parseOptions(script, {
  minutes: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '60' },
  run: { type: 'string', default: '10' },
  sample: { type: 'string', default: '5' },
  connections: { type: 'string', default: '16' },
  report: { type: 'string', default: join(here, 'SERVE-SOAK.md') },
});
const [minutes, warmup, runSeconds, sampleSeconds, connections] = ['minutes', 'warmup', 'run', 'sample', 'connections'].map((k) => positiveIntegers(script, k, opt[k])[0]);
const autocannon = require('autocannon');
const { SequenceClassifier, Preprocessor, backendInfo } = require(join(here, '..', 'dist', 'index.js'));

// The Fashion-MNIST architecture with a saved normalisation, so records and sessions work too.
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-soak-'));
let s = 1;
const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const row = () => Array.from({ length: 28 }, () => Number(rand().toFixed(3)));
const pre = Preprocessor.fit(Array.from({ length: 20 }, (_, i) => ({ kind: 'sequence', sequence: Array.from({ length: 28 }, row), label: i % 10, line: i + 1 })));
const model = new SequenceClassifier({ input: pre.inputConfig(), layers: [{ cell: 'lstm', units: 128 }], classes: 10, seed: 1 });
model.preprocessing = pre.toJSON();
const modelPath = join(dir, 'fashion.rnn');
await model.save(modelPath);
model.dispose();

const { child, url } = await startServer([join(here, '..', 'dist', 'cli.js'), 'serve', '--model', `fashion=${modelPath}`, '--port', '0', '--log-level', 'info']);
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;

const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 28, 28], datatype: 'FP32', data: Array.from({ length: 784 }, () => Number(rand().toFixed(4))) }] });
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const samples = [];
const sampler = setInterval(() => samples.push({ t: elapsed(), rss: rssMb() }), sampleSeconds * 1000);

// The side loop: sessions (open, 3 pushes, delete) and a record, one after another.
let side = { sessions: 0, failed: 0 };
let running = true;
const sideLoop = (async () => {
  const post = (path, b) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
  while (running) {
    try {
      const { session_id: id } = await (await post('/v1/models/fashion/sessions', {})).json();
      for (let k = 0; k < 3; k++) if ((await post(`/v1/sessions/${id}:push`, { steps: [row(), row()] })).status !== 200) side.failed++;
      await fetch(`${url}/v1/sessions/${id}`, { method: 'DELETE' });
      if ((await post('/v1/models/fashion:classify', [{ sequence: Array.from({ length: 28 }, row) }])).status !== 200) side.failed++;
      side.sessions++;
    } catch {
      side.failed++;
    }
  }
})();

let requests = 0;
let failed = 0;
while (elapsed() < minutes * 60) {
  const r = await autocannon({ url: `${url}/v2/models/fashion/infer`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: Math.min(runSeconds, Math.max(1, Math.ceil(minutes * 60 - elapsed()))), timeout: 30 });
  requests += r.requests.total;
  failed += r.errors + r.timeouts + r.non2xx;
}
running = false;
await sideLoop;
clearInterval(sampler);
child.kill('SIGTERM');
const exitCode = await new Promise((resolve) => child.on('exit', resolve));
rmSync(dir, { recursive: true, force: true });

// RSS follows V8's collections in a sawtooth (the heap grows between two collections, then
// drops): the goal is about the level, so it is read as the median of each 30 s window (the
// raw extremes are reported beside it). Baseline: the last window of the warm-up.
const WINDOW = 30;
const windows = [];
for (let start = 0; start + WINDOW <= minutes * 60 + 1e-9; start += WINDOW) {
  const inside = samples.filter((x) => x.t > start && x.t <= start + WINDOW).map((x) => x.rss);
  if (inside.length) windows.push({ start, median: [...inside].sort((a, b) => a - b)[Math.floor(inside.length / 2)] });
}
const base = windows.filter((w) => w.start + WINDOW <= warmup).at(-1)?.median ?? windows[0].median;
const afterWindows = windows.filter((w) => w.start >= warmup);
const after = samples.filter((x) => x.t >= warmup);
const lo = Math.min(...after.map((x) => x.rss));
const hi = Math.max(...after.map((x) => x.rss));
const spread = Math.max(...afterWindows.map((w) => Math.abs(w.median / base - 1)));
const info = backendInfo();
const text = `# Serving soak: ${minutes} minutes under load

Generated by \`npm run bench:serve-soak\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}, rnn-node ${info.version} (${info.variant} binary).
\`rnn-node serve\` with the Fashion-MNIST LSTM(128) (fp32, weights as initialised), its defaults. Load: back-to-back autocannon runs of ${runSeconds} s, ${connections} connections, one Open Inference Protocol infer body each (\`x\` FP32 [1, 28, 28]), on loopback, for ${minutes} minutes; beside them one client looping over a streaming session (open, three pushes of two steps, delete) and a record (\`:classify\`). RSS sampled every ${sampleSeconds} s.

| | value |
|---|---|
| infer requests | ${requests.toLocaleString('en')} (${Math.round(requests / (minutes * 60)).toLocaleString('en')}/s), ${failed} failed |
| sessions opened, pushed and deleted | ${side.sessions.toLocaleString('en')}, ${side.failed} failed requests |
| RSS in the last ${WINDOW} s of the ${warmup} s warm-up (median) | ${base.toFixed(1)} MB |
| RSS after it, median of each ${WINDOW} s window: lowest, highest | ${Math.min(...afterWindows.map((w) => w.median)).toFixed(1)} MB, ${Math.max(...afterWindows.map((w) => w.median)).toFixed(1)} MB |
| largest departure of a window from the warm-up value | ${(spread * 100).toFixed(1)}% |
| single samples after warm-up: lowest, highest (the GC sawtooth) | ${lo.toFixed(1)} MB, ${hi.toFixed(1)} MB |
| exit code after SIGTERM | ${exitCode} |

- Goal: RSS within ±5% after warm-up, read as ${WINDOW} s medians: **${spread <= 0.05 ? 'met' : 'not met'}** (${(spread * 100).toFixed(1)}%). The single samples swing with V8's collections (${(((hi - lo) / base) * 100).toFixed(0)}% from lowest to highest) around a level that does not climb.

RSS over time (MB): ${samples.map((x) => `${Math.round(x.t)} s ${x.rss.toFixed(0)}`).join(', ')}.
`;
writeReportIfComplete(script, opt.report, text, failed + side.failed > 0 || exitCode !== 0 ? ['requests failed or the server did not exit cleanly'] : []);
console.log(text);
