#!/usr/bin/env node
// `npm run bench:tune`: what `rnn-node tune` buys, measured on this machine, three parts:
//
//   asha     ASHA against full-training random search, same reduced space, 3 seeds each, on
//            Fashion-MNIST rows (a 20,000-row subset, 20% of it for validation). Random search:
//            --trials trials, each --max-epochs epochs. The target is random search's median
//            best validation accuracy minus 0.3 points; each study's time to the target is the
//            study time of the first epoch (any trial's) at or above it. ASHA runs for as long
//            as the slowest random search took.
//   text     bench/init/datasets.mjs's words and fortunes tasks: a --text-minutes study against
//            train's default configuration (LSTM(128), embedding 32, Adam 0.001, batch 32,
//            10 epochs) trained on all the training texts; both scored on the held-out texts.
//   parallel one machine: the same study (scheduler none, 3 epochs per trial, 8 trials, the
//            same seed) as one trial at a time on every thread, and as one trial per thread.
//   workers  a distributed study (tune --redis) on a real redis-server with one, then two
//            `tune work` processes at 1 thread each, --worker-minutes each; trials completed
//            per hour (scheduler none, 3 epochs per trial, the same seed).
//
//   node bench/tune.mjs [--parts asha,text,workers] [--trials 12] [--max-epochs 9]
//                       [--text-minutes 5] [--worker-minutes 3] [--report bench/TUNE.md]
//
// Writes the report only when every part asked for finished.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { fortunesTask, wordsTask } from './init/datasets.mjs';
import { median, parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const script = 'bench/tune.mjs';
const opt = parseOptions(script, {
  parts: { type: 'string', default: 'asha,text,parallel,workers' },
  trials: { type: 'string', default: '12' },
  'max-epochs': { type: 'string', default: '9' },
  'text-minutes': { type: 'string', default: '5' },
  'worker-minutes': { type: 'string', default: '3' },
  report: { type: 'string', default: join(here, 'TUNE.md') },
});
const parts = opt.parts.split(',');
const unknown = parts.filter((p) => !['asha', 'text', 'parallel', 'workers'].includes(p));
if (unknown.length) {
  process.stderr.write(`${script}: expected parts among asha, text, parallel, workers but received ${unknown.join(', ')}\n`);
  process.exit(2);
}
const [trials] = positiveIntegers(script, 'trials', opt.trials);
const [maxEpochs] = positiveIntegers(script, 'max-epochs', opt['max-epochs']);
const textMinutes = Number(opt['text-minutes']);
const workerMinutes = Number(opt['worker-minutes']);
if (!(textMinutes > 0) || !(workerMinutes > 0)) {
  process.stderr.write(`${script}: --text-minutes and --worker-minutes must be positive numbers\n`);
  process.exit(2);
}
const { tune, SequenceClassifier, readIdxDataset } = require('../dist/index.js');
const CLI = join(here, '..', 'dist', 'cli.js');
const FMNIST = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const started = Date.now();
const log = (line) => process.stderr.write(`${script}: ${line}\n`);
const pct = (v) => (typeof v === 'number' ? (v * 100).toFixed(2) : '–');
const sections = [];
const missing = [];

/** Study time (s) when the best value seen so far first reaches `target`, or null. */
function timeToTarget(study, target) {
  const points = study.trials.flatMap((t) => t.curve.map((e) => ({ at: e.studySeconds, v: e.value }))).sort((a, b) => a.at - b.at);
  return points.find((p) => p.v >= target)?.at ?? null;
}
const bestValue = (study) => Math.max(...study.trials.flatMap((t) => t.curve.map((e) => e.value)));
const studyTime = (study) => Math.max(0, ...study.trials.flatMap((t) => t.curve.map((e) => e.studySeconds)));

async function ashaPart() {
  const data = readIdxDataset(FMNIST, 'train', 20000);
  const space = { cell: { choice: ['lstm', 'gru'] }, units: { int: [16, 128], log: true }, lr: { float: [0.0003, 0.03], log: true }, 'batch-size': { choice: [64, 128, 256] }, schedule: 'cosine' };
  const common = { data, validationSplit: 0.2, stratify: true, space, maxEpochs, threads: 2, sampler: 'random' };
  const random = [];
  for (const seed of [1, 2, 3]) {
    log(`random search, seed ${seed}: ${trials} trials x ${maxEpochs} epochs`);
    const s = await tune({ ...common, seed, scheduler: 'none', budget: { trials } });
    s.bestModel?.dispose();
    random.push({ seed, best: bestValue(s), seconds: studyTime(s), study: s });
  }
  const target = median(random.map((r) => r.best)) - 0.003;
  const budget = Math.max(...random.map((r) => r.seconds));
  const asha = [];
  for (const seed of [1, 2, 3]) {
    log(`ASHA, seed ${seed}: ${budget.toFixed(0)} s`);
    const s = await tune({ ...common, seed, scheduler: 'asha', minEpochs: 1, eta: 3, budget: { seconds: budget } });
    s.bestModel?.dispose();
    asha.push({ seed, best: bestValue(s), seconds: studyTime(s), study: s });
  }
  const rows = [...random.map((r) => ['random search', r]), ...asha.map((r) => ['ASHA', r])].map(([name, r]) => {
    const t = timeToTarget(r.study, target);
    return { name, seed: r.seed, best: r.best, trials: r.study.trials.length, epochs: r.study.trials.reduce((n, x) => n + x.epochs, 0), seconds: r.seconds, toTarget: t };
  });
  const med = (name) => {
    const ts = rows.filter((r) => r.name === name).map((r) => r.toTarget ?? Infinity);
    return median(ts);
  };
  const ratio = med('ASHA') / med('random search');
  sections.push(`## ASHA against random search (Fashion-MNIST rows, 20,000-row subset)

Space: \`${JSON.stringify(space)}\`; validation: a stratified 20% split. Random search trains
${trials} trials to ${maxEpochs} epochs each; ASHA (min 1 epoch, η = 3, rungs 1, 3, 9) runs for as long
as the slowest random search (${budget.toFixed(0)} s). Both 2 threads, one trial at a time.

Target: random search's median best validation accuracy (${pct(median(random.map((r) => r.best)))}%) minus 0.3 points = **${pct(target)}%**.

| Scheduler | Seed | Trials | Epochs | Study time (s) | Best validation accuracy | Time to target (s) |
|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.name} | ${r.seed} | ${r.trials} | ${r.epochs} | ${r.seconds.toFixed(0)} | ${pct(r.best)}% | ${r.toTarget === null ? 'not reached' : r.toTarget.toFixed(0)} |`).join('\n')}

Median time to target: ASHA ${Number.isFinite(med('ASHA')) ? med('ASHA').toFixed(0) : 'not reached'} s, random search ${med('random search').toFixed(0)} s: **ASHA needs ${Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)}%` : '–'}** of random search's time (goal: at most 25%).
`);
  if (!rows.some((r) => r.name === 'random search' && r.toTarget !== null)) missing.push('random search never reached its own target');
}

