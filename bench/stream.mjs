#!/usr/bin/env node
// `npm run bench:stream`: streaming throughput. N open streams (default 10,000); each round
// issues all N one-step pushes together and awaits them with Promise.all. Steps per second
// against the native step of the same N rows called directly (the addon's stream call: from
// carried states, head and softmax included, same threads), interleaved repetitions, medians.
// The streams' last probabilities are checked equal to the direct calls' (same inputs, same
// states). Writes bench/STREAM.md.
//
//   node bench/stream.mjs [--sessions 10000] [--rounds 20] [--reps 5] [--cell lstm] [--units 128]
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const script = 'bench/stream.mjs';
const opt = parseOptions(script, {
  sessions: { type: 'string', default: '10000' },
  rounds: { type: 'string', default: '20' },
  reps: { type: 'string', default: '5' },
  cell: { type: 'string', default: 'lstm' },
  units: { type: 'string', default: '128' },
  report: { type: 'string', default: join(here, 'STREAM.md') },
});
if (!['lstm', 'gru', 'rnn'].includes(opt.cell)) {
  process.stderr.write(`${script}: --cell must be lstm, gru or rnn, got ${JSON.stringify(opt.cell)}\n`);
  process.exit(2);
}
const [sessions, rounds, reps, units] = ['sessions', 'rounds', 'reps', 'units'].map((k) => positiveIntegers(script, `--${k}`, opt[k])[0]);
const dist = join(here, '..', 'dist');
const { SequenceClassifier, backendInfo } = require(join(dist, 'index.js'));
const { native } = require(join(dist, 'native', 'addon.js'));
const { toNativeConfig } = require(join(dist, 'model', 'config.js'));
const { packWeights, tensorsOf } = require(join(dist, 'model', 'description.js'));

const F = 28;
const C = 10;
const model = new SequenceClassifier({ input: { type: 'dense', features: F }, layers: [{ cell: opt.cell, units }], classes: C, seed: 1 });
// The whole batch as stream pushes can take it: every push made in one round runs together.
model.setBatching({ maxDelayMs: 0, maxBatchSize: Math.max(10000, sessions) });
const direct = new (native().NativeModel)(toNativeConfig(model.config));
direct.setParams(packWeights(tensorsOf(model.config), model.getWeights()));
const width = direct.streamInfo().width;

let s = 1;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
// Each round's step of every session: [sessions × F], and each session's as its own push.
const steps = Array.from({ length: rounds }, () => Float32Array.from({ length: sessions * F }, rand));
const pushes = steps.map((round) => Array.from({ length: sessions }, (_, i) => ({ values: round.subarray(i * F, (i + 1) * F), shape: [1, F] })));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The native step of all sessions at once, round after round. */
async function nativeRounds() {
  const states = new Float32Array(sessions * width);
  const prior = new Int32Array(sessions);
  const lengths = new Int32Array(sessions).fill(1);
  let probabilities = null;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    probabilities = await direct.stream({ batch: sessions, steps: 1, lengths, dense: steps[r] }, states, prior, false, 0);
    prior.fill(r + 1);
  }
  return { seconds: (performance.now() - t0) / 1000, probabilities };
}

/** N streams, each round all N pushes at once. */
async function streamRounds() {
  const streams = Array.from({ length: sessions }, () => model.openStream());
  const before = model.streamStats ?? { batches: 0 };
  let last = null;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) last = await Promise.all(streams.map((stream, i) => stream.push(pushes[r][i])));
  const seconds = (performance.now() - t0) / 1000;
  for (const stream of streams) stream.close();
  return { seconds, last, batches: model.streamStats.batches - before.batches };
}

const results = { native: [], streams: [] };
let mismatches = 0;
await nativeRounds(); // warm-up
await streamRounds();
for (let r = 0; r < reps; r++) {
  const n = await nativeRounds();
  results.native.push(n);
  const st = await streamRounds();
  results.streams.push(st);
  st.last.forEach((p, i) => {
    for (let c = 0; c < C; c++) if (p[c] !== n.probabilities[i * C + c]) mismatches++;
  });
}
model.dispose();
direct.dispose();

const rate = (runs) => median(runs.map((x) => (sessions * rounds) / x.seconds));
const nativeRate = rate(results.native);
const streamRate = rate(results.streams);
const ratio = streamRate / nativeRate;
const info = backendInfo();
const batchesPerRound = median(results.streams.map((x) => x.batches)) / rounds;
const text = `# Streaming throughput: ${sessions.toLocaleString('en')} open streams

Generated by \`npm run bench:stream\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}, rnn-node ${info.version} (${info.variant} binary, ${info.threads} threads).
${opt.cell.toUpperCase()}(${units}), ${F} features per step, ${C} classes, fp32. ${rounds} rounds per run; medians of ${reps} interleaved repetitions.

| run | steps/s | of the native step |
|---|---|---|
| native step of ${sessions.toLocaleString('en')} rows (the addon's stream call, from carried states, head and softmax included) | ${Math.round(nativeRate).toLocaleString('en')} | 100% |
| ${sessions.toLocaleString('en')} streams, all one-step pushes of a round at once (\`Promise.all\`) | ${Math.round(streamRate).toLocaleString('en')} | ${(ratio * 100).toFixed(0)}% |

- Goal: at least 50% of the native step, so that batching across sessions works: **${ratio >= 0.5 ? 'met' : 'not met'}** (${(ratio * 100).toFixed(0)}%).
- The pushes of a round ran as ${batchesPerRound.toFixed(1)} native call(s) per round (\`setBatching({ maxDelayMs: 0, maxBatchSize: ${Math.max(10000, sessions)} })\`).
- What the difference is: per push, checking its steps and making its promise; per round, gathering every stream's state into the batch and copying the new states back (${width} floats per stream).
- Every stream's probabilities after the last round equal the direct calls' bit for bit (${mismatches} mismatches).
`;
writeReportIfComplete(script, opt.report, text, mismatches > 0 ? ['stream results differ from the native step'] : []);
console.log(text);
