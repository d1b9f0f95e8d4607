#!/usr/bin/env node
// `npm run bench:quantize`: int8 and bf16 models (`model.quantize()`) against their float32
// source, per task, in one run: test accuracy and how far the probabilities move (the error
// table), then inference throughput (batch 1024, 1 thread and all) and one-sequence latency,
// interleaved repetitions, medians. Tasks: Fashion-MNIST rows with LSTM(128) and GRU(128)
// (2 epochs, as the demo), and the language of a word from six Debian word lists (char
// tokens, bidirectional GRU(64)). Writes bench/QUANTIZE.md.
//
//   node bench/quantize.mjs [--reps 3] [--seconds 1.5] [--tasks fmnist-lstm,fmnist-gru,words]
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { callsPerSecond, median, parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const script = 'bench/quantize.mjs';
const opt = parseOptions(script, {
  reps: { type: 'string', default: '3' },
  seconds: { type: 'string', default: '1.5' },
  tasks: { type: 'string', default: 'fmnist-lstm,fmnist-gru,words' },
  report: { type: 'string', default: join(here, 'QUANTIZE.md') },
});
const [reps] = positiveIntegers(script, 'reps', opt.reps);
const seconds = Number(opt.seconds);
if (!(seconds > 0)) {
  process.stderr.write(`${script}: --seconds must be a positive number, got ${JSON.stringify(opt.seconds)}\n`);
  process.exit(2);
}
const TASKS = ['fmnist-lstm', 'fmnist-gru', 'words'];
const tasks = opt.tasks.split(',');
const unknown = tasks.filter((t) => !TASKS.includes(t));
if (unknown.length) {
  process.stderr.write(`${script}: expected names among ${TASKS.join(', ')} for --tasks but received ${unknown.map((t) => JSON.stringify(t)).join(', ')}\n`);
  process.exit(2);
}

const { SequenceClassifier, readIdxDataset, setNumThreads, backendInfo } = require('../dist/index.js');
const all = availableParallelism();
const FMNIST = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const WORD_LISTS = ['american-english', 'french', 'ngerman', 'spanish', 'italian', 'polish'];

/** A small seeded shuffle (xorshift), so every run sees the same words. */
function shuffled(list, seed) {
  let s = seed >>> 0 || 1;
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Words of each list (lower case, letters only, 3..20 characters): 3000 train, 1000 test per language. */
function wordTask() {
  const train = [], test = [];
  WORD_LISTS.forEach((list, label) => {
    const path = `/usr/share/dict/${list}`;
    if (!existsSync(path)) throw new Error(`${path} is missing (scripts/setup.sh installs the word lists)`);
    const words = [...new Set(readFileSync(path, 'utf8').split('\n').map((w) => w.trim().toLowerCase()).filter((w) => /^\p{L}{3,20}$/u.test(w)))];
    const picked = shuffled(words, 17 + label).slice(0, 4000);
    picked.forEach((w, i) => (i < 3000 ? train : test).push({ w, label }));
  });
  const chars = [...new Set([...train, ...test].flatMap((r) => [...r.w]))].sort();
  const id = new Map(chars.map((c, i) => [c, i + 1]));
  const encode = (records) => {
    const T = Math.max(...records.map((r) => [...r.w].length));
    const values = new Int32Array(records.length * T);
    const lengths = new Int32Array(records.length);
    records.forEach((r, n) => {
      const cs = [...r.w];
      lengths[n] = cs.length;
      cs.forEach((c, t) => (values[n * T + t] = id.get(c)));
    });
    return { x: { values, shape: [records.length, T], lengths }, y: Int32Array.from(records, (r) => r.label) };
  };
  const order = shuffled(train.map((_, i) => i), 5);
  return {
    name: 'words',
    describe: `language of a word (${WORD_LISTS.join(', ')}: 3,000 train / 1,000 test words each), char ids, bidirectional GRU(64), 6 epochs`,
    train: encode(order.map((i) => train[i])),
    test: encode(test),
    config: { input: { type: 'tokens', vocabSize: chars.length + 1, embeddingDim: 16 }, layers: [{ cell: 'gru', units: 64, bidirectional: true }], classes: WORD_LISTS.length, seed: 1 },
    fit: { epochs: 6, batchSize: 64, optimizer: { type: 'adam', learningRate: 3e-3 } },
  };
}

function fmnistTask(cell) {
  if (!existsSync(FMNIST)) throw new Error(`${FMNIST} is missing (apt-get install dataset-fashion-mnist)`);
  return {
    name: `fmnist-${cell}`,
    describe: `Fashion-MNIST rows (60,000 train / 10,000 test), ${cell.toUpperCase()}(128), 2 epochs, Adam 1e-3, batch 128`,
    train: readIdxDataset(FMNIST, 'train'),
    test: readIdxDataset(FMNIST, 't10k'),
    config: { input: { type: 'dense', features: 28 }, layers: [{ cell, units: 128 }], classes: 10, seed: 1 },
    fit: { epochs: 2, batchSize: 128, optimizer: { type: 'adam', learningRate: 1e-3 } },
  };
}

const rate = (step) => callsPerSecond(step, seconds);

function slice(x, from, count) {
  const per = x.values.length / x.shape[0];
  return { values: x.values.subarray(from * per, (from + count) * per), shape: [count, ...x.shape.slice(1)], ...(x.lengths ? { lengths: x.lengths.subarray(from, from + count) } : {}) };
}

const info = backendInfo();
const sections = [];
const errorRows = [];
const speedRows = [];
let measured = 0;
for (const name of tasks) {
  const task = name === 'words' ? wordTask() : fmnistTask(name.split('-')[1]);
  process.stderr.write(`${name}: training (${task.describe})\n`);
  setNumThreads(all);
  const fp32 = new SequenceClassifier(task.config);
  await fp32.fit(task.train, { ...task.fit, verbose: 0 });
  const models = { float32: fp32, int8: await fp32.quantize({ type: 'int8' }), bf16: await fp32.quantize({ type: 'bf16' }) };
  const evaluations = {};
  const probabilities = {};
  for (const [p, m] of Object.entries(models)) {
    evaluations[p] = await m.evaluate(task.test);
    probabilities[p] = await m.predictProba(task.test.x);
  }
  const C = fp32.config.classes;
  const count = task.test.y.length;
  for (const p of ['float32', 'int8', 'bf16']) {
    const ref = probabilities.float32, mine = probabilities[p];
    let max = 0, sum = 0, agree = 0;
    for (let i = 0; i < mine.length; i++) {
      const d = Math.abs(mine[i] - ref[i]);
      max = Math.max(max, d);
      sum += d;
    }
    for (let n = 0; n < count; n++) {
      let a = 0, b = 0;
      for (let c = 1; c < C; c++) {
        if (mine[n * C + c] > mine[n * C + a]) a = c;
        if (ref[n * C + c] > ref[n * C + b]) b = c;
      }
      if (a === b) agree++;
    }
    const accuracy = evaluations[p].accuracy;
    errorRows.push(`| ${name} | ${p} | ${accuracy.toFixed(4)} | ${p === 'float32' ? '' : `${((accuracy - evaluations.float32.accuracy) * 100).toFixed(2)}`} | ${p === 'float32' ? '' : max.toExponential(1)} | ${p === 'float32' ? '' : (sum / mine.length).toExponential(1)} | ${p === 'float32' ? '' : `${((100 * agree) / count).toFixed(2)}%`} |`);
  }
  // Speed: interleaved repetitions, medians. Throughput on batch 1024 of the test set.
  const batch = slice(task.test.x, 0, Math.min(1024, count));
  const one = slice(task.test.x, 0, 1);
  const samples = {};
  for (let rep = 0; rep < reps; rep++) {
    for (const threads of [...new Set([1, all])]) {
      setNumThreads(threads);
      for (const [p, m] of Object.entries(models)) {
        const k = `${p}|${threads}`;
        (samples[k] ??= { infer: [], latency: [] }).infer.push((await rate(() => m.predictProba(batch))) * batch.shape[0]);
        samples[k].latency.push(1000 / (await rate(async () => m.predictProbaSync(one))));
        process.stderr.write(`rep ${rep + 1}/${reps} ${name} ${p} x${threads}\n`);
      }
    }
  }
  for (const threads of [...new Set([1, all])]) {
    const base = samples[`float32|${threads}`];
    for (const p of ['float32', 'int8', 'bf16']) {
      const s = samples[`${p}|${threads}`];
      const infer = median(s.infer), latency = median(s.latency);
      speedRows.push(`| ${name} | ${p} | ${threads} | ${Math.round(infer)} | ${p === 'float32' ? '' : `${(infer / median(base.infer)).toFixed(2)}x`} | ${latency.toFixed(3)} | ${p === 'float32' ? '' : `${(median(base.latency) / latency).toFixed(2)}x`} |`);
      measured++;
    }
  }
  sections.push(`- ${name}: ${task.describe}`);
  for (const m of Object.values(models)) m.dispose();
}

const lines = [
  '# Quantized inference: int8 and bf16 against float32',
  '',
  `Generated by \`npm run bench:quantize${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model ?? 'unknown CPU'}, ${all} CPUs, Node ${process.versions.node}; int8 kernel ${info.int8Kernel}, bf16 kernel ${info.bf16Kernel}, ${info.variant} binary.`,
  'Each task trains one float32 model, then `quantize({ type })` makes the int8 and bf16 models from it; all three are evaluated on the same test set.',
  '',
  ...sections,
  '',
  '## Error against float32, per task',
  '',
  '`Δ accuracy` in points; `max |Δp|` and `mean |Δp|` over every test probability; `argmax agrees`: test sequences whose predicted class is float32\'s.',
  '',
  '| task | precision | test accuracy | Δ accuracy | max \\|Δp\\| | mean \\|Δp\\| | argmax agrees |',
  '|---|---|---|---|---|---|---|',
  ...errorRows,
  '',
  '## Speed',
  '',
  `Inference: sequences/s on a batch of 1,024 test sequences; latency: ms per single-sequence \`predictProbaSync\`. Medians of ${reps} interleaved repetitions (${seconds} s each); ratios against float32 at the same thread count.`,
  '',
  '| task | precision | threads | sequences/s | vs float32 | latency (ms) | vs float32 |',
  '|---|---|---|---|---|---|---|',
  ...speedRows,
  '',
  'The same models against onnxruntime-node: `npm run bench` (bench/RESULTS.md, rows rnn-node-int8 and rnn-node-bf16).',
  '',
];
process.stdout.write(lines.join('\n'));
writeReportIfComplete(script, opt.report, lines.join('\n'), measured === 0 ? ['every task'] : []);