async function textPart() {
  const lines = [];
  for (const [name, build] of [['words', () => wordsTask()], ['fortunes', () => fortunesTask()]]) {
    const task = build();
    const input = { type: 'tokens', vocabSize: task.vocabSize, embeddingDim: 32 };
    const test = { x: task.test.x, y: task.test.y };
    // train's defaults, on every training text.
    const t0 = Date.now();
    const base = new SequenceClassifier({ input, layers: [{ cell: 'lstm', units: 128 }], classes: task.classes.length, seed: 0 });
    await base.fit({ x: task.train.x, y: task.train.y }, { epochs: 10, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.001 }, threads: 2 });
    const baseAccuracy = (await base.evaluate(test)).accuracy;
    const baseSeconds = (Date.now() - t0) / 1000;
    base.dispose();
    log(`${name}: default ${pct(baseAccuracy)}% in ${baseSeconds.toFixed(0)} s; now a ${textMinutes}-minute study`);
    const space = { cell: { choice: ['lstm', 'gru'] }, units: { int: [32, 256], log: true }, layers: { int: [1, 2] }, bidirectional: { choice: [true, false] }, embedding: { int: [16, 96], log: true }, lr: { float: [0.0005, 0.01], log: true }, 'batch-size': { choice: [32, 64, 128] }, dropout: { float: [0, 0.3] }, schedule: 'cosine' };
    const s = await tune({ data: { x: task.train.x, y: task.train.y }, validationSplit: 0.15, stratify: true, input, classes: task.classes.length, space, maxEpochs: 9, minEpochs: 1, budget: { seconds: textMinutes * 60 }, threads: 2, seed: 0 });
    const tunedAccuracy = (await s.bestModel.evaluate(test)).accuracy;
    s.bestModel.dispose();
    lines.push(`| ${name} | ${task.classes.length} | ${task.train.y.length} / ${task.test.y.length} | ${pct(baseAccuracy)}% (${baseSeconds.toFixed(0)} s) | **${pct(tunedAccuracy)}%** (${s.trials.length} trials; trial ${s.best.id}: ${Object.entries(s.best.params).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(3) : v}`).join(' ')}, ${s.best.epochs} epochs) | ${((tunedAccuracy - baseAccuracy) * 100).toFixed(2)} |`);
  }
  sections.push(`## Text: a ${textMinutes}-minute study against the default configuration

