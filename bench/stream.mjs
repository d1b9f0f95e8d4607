#!/usr/bin/env node
// `npm run bench:stream`: streaming throughput. N open streams (default 10,000); each round
// issues all N one-step pushes together and awaits them with Promise.all. Steps per second
// against the native step of the same N rows called directly (the addon's stream call: from
// carried states, head and softmax included, same threads), interleaved repetitions, medians.
// The streams' last probabilities are checked equal to the direct calls' (same inputs, same
// states). Each measurement runs in a child process twice: with V8's default young generation,
// and with --max-semi-space-size=32 (10,000 pushes in flight outlive a small young generation:
// see what the report says). Writes bench/STREAM.md.
//
//   node bench/stream.mjs [--sessions 10000] [--rounds 20] [--reps 5] [--cell lstm] [--units 128]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
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
  child: { type: 'boolean', default: false },
});
const YOUNG_GENERATIONS = [[], ['--max-semi-space-size=32']];
const F = 28;
const C = 10;
if (!['lstm', 'gru', 'rnn'].includes(opt.cell)) {
  process.stderr.write(`${script}: --cell must be lstm, gru or rnn, got ${JSON.stringify(opt.cell)}\n`);
  process.exit(2);
}
const [sessions, rounds, reps, units] = ['sessions', 'rounds', 'reps', 'units'].map((k) => positiveIntegers(script, k, opt[k])[0]);
if (!opt.child) {
  // The parent: one child per young-generation setting, then the report.
  const args = ['--sessions', String(sessions), '--rounds', String(rounds), '--reps', String(reps), '--cell', opt.cell, '--units', String(units), '--child'];
  const runs = YOUNG_GENERATIONS.map((flags) => {
    const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    if (r.status !== 0) process.exit(r.status ?? 1);
    return { flags, ...JSON.parse(r.stdout) };
  });
  report(runs);
  process.exit(0);
}
const dist = join(here, '..', 'dist');
const { SequenceClassifier, backendInfo } = require(join(dist, 'index.js'));
const { native } = require(join(dist, 'native', 'addon.js'));
const { toNativeConfig } = require(join(dist, 'model', 'config.js'));
const { packWeights, tensorsOf } = require(join(dist, 'model', 'description.js'));

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
  const slots = Int32Array.from({ length: sessions }, (_, i) => i);
  let probabilities = null;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    probabilities = await direct.stream({ batch: sessions, steps: 1, lengths, dense: steps[r] }, [states], slots, prior, false, 0);
    prior.fill(r + 1);
  }
  return { seconds: (performance.now() - t0) / 1000, probabilities };
}

/** N streams, each round all N pushes at once. */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

async function streamRounds() {
  const streams = Array.from({ length: sessions }, () => model.openStream());
  const before = model.streamStats ?? { batches: 0 };
  let last = null;
  const gc0 = gcMs;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) last = await Promise.all(streams.map((stream, i) => stream.push(pushes[r][i])));
  const seconds = (performance.now() - t0) / 1000;
  for (const stream of streams) stream.close();
  return { seconds, last, batches: model.streamStats.batches - before.batches, gcMs: gcMs - gc0 };
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
process.stdout.write(
  JSON.stringify({
    nativeRate: rate(results.native),
    streamRate: rate(results.streams),
    gcPerRound: median(results.streams.map((x) => x.gcMs)) / rounds,
    batchesPerRound: median(results.streams.map((x) => x.batches)) / rounds,
    width,
    mismatches,
  }),
);

function report(runs) {
  const { backendInfo } = require(join(here, '..', 'dist', 'index.js'));
  const info = backendInfo();
  const rows = runs.flatMap((r) => {
    const young = r.flags.length ? `\`node ${r.flags.join(' ')}\`` : 'default young generation';
    return [
      `| native step of ${sessions.toLocaleString('en')} rows (${young}) | ${Math.round(r.nativeRate).toLocaleString('en')} | 100% | |`,
      `| ${sessions.toLocaleString('en')} streams, one-step pushes all at once (${young}) | ${Math.round(r.streamRate).toLocaleString('en')} | ${((r.streamRate / r.nativeRate) * 100).toFixed(0)}% | ${r.gcPerRound.toFixed(1)} |`,
    ];
  });
  const [plain, large] = runs.map((r) => r.streamRate / r.nativeRate);
  const mismatches = runs.reduce((a, r) => a + r.mismatches, 0);
  const text = `# Streaming throughput: ${sessions.toLocaleString('en')} open streams

Generated by \`npm run bench:stream\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}, rnn-node ${info.version} (${info.variant} binary, ${info.threads} threads).
${opt.cell.toUpperCase()}(${units}), ${F} features per step, ${C} classes, fp32. Each round issues all ${sessions.toLocaleString('en')} one-step pushes together and awaits them with \`Promise.all\`; ${rounds} rounds per run, medians of ${reps} interleaved repetitions. The native step is the addon's stream call on the same ${sessions.toLocaleString('en')} rows (from carried states, head and softmax included, same threads). Each setting ran in its own process.

| run | steps/s | of the native step | GC ms per round |
|---|---|---|---|
${rows.join('\n')}

- Goal: at least 50% of the native step: **${plain >= 0.5 ? 'met' : 'not met'}** with V8's default young generation (${(plain * 100).toFixed(0)}%), **${large >= 0.5 ? 'met' : 'not met'}** with \`--max-semi-space-size=32\` (${(large * 100).toFixed(0)}%).
- The pushes of a round ran as ${runs[0].batchesPerRound.toFixed(1)} native call(s) (\`setBatching({ maxDelayMs: 0, maxBatchSize: ${Math.max(10000, sessions)} })\`): batching across streams works; what is left is JavaScript's cost per push.
- Where the rest goes: per push, checking its steps and making its promise (about 1.3 µs); per round, gathering the pushes' steps into one batch (the states stay where they are: the addon reads and writes each stream's row of its model's state pages, ${runs[0].width} floats); and garbage collection. The ${sessions.toLocaleString('en')} pushes in flight live through the native call (their chunks, promises and results, some 500 bytes each), so with V8's default young generation every round's scavenge copies them and promotes them: the GC column. A larger young generation (\`node --max-semi-space-size=32\`, or \`NODE_OPTIONS\`) lets them die young.
- Every stream's probabilities after the last round equal the direct calls' bit for bit (${mismatches} mismatches).
`;
  writeReportIfComplete(script, opt.report, text, mismatches > 0 ? ['stream results differ from the native step'] : []);
  console.log(text);
}
