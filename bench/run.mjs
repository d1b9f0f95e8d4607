// `npm run bench`: rnn-node against its peers on the same models in the same run,
// interleaved (every repetition visits every peer), medians of the repetitions. Prints a
// table and writes bench/results/latest.json and bench/RESULTS.md. A peer that cannot run
// is reported with the reason, never dropped.
//
//   node bench/run.mjs [--reps 3] [--seconds 2] [--workloads fmnist-lstm,fmnist-gru,tokens-lstm]
//                      [--peers rnn-node,pytorch,onnxruntime,tfjs-cpu,tfjs-wasm,tfjs-node] [--python /usr/bin/python3]
//                      [--report bench/RESULTS.md]
// Peers `rnn-node@baseline`, `rnn-node@avx2`, `rnn-node@avx512` run one prebuilt ISA variant
// (RNN_NODE_ISA; `npm run prebuild` first); plain `rnn-node` is whichever binary loads by default.
// `rnn-node-int8@avx2:portable` is that variant's int8 model on a forced kernel; `--peers
// variants` runs every variant with every int8 kernel, beside onnxruntime.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import runOptionsModule from './run-options.cjs';
import { measure as measurePeer, measurePackedGemm, median, parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { runOptions } = runOptionsModule;
const opt = parseOptions('bench/run.mjs', runOptions(here));
const all = availableParallelism();
const WORKLOADS = {
  'fmnist-lstm': { cell: 'lstm', units: 128, steps: 28, features: 28, classes: 10, batch: 128, 'infer-batch': 1024, tfjs: true },
  'fmnist-gru': { cell: 'gru', units: 128, steps: 28, features: 28, classes: 10, batch: 128, 'infer-batch': 1024, tfjs: true },
  'tokens-lstm': { cell: 'lstm', units: 128, steps: 400, features: 32, classes: 2, batch: 32, 'infer-batch': 256, vocab: 5000, 'min-length': 3, tfjs: false },
  // Pixel by pixel (784 steps of one feature): long sequences, where the per-step GEMMs are
  // thin (k = 1 for the input) and memory for backward grows with T. Training only.
  'fmnist-pixels-lstm': { cell: 'lstm', units: 128, steps: 784, features: 1, classes: 10, batch: 128, 'infer-batch': 1024, tfjs: false, modes: ['train'] },
};
// Each peer at 1 thread and at its best setting for this machine.
const PEERS = {
  'rnn-node': [{ threads: 1 }, { threads: all }],
  // Inference only: the same model after model.quantize({ type }).
  'rnn-node-int8': [{ threads: 1 }, { threads: all }],
  'rnn-node-bf16': [{ threads: 1 }, { threads: all }],
  pytorch: [
    { threads: 1, env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } },
    { threads: all, env: { OMP_NUM_THREADS: String(all), OPENBLAS_NUM_THREADS: '1' } },
  ],
  // Token task only: PyTorch on padded batches (its packed-sequence path is much slower on CPU).
  'pytorch-padded': [
    { threads: 1, env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } },
    { threads: all, env: { OMP_NUM_THREADS: String(all), OPENBLAS_NUM_THREADS: '1' } },
  ],
  'tfjs-cpu': [{ threads: 1 }],
  'tfjs-wasm': [{ threads: 1 }],
  'tfjs-node': [{ threads: all }],
  // Inference only: the same model exported with model.toOnnx.
  onnxruntime: [{ threads: 1 }, { threads: all }],
};
// Every ISA variant, and every low-precision kernel inside it: rnn-node@avx2 (the variant's
// float32), rnn-node-int8@avx2 (its int8 on the kernel it picks), rnn-node-int8@avx2:portable
// (forced with RNN_NODE_LOW_PRECISION_KERNEL). A forced kernel the CPU lacks is reported as
// such (the peer checks backendInfo), never measured under another kernel's name.
const VARIANTS = ['baseline', 'avx2', 'avx512'];
const LOW_KERNELS = { int8: ['portable', 'avx2', 'avx-vnni', 'avx512-vnni'], bf16: ['portable', 'avx512-bf16'] };
for (const variant of VARIANTS) {
  PEERS[`rnn-node@${variant}`] = PEERS['rnn-node'].map((c) => ({ ...c, env: { RNN_NODE_ISA: variant } }));
  for (const precision of ['int8', 'bf16']) {
    PEERS[`rnn-node-${precision}@${variant}`] = PEERS['rnn-node'].map((c) => ({ ...c, env: { RNN_NODE_ISA: variant } }));
    for (const kernel of LOW_KERNELS[precision])
      PEERS[`rnn-node-${precision}@${variant}:${kernel}`] = PEERS['rnn-node'].map((c) => ({ ...c, env: { RNN_NODE_ISA: variant, RNN_NODE_LOW_PRECISION_KERNEL: kernel } }));
  }
}
for (const precision of ['int8', 'bf16'])
  for (const kernel of LOW_KERNELS[precision]) PEERS[`rnn-node-${precision}:${kernel}`] = PEERS['rnn-node'].map((c) => ({ ...c, env: { RNN_NODE_LOW_PRECISION_KERNEL: kernel } }));