The tasks of bench/init/datasets.mjs (char ids): a word's language (9 Debian word lists) and a
fortune's language (6 fortune packages). Default: \`rnn-node train\`'s defaults (LSTM(128),
embedding 32, Adam 0.001, batch 32, 10 epochs) on every training text. The study selects on a
stratified 15% of the training texts; both are scored once on the held-out texts. Goal: tuned ≥
default + 2 points.

| Task | Classes | Train / test texts | Default: test accuracy | Tuned: test accuracy | Points gained |
|---|---|---|---|---|---|
${lines.join('\n')}
`);
}

async function parallelPart() {
  const data = readIdxDataset(FMNIST, 'train', 12000);
  const threads = availableParallelism();
  const rows = [];
  for (const [label, units] of [['small (16-48 units)', [16, 48]], ['large (128-256 units)', [128, 256]]]) {
    const space = { cell: { choice: ['lstm', 'gru'] }, units: { int: units, log: true }, lr: { float: [0.001, 0.01], log: true }, 'batch-size': 128 };
    const seconds = {};
    for (const parallel of [1, threads]) {
      log(`parallel: ${label}, ${parallel} at once`);
      const t0 = Date.now();
      const s = await tune({ data, validationSplit: 0.2, space, scheduler: 'none', maxEpochs: 3, sampler: 'random', seed: 7, budget: { trials: 8 }, parallel, threads });
      s.bestModel?.dispose();
      seconds[parallel] = (Date.now() - t0) / 1000;
    }
    rows.push(`| ${label} | ${seconds[1].toFixed(1)} | ${seconds[threads].toFixed(1)} | ${(seconds[1] / seconds[threads]).toFixed(2)}x |`);
  }
  sections.push(`## One machine: trials at once (--parallel)

Fashion-MNIST rows (12,000, 20% for validation), \`scheduler: none\`, 8 trials of 3 epochs, the
same seed, ${threads} threads in all: one trial at a time with all of them, or ${threads} trials at once
with one each.

| Models | 1 at a time (s) | ${threads} at once (s) | Speed-up of ${threads} at once |
|---|---|---|---|
${rows.join('\n')}
`);
}

/** Starts redis-server on a free port (the bench's own, stopped at the end). */
async function startRedis(dir) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) {
    if (i > 100) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

async function workersPart() {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-node-bench-tune-workers-'));
  const redis = await startRedis(dir);
  try {
    const data = readIdxDataset(FMNIST, 'train', 12000);
    const space = { cell: { choice: ['lstm', 'gru'] }, units: { int: [32, 128], log: true }, lr: { float: [0.001, 0.01], log: true }, 'batch-size': 128 };
    const rates = {};
    for (const n of [1, 2]) {
      const workers = Array.from({ length: n }, () => spawn(process.execPath, [CLI, 'tune', 'work', '--redis', redis.url, '--threads', '1', '--lock-duration', '10000'], { stdio: 'ignore' }));
      log(`workers: ${n} x 1 thread, ${workerMinutes} min`);
      const s = await tune({ data, validationSplit: 0.2, space, scheduler: 'none', maxEpochs: 3, sampler: 'random', seed: 5, budget: { seconds: workerMinutes * 60 }, redis: redis.url, study: `bench-${n}`, checkpoints: join(dir, `ck-${n}`), parallel: n });
      s.bestModel?.dispose();
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r() : w.on('exit', r)))));
      const done = s.trials.filter((t) => t.state === 'complete').length;
      rates[n] = { done, perHour: (done / (workerMinutes * 60)) * 3600 };
    }
    sections.push(`## Two workers against one (tune --redis, tune work at 1 thread each)

Fashion-MNIST rows (12,000, 20% for validation), \`scheduler: none\`, 3 epochs per trial, the same
seed; ${workerMinutes} minutes each; a real redis-server on loopback. The study's coordinator runs
in this process beside the workers.

| Workers | Trials completed | Trials per hour |
|---|---|---|
| 1 | ${rates[1].done} | ${rates[1].perHour.toFixed(0)} |
| 2 | ${rates[2].done} | ${rates[2].perHour.toFixed(0)} |

Two workers complete **${(rates[2].perHour / rates[1].perHour).toFixed(2)}x** the trials per hour of one (goal: at least 1.8x).
`);
    if (rates[1].done === 0) missing.push('one worker completed no trial');
  } finally {
    redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (parts.includes('asha')) await ashaPart();
if (parts.includes('text')) await textPart();
if (parts.includes('parallel')) await parallelPart();
if (parts.includes('workers')) await workersPart();
const text = `# rnn-node tune: benchmarks (npm run bench:tune)

Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs. Date: ${new Date().toISOString().slice(0, 10)}.
Parts: ${parts.join(', ')}. Whole run: ${((Date.now() - started) / 60000).toFixed(1)} min.

${sections.join('\n')}`;
if (writeReportIfComplete(script, opt.report, text, missing)) process.stdout.write(`${script}: wrote ${opt.report}\n`);
