#!/usr/bin/env node
// The initialiser study behind DEFAULT_INITIALIZERS (src/config.ts): every task of
// bench/init/datasets.mjs, LSTM and GRU, several seeds, each initialiser set on rnn-node and
// PyTorch's own defaults on the same model, same data, same epochs and hyperparameters.
//
//   npm run bench:init [-- --tasks words,fortunes,fmnist,waves --cells lstm,gru --seeds 3
//                           --threads 2 --report bench/INIT.md --no-torch]
//   npm run bench:init -- --reference    the small words task the test suite compares with
//                                        (writes bench/init/torch-reference.json)
//
// The report is written only when every run finished: a partial run changes nothing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { TASKS, wordsTask } from './init/datasets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The initialiser sets compared: Keras's, Keras's with PyTorch's embedding, PyTorch's. */
export const INIT_SETS = {
  keras: { embedding: 'uniform', kernel: 'glorotUniform', recurrent: 'orthogonal', bias: 'zeros', unitForgetBias: true },
  'keras+N(0,1) emb': { embedding: 'normal', kernel: 'glorotUniform', recurrent: 'orthogonal', bias: 'zeros', unitForgetBias: true },
  torch: { embedding: 'normal', kernel: 'torchUniform', recurrent: 'torchUniform', bias: 'torchUniform', unitForgetBias: false },
};
/** Epochs per task: the same on both sides. */
const EPOCHS = { words: 5, fortunes: 5, fmnist: 3, waves: 10 };
/** The test suite's task (test/init-defaults.test.ts): small enough for CI. */
export const REFERENCE = { task: 'words-small', build: () => wordsTask({ perClass: 1000, testPerClass: 300, seed: 2 }), cell: 'lstm', epochs: 5, seeds: [0, 1, 2] };
export const MODEL = { units: 128, embedding: 32, batchSize: 128, learningRate: 1e-3 };