// --peers variants: every variant this CPU runs, float32 and int8 on each int8 kernel, and
// onnxruntime beside them (bench/VARIANTS.md).
const VARIANT_PEERS = VARIANTS.flatMap((v) => [`rnn-node@${v}`, ...LOW_KERNELS.int8.map((k) => `rnn-node-int8@${v}:${k}`)]).concat('onnxruntime');
// concurrent: 2,000 single-sequence calls in flight at once (rnn-node with setBatching,
// onnxruntime-node with one run per call), sequences/s and the calls' p99 latency.
const MODES = ['train', 'infer', 'latency', 'concurrent'];
const CONCURRENT_PEERS = ['rnn-node', 'onnxruntime'];

/** Whether this CPU has AVX-512 (the kernel's flags; false where they cannot be read). */
function hasAvx512() {
  try {
    return /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** Whether `peer` runs `mode` of workload `w` at all. */
function scheduled(w, mode, peer) {
  if (WORKLOADS[w].modes && !WORKLOADS[w].modes.includes(mode)) return false;
  if (!WORKLOADS[w].tfjs && peer.startsWith('tfjs')) return false;
  if (peer === 'pytorch-padded' && !WORKLOADS[w].vocab) return false;
  if ((peer === 'onnxruntime' || /^rnn-node-(int8|bf16)\b/.test(peer)) && mode === 'train') return false;
  if (mode === 'concurrent' && !CONCURRENT_PEERS.includes(peer)) return false;
  return true;
}

/** A comma-separated list whose every entry is one of `known`, or exit 2 naming the option. */
function namesOf(option, known) {
  const names = opt[option].split(',');
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`bench/run.mjs: expected names among ${known.join(', ')} for --${option} but received ${unknown.map((n) => JSON.stringify(n)).join(', ')}\n`);
    process.exit(2);
  }
  return names;
}
const workloads = namesOf('workloads', Object.keys(WORKLOADS));
const peers = opt.peers === 'variants' ? VARIANT_PEERS : namesOf('peers', Object.keys(PEERS));
const [reps] = positiveIntegers('bench/run.mjs', 'reps', opt.reps);
const samples = new Map(); // key -> { values: [], reasons: [], rss: [], p99: [], meta }
const key = (w, m, p, t) => `${w}|${m}|${p}|${t}`;
const started = Date.now();

