#!/usr/bin/env node
// `npm run bench:tune-fashion`: the public benchmark of `rnn-node tune` (issue 25). A study
// over bench/tune/fashion-space.json on Fashion-MNIST rows picks its model on a validation
// split of the training set only (ASHA, TPE, 30 minutes of wall clock by default); then
// `evaluate` scores the best model on the test set. Beside it, the hand recipe (a
// bidirectional GRU(128), Adam 0.003, cosine, batch 128) trained for the same wall-clock time
// (its epochs: the time budget over its first epoch's time, cosine over all of them) and
// scored the same way. Writes bench/TUNE-FASHION.md only when every step finished.
//
//   node bench/tune-fashion.mjs [--minutes 30] [--work DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseOptions, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const script = 'bench/tune-fashion.mjs';
const opt = parseOptions(script, {
  minutes: { type: 'string', default: '30' },
  work: { type: 'string', default: join(tmpdir(), 'rnn-node-tune-fashion') },
  report: { type: 'string', default: join(here, 'TUNE-FASHION.md') },
});
const minutes = Number(opt.minutes);
if (!(minutes > 0)) {
  process.stderr.write(`${script}: --minutes must be a positive number, got ${JSON.stringify(opt.minutes)}\n`);
  process.exit(2);
}
const FMNIST = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const cli = join(here, '..', 'dist', 'cli.js');
const space = join(here, 'tune', 'fashion-space.json');
mkdirSync(opt.work, { recursive: true });
const started = Date.now();

/** Runs the CLI with --json; returns its JSON line (stderr passes through: the trial lines). */
function rnn(args) {
  const out = execFileSync(process.execPath, [cli, ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  return JSON.parse(out.toString().trim().split('\n').pop());
}

// The study: a fresh journal each run (a benchmark measures one whole study).
const study = join(opt.work, `study-${Date.now()}.jsonl`);
const best = join(opt.work, 'best.rnn');
const tuneArgs = ['tune', '--data', FMNIST, '--validation-split', '0.1', '--stratify', '--space', space, '--budget', `${minutes}m`, '--min-epochs', '1', '--max-epochs', '27', '--study', study, '--out', best, '--seed', '0'];
process.stderr.write(`${script}: rnn-node ${tuneArgs.join(' ')}\n`);
const tuned = rnn(tuneArgs);
const tunedTest = rnn(['evaluate', '--model', best, '--data', FMNIST]);

// The hand recipe for the same time: its epoch time from a one-epoch run, then the full run.
const recipe = ['--data', FMNIST, '--cell', 'gru', '--units', '128', '--bidirectional', '--optimizer', 'adam', '--lr', '0.003', '--schedule', 'cosine', '--batch-size', '128', '--seed', '0'];
const probe = rnn(['train', ...recipe, '--epochs', '1', '--out', join(opt.work, 'probe.rnn')]);
const handEpochs = Math.max(1, Math.floor((minutes * 60) / probe.seconds));
const hand = rnn(['train', ...recipe, '--epochs', String(handEpochs), '--out', join(opt.work, 'hand.rnn')]);
const handTest = rnn(['evaluate', '--model', join(opt.work, 'hand.rnn'), '--data', FMNIST]);

const trainCount = 54000;  // 60,000 training rows less the 10% validation split
const trials = tuned.trials;
const epochs = trials.reduce((n, t) => n + t.epochs, 0);
const trialSeconds = trials.reduce((n, t) => n + t.seconds, 0);
const rate = (t) => (t.seconds > 0 ? (trainCount * t.epochs) / t.seconds : NaN);
const rates = trials.filter((t) => t.epochs > 0).map(rate).sort((a, b) => a - b);
const states = Object.entries(trials.reduce((m, t) => ({ ...m, [t.state]: (m[t.state] ?? 0) + 1 }), {})).map(([k, n]) => `${n} ${k}`).join(', ');
const fmt = (v, d = 4) => (typeof v === 'number' ? v.toFixed(d) : '–');
const cpu = `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs`;
const text = `# rnn-node tune on Fashion-MNIST (npm run bench:tune-fashion)

Machine: ${cpu}. Date: ${new Date().toISOString().slice(0, 10)}. Whole run: ${((Date.now() - started) / 60000).toFixed(1)} min.

The study selects on a stratified 10% validation split of the 60,000 training rows; the test
set (the 10,000 t10k rows) is only scored once, by \`evaluate\`, on the model the study picked.

\`\`\`
rnn-node ${tuneArgs.map((a) => (a === study ? 'study.jsonl' : a === best ? 'best.rnn' : a === FMNIST ? '/usr/share/datasets/fashion-mnist' : a === space ? 'bench/tune/fashion-space.json' : a)).join(' ')}
rnn-node evaluate --model best.rnn --data /usr/share/datasets/fashion-mnist
\`\`\`

Space (bench/tune/fashion-space.json):

\`\`\`json
${readFileSync(space, 'utf8').trim()}
\`\`\`

| | Test accuracy | Validation accuracy | Time |
|---|---|---|---|
| **rnn-node tune**, best of ${trials.length} trials (trial ${tuned.best.id}, ${tuned.best.epochs} epochs) | **${fmt(tunedTest.accuracy)}** | ${fmt(tuned.best.value)} | ${(tuned.seconds / 60).toFixed(1)} min |
| Hand recipe, bidirectional GRU(128), Adam 0.003, cosine, batch 128, ${handEpochs} epochs (the same time) | ${fmt(handTest.accuracy)} | – | ${(hand.seconds / 60).toFixed(1)} min |

Goal: test accuracy ≥ 0.915 (the Fashion-MNIST benchmark table's best recurrent rows: GRU+SVM 0.888, with dropout 0.897).

Best trial's settings: \`${Object.entries(tuned.best.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\`.

Trials: ${states}; ${epochs} epochs trained in all, ${(trialSeconds / 60).toFixed(1)} min of training and validation.
Training speed measured per trial (training rows × epochs / the trial's epoch seconds, validation
included): median ${fmt(rates[Math.floor(rates.length / 2)], 0)} sequences/s, from ${fmt(rates[0], 0)} to ${fmt(rates[rates.length - 1], 0)}.
The hand recipe trained at ${fmt(hand.sequencesPerSecond, 0)} sequences/s (its first epoch: ${probe.seconds.toFixed(1)} s).

| Trial | State | Epochs | Validation accuracy | Seconds | Settings |
|---|---|---|---|---|---|
${trials.map((t) => `| ${t.id} | ${t.state} | ${t.epochs} | ${fmt(t.value)} | ${t.seconds.toFixed(0)} | ${Object.entries(t.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')} |`).join('\n')}
`;
const missing = [];
if (!tuned.best) missing.push('the study found no model');
if (typeof tunedTest.accuracy !== 'number') missing.push('the tuned model scored nothing');
if (typeof handTest.accuracy !== 'number') missing.push('the hand recipe scored nothing');
if (writeReportIfComplete(script, opt.report, text, missing)) process.stdout.write(`${script}: wrote ${opt.report}\n`);