function fail(message) {
  console.error(`rnn-node bench:init: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { tasks: Object.keys(TASKS), cells: ['lstm', 'gru'], seeds: 3, threads: 2, report: join(root, 'bench', 'INIT.md'), torch: true, reference: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--tasks') o.tasks = value().split(',');
    else if (flag === '--cells') o.cells = value().split(',');
    else if (flag === '--seeds') o.seeds = Number(value());
    else if (flag === '--threads') o.threads = Number(value());
    else if (flag === '--report') o.report = value();
    else if (flag === '--no-torch') o.torch = false;
    else if (flag === '--reference') o.reference = true;
    else fail(`unknown option ${JSON.stringify(flag)}`);
  }
  const badTask = o.tasks.find((t) => !(t in TASKS));
  if (badTask) fail(`expected tasks among ${Object.keys(TASKS).join(', ')} but received ${JSON.stringify(badTask)}`);
  const badCell = o.cells.find((c) => c !== 'lstm' && c !== 'gru');
  if (badCell) fail(`expected cells among lstm, gru but received ${JSON.stringify(badCell)}`);
  if (!Number.isInteger(o.seeds) || o.seeds < 1 || o.seeds > 20) fail('expected --seeds to be an integer in [1, 20]');
  if (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > 256) fail('expected --threads to be an integer in [1, 256]');
  return o;
}

/** Trains rnn-node on a task with one initialiser set (or the defaults); returns the test accuracy. */
export async function trainRnnNode(task, { cell, seed, epochs, init, threads }) {
  const { SequenceClassifier } = require(join(root, 'dist', 'index.js'));
  // No `init`: the library's defaults (what the test suite checks).
  const layerInit = init ? { kernelInitializer: init.kernel, recurrentInitializer: init.recurrent, biasInitializer: init.bias, unitForgetBias: init.unitForgetBias } : {};
  const input = task.kind === 'tokens'
    ? { type: 'tokens', vocabSize: task.vocabSize, embeddingDim: MODEL.embedding, ...(init ? { embeddingInitializer: init.embedding } : {}) }
    : { type: 'dense', features: task.features };
  const model = new SequenceClassifier({
    input,
    layers: [{ cell, units: MODEL.units, ...layerInit }],
    classes: task.classes.length,
    seed,
  });
  try {
    const started = performance.now();
    await model.fit(task.train, { epochs, batchSize: MODEL.batchSize, optimizer: { type: 'adam', learningRate: MODEL.learningRate }, threads });
    const seconds = (performance.now() - started) / 1000;
    const { accuracy } = await model.evaluate(task.test, { threads });
    return { accuracy, seconds };
  } finally {
    model.dispose();
  }
}

/** Trains PyTorch (its default initialisation) on the task file; returns the test accuracy. */
export function trainTorch(taskFile, { cell, seed, epochs, threads }) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; // some machines pin an older OpenBLAS kernel
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', [join(root, 'bench', 'init', 'torch_train.py'), '--task', taskFile, '--cell', cell, '--seed', String(seed), '--epochs', String(epochs), '--units', String(MODEL.units), '--embedding', String(MODEL.embedding), '--batch', String(MODEL.batchSize), '--lr', String(MODEL.learningRate), '--threads', String(threads)], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`PyTorch run failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / Math.max(1, v.length - 1));
const cellText = (v) => (v ? `${mean(v).toFixed(3)} ± ${std(v).toFixed(3)}` : '–');

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const cache = join(tmpdir(), 'rnn-node-init');
  mkdirSync(cache, { recursive: true });
  if (o.reference) {
    const task = REFERENCE.build();
    const file = join(cache, `${REFERENCE.task}.json`);
    writeFileSync(file, JSON.stringify(task));
    const runs = REFERENCE.seeds.map((seed) => trainTorch(file, { cell: REFERENCE.cell, seed, epochs: REFERENCE.epochs, threads: o.threads }));
    const accuracies = runs.map((r) => r.accuracy);
    const out = { task: REFERENCE.task, cell: REFERENCE.cell, epochs: REFERENCE.epochs, model: MODEL, seeds: REFERENCE.seeds, accuracies, mean: mean(accuracies), torch: runs[0].torch, date: new Date().toISOString().slice(0, 10) };
    writeFileSync(join(root, 'bench', 'init', 'torch-reference.json'), JSON.stringify(out, null, 2) + '\n');
    console.log(`PyTorch ${out.torch} on ${REFERENCE.task}: ${accuracies.map((a) => a.toFixed(4)).join(', ')} (mean ${out.mean.toFixed(4)})`);
    return;
  }
  const started = Date.now();
  const results = []; // { task, cell, init, seed, accuracy, seconds }
  for (const name of o.tasks) {
    const task = TASKS[name]();
    const file = join(cache, `${name}.json`);
    writeFileSync(file, JSON.stringify(task));
    const epochs = EPOCHS[name];
    console.log(`== ${name}: ${task.train.y.length} train, ${task.test.y.length} test, ${task.classes.length} classes, ${epochs} epochs`);
    for (const cell of o.cells) {
      for (let seed = 0; seed < o.seeds; seed++) {
        for (const [initName, init] of Object.entries(INIT_SETS)) {
          // The embedding initialiser is all that differs between the first two: dense tasks have none.
          if (task.kind === 'dense' && initName === 'keras+N(0,1) emb') continue;
          const r = await trainRnnNode(task, { cell, seed, epochs, init, threads: o.threads });
          results.push({ task: name, cell, init: initName, seed, ...r });
          console.log(`   ${cell} seed ${seed} rnn-node ${initName}: ${r.accuracy.toFixed(4)} (${r.seconds.toFixed(1)} s)`);
        }
        if (o.torch) {
          const r = trainTorch(file, { cell, seed, epochs, threads: o.threads });
          results.push({ task: name, cell, init: 'PyTorch', seed, accuracy: r.accuracy, seconds: r.seconds, torch: r.torch });
          console.log(`   ${cell} seed ${seed} PyTorch ${r.torch}: ${r.accuracy.toFixed(4)} (${r.seconds.toFixed(1)} s)`);
        }
      }
    }
  }
  if (results.length === 0 || results.some((r) => !Number.isFinite(r.accuracy))) fail('no complete results; the report is left as it was');
  const columns = [...Object.keys(INIT_SETS), ...(o.torch ? ['PyTorch'] : [])];
  const lines = [
    '# Initialisers: test accuracy by task, cell and initialiser set',
    '',
    `\`npm run bench:init\` on ${new Date().toISOString().slice(0, 10)}: mean ± sample std over ${o.seeds} seeds of the test accuracy after equal epochs,`,
    `${o.threads} threads. Same model on both sides: [embedding ${MODEL.embedding}] → ${'LSTM/GRU'}(${MODEL.units}) → last valid state → softmax;`,
    `Adam ${MODEL.learningRate}, batch ${MODEL.batchSize}, data reshuffled every epoch. PyTorch keeps its own default initialisation.`,
    '',
    '| initialiser set | embedding | kernel | recurrent | bias | LSTM forget bias 1 |',
    '|---|---|---|---|---|---|',
    ...Object.entries(INIT_SETS).map(([n, s]) => `| ${n} | ${s.embedding} | ${s.kernel} | ${s.recurrent} | ${s.bias} | ${s.unitForgetBias ? 'yes' : 'no'} |`),
    '',
    `| task | cell | epochs | ${columns.join(' | ')} |`,
    `|---|---|---|${columns.map(() => '---').join('|')}|`,
  ];
  for (const name of o.tasks) {
    for (const cell of o.cells) {
      const values = columns.map((c) => results.filter((r) => r.task === name && r.cell === cell && r.init === c).map((r) => r.accuracy));
      const text = values.map((v, i) => (v.length ? cellText(v) : columns[i] === 'keras+N(0,1) emb' ? '= keras (no embedding)' : '–'));
      lines.push(`| ${name} | ${cell} | ${EPOCHS[name]} | ${text.join(' | ')} |`);
    }
  }
  const perInit = columns.map((c) => {
    const v = results.filter((r) => r.init === c || (c === 'keras+N(0,1) emb' && r.init === 'keras' && TASKS[r.task] && ['fmnist', 'waves'].includes(r.task))).map((r) => r.accuracy);
    return `${c} ${mean(v).toFixed(4)}`;
  });
  lines.push('', `Mean over every task, cell and seed (dense tasks count their keras runs for "keras+N(0,1) emb"): ${perInit.join('; ')}.`);
  lines.push('', `Total time: ${((Date.now() - started) / 60000).toFixed(1)} min. Raw runs: [init/results.json](init/results.json).`, '');
  writeFileSync(o.report, lines.join('\n'));
  writeFileSync(join(root, 'bench', 'init', 'results.json'), JSON.stringify(results, null, 1) + '\n');
  console.log(`wrote ${o.report}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main().catch((e) => fail(e.stack || e.message));