// The fp32 GEMM peak of this machine, in this run, at each thread count rnn-node runs at: the
// better of rnn-node's packed micro-kernels (the standalone C++ bench) and PyTorch's BLAS
// (torch.mm 2048^3). Achieved GFLOP/s of the float32 rows are set against it below.
const peak = {};
if (peers.includes('rnn-node')) {
  for (const { threads } of PEERS['rnn-node']) {
    const packed = await measurePackedGemm(threads, 2);
    const blas = await measurePeer('pytorch', { threads, env: { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) } }, {}, 'gemm', { python: opt.python, seconds: 2 });
    peak[threads] = { packed, blas, best: Math.max(packed.ok ? packed.value : 0, blas.ok ? blas.value : 0) || null };
    const say = (r) => (r.ok ? `${r.value.toFixed(1)} GFLOP/s` : `not measured (${r.reason})`);
    process.stderr.write(`GEMM peak, ${threads} thread(s): packed kernels ${say(packed)}, torch.mm ${say(blas)}\n`);
  }
}
for (let rep = 0; rep < reps; rep++) {
  for (const w of workloads) {
    for (const mode of MODES) {
      if (WORKLOADS[w].modes && !WORKLOADS[w].modes.includes(mode)) continue;
      for (const peer of peers) {
        if (!scheduled(w, mode, peer)) continue;
        for (const config of PEERS[peer]) {
          const k = key(w, mode, peer, config.threads);
          const entry = samples.get(k) ?? { values: [], reasons: [], rss: [], p99: [], meta: {} };
          samples.set(k, entry);
          if (entry.reasons.length && !entry.values.length) continue; // it could not run: don't retry
          // The pure-JS peers are orders of magnitude slower: one short time box each.
          const seconds = peer.startsWith('tfjs-') && peer !== 'tfjs-node' ? 0.5 : Number(opt.seconds);
          const r = await measurePeer(peer, config, WORKLOADS[w], mode, { python: opt.python, seconds });
          if (r.ok) {
            entry.values.push(r.value);
            if (r.maxRssMB) entry.rss.push(r.maxRssMB);
            if (r.p99Ms) entry.p99.push(r.p99Ms);
            entry.meta = { version: r.version ?? r.torch, detail: r.detail };
          } else entry.reasons.push(r.reason);
          process.stderr.write(`rep ${rep + 1}/${reps} ${w} ${mode} ${peer} x${config.threads}: ${r.ok ? r.value.toFixed(mode === 'latency' ? 3 : 0) : `cannot run (${r.reason})`}\n`);
        }
      }
    }
  }
}

