#!/usr/bin/env node
// `npm run bench:bring-your-model`: a model built and saved by @tensorflow/tfjs (its own
// `model.save` over HTTP to a local server, as in test/tfjs-interop.parity.test.ts), then run
// three ways on the same inputs in one run: tfjs with its cpu backend, tfjs with the wasm
// backend, and rnn-node after `SequenceClassifier.fromTfjs` (tfjs-node, the native backend,
// cannot install here: its installer downloads libtensorflow). Throughput at batch 1024 and
// the single-sequence latency; the predictions are compared too. Writes
// bench/BRING-YOUR-MODEL.md (only when every row was measured).
//
//   node bench/bring-your-model.mjs [--cell lstm] [--units 128] [--seconds 3] [--threads 2]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { callsPerSecond, parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const script = 'bench/bring-your-model.mjs';
const opt = parseOptions(script, {
  cell: { type: 'string', default: 'lstm' },
  units: { type: 'string', default: '128' },
  seconds: { type: 'string', default: '3' },
  threads: { type: 'string', default: '2' },
  report: { type: 'string', default: join(here, 'BRING-YOUR-MODEL.md') },
});
if (!['lstm', 'gru', 'rnn'].includes(opt.cell)) {
  process.stderr.write(`${script}: --cell must be lstm, gru or rnn, got ${JSON.stringify(opt.cell)}\n`);
  process.exit(2);
}
const [units, seconds, threads] = ['units', 'seconds', 'threads'].map((k) => positiveIntegers(script, k, opt[k])[0]);
const STEPS = 28, FEATURES = 28, CLASSES = 10, BATCH = 1024;

const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const { SequenceClassifier, setNumThreads, backendInfo } = require(join(here, '..', 'dist', 'index.js'));
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-byom-'));

const rate = (step) => callsPerSecond(step, seconds);

function inputs(n) {
  let s = 12345;
  const values = Float32Array.from({ length: n * STEPS * FEATURES }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
  return { values, shape: [n, STEPS, FEATURES] };
}

const missing = [];
const rows = [];
const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] } }).formData();
  mkdirSync(join(dir, 'model'), { recursive: true });
  for (const [, file] of form.entries()) writeFileSync(join(dir, 'model', file.name), Buffer.from(await file.arrayBuffer()));
  res.end('{}');
});
try {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  await tf.setBackend('cpu');
  const model = tf.sequential();
  const layer = { units, inputShape: [null, FEATURES], recurrentActivation: 'sigmoid' };
  model.add(opt.cell === 'gru' ? tf.layers.gru(layer) : opt.cell === 'rnn' ? tf.layers.simpleRNN({ units, inputShape: [null, FEATURES] }) : tf.layers.lstm(layer));
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax' }));
  await model.save(`http://127.0.0.1:${server.address().port}/upload`);
  const batch = inputs(BATCH);
  const one = inputs(1);

  const tfjsRow = async (backend) => {
    if (backend === 'wasm') wasm.setThreadsCount?.(1);
    await tf.setBackend(backend);
    await tf.ready();
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(await (await import('node:fs')).promises.readFile(join(dir, 'model', 'model.json'), 'utf8').then((text) => {
      const json = JSON.parse(text);
      const weights = require('node:fs').readFileSync(join(dir, 'model', 'model.weights.bin'));
      return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) };
    })));
    const xt = tf.tensor3d(batch.values, batch.shape);
    const x1 = tf.tensor3d(one.values, one.shape);
    const probabilities = tf.tidy(() => loaded.predict(xt).dataSync());
    const throughput = (await rate(() => tf.tidy(() => loaded.predict(xt).dataSync()))) * BATCH;
    const latency = 1000 / (await rate(() => tf.tidy(() => loaded.predict(x1).dataSync())));
    loaded.dispose();
    return { name: `tfjs ${tf.version.tfjs}, ${backend} backend`, throughput, latency, probabilities };
  };
  const cpu = await tfjsRow('cpu');
  const wasmRow = await tfjsRow('wasm').catch((e) => ({ name: 'tfjs wasm backend', error: e.message }));

  setNumThreads(threads);
  const ours = await SequenceClassifier.fromTfjs(join(dir, 'model', 'model.json'));
  const probabilities = ours.predictProbaSync({ ...batch, values: batch.values.subarray(0, 1024 * STEPS * FEATURES) });
  const throughput = (await rate(() => ours.predictProba(batch, { batchSize: BATCH }))) * BATCH;
  const latency = 1000 / (await rate(() => ours.predictProbaSync(one)));
  const info = backendInfo();
  const oursRow = { name: `rnn-node ${info.version} (${info.variant} binary, ${threads} threads), fromTfjs`, throughput, latency, probabilities };
  ours.dispose();

  for (const row of [oursRow, cpu, wasmRow]) {
    if (row.error || !(row.throughput > 0)) {
      missing.push(`${row.name}: ${row.error ?? 'no measurement'}`);
      continue;
    }
    let diff = 0;
    for (let i = 0; i < row.probabilities.length; i++) diff = Math.max(diff, Math.abs(row.probabilities[i] - oursRow.probabilities[i]));
    rows.push({ ...row, diff });
  }
  const table = rows
    .map((r) => `| ${r.name} | ${Math.round(r.throughput).toLocaleString('en')} | ${(oursRow.throughput / r.throughput).toFixed(1)}x | ${r.latency.toFixed(3)} | ${(r.latency / oursRow.latency).toFixed(1)}x | ${r.diff.toExponential(1)} |`)
    .join('\n');
  const text = `# Bring your model: a tfjs model run by tfjs and by rnn-node

Generated by \`npm run bench:bring-your-model\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}.
A ${opt.cell.toUpperCase()}(${units}) classifier (28 steps of 28 features, 10 classes, softmax head) built and saved by @tensorflow/tfjs's own \`model.save\`, loaded back by tfjs and imported by \`SequenceClassifier.fromTfjs\`, all in this run. Throughput at batch ${BATCH} (${seconds} s time boxes), latency of one sequence. tfjs-node cannot install here (its installer downloads libtensorflow); tfjs's wasm backend runs one thread.

| runtime | sequences/s | rnn-node's speedup | latency (ms) | rnn-node's speedup | max \\|Δp\\| vs rnn-node |
|---|---|---|---|---|---|
${table}
`;
  writeReportIfComplete(script, opt.report, text, missing);
  console.log(text);
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