const rows = [];
for (const [k, e] of samples) {
  const [workload, mode, peer, threads] = k.split('|');
  rows.push({ workload, mode, peer, threads: Number(threads), median: e.values.length ? median(e.values) : null, samples: e.values, rssMB: e.rss.length ? Math.max(...e.rss) : null, p99Ms: e.p99.length ? median(e.p99) : null, reason: e.reasons[0] ?? null, ...e.meta });
}
// Ratios: rnn-node at its best over each peer at its best (latency: lower is better).
const best = (w, m, p) => {
  const vals = rows.filter((r) => r.workload === w && r.mode === m && r.peer === p && r.median !== null).map((r) => r.median);
  if (!vals.length) return null;
  return m === 'latency' ? Math.min(...vals) : Math.max(...vals);
};
/** The median of one peer at one thread count, or null. */
const at = (w, m, p, t) => rows.find((r) => r.workload === w && r.mode === m && r.peer === p && r.threads === t && r.median !== null)?.median ?? null;
const unit = { train: 'seq/s', infer: 'seq/s', latency: 'ms', concurrent: 'seq/s' };
const lines = [
  '# rnn-node benchmark results',
  '',
  `Generated by \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model ?? 'unknown CPU'}, ${all} CPUs available, Node ${process.versions.node}.`,
  `Workloads: Fashion-MNIST rows (28 steps x 28 features, 10 classes) with LSTM(128) or GRU(128) (PyTorch's GRU form; tfjs only has the reset-before GRU, used instead); tokens: embedding 32 + LSTM(128), vocabulary 5000, lengths 3..400, 2 classes (PyTorch with packed sequences, and padded for reference); pixels: Fashion-MNIST pixel by pixel (784 steps x 1 feature), LSTM(128), training only.`,
  `Medians of ${reps} interleaved repetitions (${opt.seconds} s time boxes; tfjs cpu/wasm 0.5 s). Train: batch 128 (tokens: 32), Adam; infer: batch 1024 (tokens: 256); latency: one sequence; concurrent: 2,000 calls of one sequence each, all in flight at once (rnn-node: \`setBatching({ maxDelayMs: 2, maxBatchSize: 256 })\`; onnxruntime-node: one \`session.run\` per call), with the calls' p99 latency.`,
  '`ratio` = rnn-node at its best thread count over the peer at its best (for latency: peer time / rnn-node time); > 1 means rnn-node is faster. `peak RSS`: the largest resident set of the measuring process over the repetitions (model, data, runtime and all). `rnn-node-int8` / `-bf16`: the same model after `model.quantize({ type })` (inference only), compared below each table. Concurrent single-sequence calls with dynamic batching: bench/BATCHING.md.',
  // onnxruntime picks its own kernels by CPUID: beside our avx2 or baseline variant it still
  // runs AVX-512 where the CPU has it, which the reader must know to read the ratios.
  ...(peers.includes('onnxruntime') && hasAvx512()
    ? ['', '**onnxruntime on AVX-512**: this CPU has AVX-512, and onnxruntime uses it whichever rnn-node variant it is set against; ratios to it are goals only on a machine without AVX-512.']
    : []),
  '',
];
// What each peer ran on (binary and kernel, BLAS core, runtime threads), once per peer.
const details = new Map();
for (const r of rows) if (r.detail && !details.has(r.peer)) details.set(r.peer, r.detail);
if (details.size) lines.push('What ran:', '', ...[...details].map(([peer, detail]) => `- ${peer}: ${detail}`), '');
for (const w of workloads) {
  lines.push(`## ${w}`, '', '| mode | peer | threads | median | ratio | peak RSS | samples |', '|---|---|---|---|---|---|---|');
  for (const mode of MODES) {
    const ours = best(w, mode, 'rnn-node');
    for (const r of rows.filter((x) => x.workload === w && x.mode === mode)) {
      const theirs = best(w, mode, r.peer);
      const ratio = r.peer.startsWith('rnn-node') || ours === null || theirs === null ? '' : (mode === 'latency' ? theirs / ours : ours / theirs).toFixed(2) + 'x';
      const p99 = r.p99Ms === null ? '' : ` (p99 ${r.p99Ms.toFixed(1)} ms)`;
      const value = r.median === null ? `cannot run: ${r.reason}` : `${r.median.toFixed(mode === 'latency' ? 3 : 0)} ${unit[mode]}${p99}`;
      const rss = r.rssMB === null ? '' : `${Math.round(r.rssMB)} MB`;
      lines.push(`| ${mode} | ${r.peer}${r.version ? ` ${r.version}` : ''} | ${r.threads} | ${value} | ${ratio} | ${rss} | ${r.samples.map((s) => s.toFixed(mode === 'latency' ? 3 : 0)).join(', ')} |`);
    }
  }
  // The quantized models against their own float32 (the same variant) and against
  // onnxruntime (float32, the same architecture): at each thread count, and at the best of each.
  const summary = [];
  for (const q of peers.filter((p) => /^rnn-node-(int8|bf16)/.test(p))) {
    const variant = /@([a-z0-9]+)/.exec(q)?.[1];
    const ownPeer = variant ? `rnn-node@${variant}` : 'rnn-node';
    const parts = [];
    for (const mode of ['infer', 'latency']) {
      const speedup = (mine, other) => (mine === null || other === null ? null : (mode === 'latency' ? other / mine : mine / other).toFixed(2) + 'x');
      const cells = [];
      for (const t of [...new Set(PEERS['rnn-node'].map((c) => c.threads))]) {
        const mine = at(w, mode, q, t);
        const own = speedup(mine, at(w, mode, ownPeer, t)), ort = speedup(mine, at(w, mode, 'onnxruntime', t));
        if (own || ort) cells.push(`${t} thread${t > 1 ? 's' : ''}: ${[own && `${own} its float32`, ort && `${ort} onnxruntime`].filter(Boolean).join(', ')}`);
      }
      const own = speedup(best(w, mode, q), best(w, mode, ownPeer)), ort = speedup(best(w, mode, q), best(w, mode, 'onnxruntime'));
      if (own || ort) cells.push(`best of each: ${[own && `${own} its float32`, ort && `${ort} onnxruntime`].filter(Boolean).join(', ')}`);
      if (cells.length) parts.push(`${mode} ${cells.join('; ')}`);
    }
    if (parts.length) summary.push(`- ${q}: ${parts.join('. ')}`);
  }
  if (summary.length) lines.push('', ...summary);
  lines.push('');
}
// Share of the GEMM peak: float32 rnn-node rows of the dense workloads, FLOPs of their GEMMs
// (forward 2·T·G·H·(F+H) + 2·H·C per sequence; training 3x forward).
const gates = { lstm: 4, gru: 3, rnn: 1 };
const peakRows = rows.filter((r) => r.peer === 'rnn-node' && r.mode !== 'latency' && r.median !== null && !WORKLOADS[r.workload].vocab && peak[r.threads]?.best);
if (peakRows.length) {
  const say = (r) => (r.ok ? `${r.value.toFixed(1)}` : `not measured (${r.reason})`);
  lines.push(
    '## Share of the GEMM peak',
    '',
    `fp32 GEMM peak in this run (GFLOP/s; the better of the two is the peak): ${Object.entries(peak).map(([t, p]) => `${t} thread${t === '1' ? '' : 's'}: rnn-node's packed micro-kernels ${say(p.packed)}, torch.mm 2048³ ${say(p.blas)}`).join('; ')}.`,
    'GFLOP/s count the recurrent layer\'s and the head\'s GEMMs: forward 2·T·G·H·(F+H) + 2·H·C per sequence (G = 4 for LSTM, 3 for GRU), training 3x forward. Everything else a step does (gate activations, the loss, the optimizer, packing) is time without GEMM FLOPs.',
    '',
    '| workload | mode | threads | seq/s | GFLOP/s | % of GEMM peak |',
    '|---|---|---|---|---|---|',
  );
  for (const r of peakRows) {
    const w = WORKLOADS[r.workload];
    const forward = 2 * w.steps * gates[w.cell] * w.units * (w.features + w.units) + 2 * w.units * w.classes;
    const gflops = (r.median * (r.mode === 'train' ? 3 * forward : forward)) / 1e9;
    lines.push(`| ${r.workload} | ${r.mode} | ${r.threads} | ${r.median.toFixed(0)} | ${gflops.toFixed(1)} | ${((100 * gflops) / peak[r.threads].best).toFixed(0)}% |`);
  }
  lines.push('');
}
lines.push(`Total benchmark time: ${Math.round((Date.now() - started) / 1000)} s.`, '');
mkdirSync(opt.out, { recursive: true });
writeFileSync(join(opt.out, 'latest.json'), JSON.stringify({ date: new Date().toISOString(), cpus: all, cpu: cpus()[0]?.model, peak, rows }, null, 1));
process.stdout.write(lines.join('\n'));
// Every workload and mode needs a measured rnn-node row (any variant), or the report stays as
// it was: the modes the run's rnn-node peers measure (--peers variants has no concurrent
// rnn-node row), or every mode when the run has no rnn-node peer at all.
const missing = [];
const ours = peers.filter((p) => p.startsWith('rnn-node'));
for (const w of workloads)
  for (const mode of MODES.filter((m) => (ours.length ? ours.some((p) => scheduled(w, m, p)) : !WORKLOADS[w].modes || WORKLOADS[w].modes.includes(m))))
    if (!rows.some((r) => r.workload === w && r.mode === mode && r.peer.startsWith('rnn-node') && r.median !== null)) missing.push(`${w} ${mode} (rnn-node)`);
if (rows.length === 0) missing.push('every workload');
writeReportIfComplete('bench/run.mjs', opt.report, lines.join('\n'), missing);
