#!/usr/bin/env node
// `npm run bench:int8-profile`: where a step's time goes, per int8 kernel and beside float32,
// from a sampling profile (Linux perf) of the standalone native bench (native/test/bench.cc,
// no Node): the share of the int8 (or float) products, the float gate pass, the quantization
// of A's rows, and packing (the batch layout and workspace clearing). Inference throughput,
// batch 1024, LSTM(128) and GRU(128) on Fashion-MNIST-shaped rows (28 steps x 28 features),
// 1 thread, as bench/RESULTS.md's rows.
//
// Builds the bench twice: for x86-64-v3 (the avx2 prebuilt variant's ISA: AVX2 + FMA float
// kernels; the int8 kernel forced to `avx2` with RNN_NODE_LOW_PRECISION_KERNEL) and for this
// machine (-march=native: every int8 kernel this CPU has). A kernel this CPU lacks is left
// out and named. Writes bench/INT8-PROFILE.md only when every row was measured.
//
// Each row is the fastest of --reps interleaved runs (shares from that run): on a shared VM
// a neighbour's burst slows one run, never speeds one up.
//
//   node bench/int8-profile.mjs [--seconds 3] [--reps 3] [--cells lstm,gru] [--threads 1]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const script = 'bench/int8-profile.mjs';
const opt = parseOptions(script, {
  seconds: { type: 'string', default: '3' },
  reps: { type: 'string', default: '3' },
  cells: { type: 'string', default: 'lstm,gru' },
  threads: { type: 'string', default: '1' },
  report: { type: 'string', default: join(here, 'INT8-PROFILE.md') },
});
const seconds = Number(opt.seconds);
if (!(seconds > 0)) {
  process.stderr.write(`${script}: --seconds must be a positive number, got ${JSON.stringify(opt.seconds)}\n`);
  process.exit(2);
}
const [threads] = positiveIntegers(script, 'threads', opt.threads);
const [reps] = positiveIntegers(script, 'reps', opt.reps);
const cells = opt.cells.split(',');
for (const cell of cells) {
  if (!['lstm', 'gru', 'rnn'].includes(cell)) {
    process.stderr.write(`${script}: --cells takes lstm, gru or rnn, got ${JSON.stringify(cell)}\n`);
    process.exit(2);
  }
}
if (spawnSync('perf', ['--version']).status !== 0) {
  process.stderr.write(`${script}: needs Linux perf on the PATH (apt-get install linux-perf)\n`);
  process.exit(1);
}

// A step's functions, by what they do. The product: the block kernels, the float
// micro-kernels (float32 models, and the portable int8 kernel), their panel loops.
const CATEGORIES = [
  ['int8 / float product', /micro_kernel|_block<|run_int8_panels|multiply_float|multiply_low_precision/],
  ['gate pass', /_rows<|lstm_forward|gru_forward|rnn_forward|fused/],
  ['quantization', /quantize_row/],
  ['packing', /pack_batch|memset|memmove|memcpy/],
];

function build(dir, flags) {
  execFileSync('cmake', ['-S', join(root, 'native'), '-B', dir, '-DCMAKE_BUILD_TYPE=Release', ...flags], { stdio: 'ignore' });
  execFileSync('cmake', ['--build', dir, '-j', String(cpus().length), '--target', 'bench'], { stdio: 'ignore' });
  return join(dir, 'bench');
}

// One profiled run: throughput and the share of each category (self time, percent).
function profile(bench, cell, precision, kernel) {
  const data = join(work, 'perf.data');
  const env = { ...process.env, OMP_NUM_THREADS: String(threads) };
  if (kernel) env.RNN_NODE_LOW_PRECISION_KERNEL = kernel;
  else delete env.RNN_NODE_LOW_PRECISION_KERNEL;
  const run = spawnSync('perf', ['record', '-q', '-F', '999', '-o', data, bench, '--cell', cell, '--precision', precision,
    '--only', 'throughput', '--threads', String(threads), '--seconds', String(seconds)], { env, encoding: 'utf8' });
  const rate = /infer (\d+) seq\/s/.exec(run.stdout ?? '');
  if (run.status !== 0 || !rate) return null;
  const report = execFileSync('perf', ['report', '-i', data, '--no-children', '--sort', 'symbol', '--stdio', '-q'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  const shares = Object.fromEntries([...CATEGORIES.map(([name]) => [name, 0]), ['other', 0]]);
  for (const line of report.split('\n')) {
    const m = /^\s*([\d.]+)%\s+\[[.k]\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const category = CATEGORIES.find(([, pattern]) => pattern.test(m[2]));
    shares[category ? category[0] : 'other'] += Number(m[1]);
  }
  return { rate: Number(rate[1]), shares };
}

// The int8 kernel a build runs when asked for `kernel` (null: its own choice), from the
// bench's own report; null when this CPU lacks it.
function kernelOf(bench, kernel) {
  const env = { ...process.env, RNN_NODE_LOW_PRECISION_KERNEL: kernel ?? '' };
  const out = spawnSync(bench, ['--kernels'], { env, encoding: 'utf8' }).stdout ?? '';
  const m = /int8 kernel: (\S+)/.exec(out);
  return m ? m[1] : null;
}

const work = mkdtempSync(join(tmpdir(), 'rnn-int8-profile-'));
const missing = [];
const rows = [];
try {
  const builds = [
    { name: 'x86-64-v3 (the avx2 variant)', bench: build(join(work, 'v3'), ['-DRNN_NATIVE_ARCH=OFF', '-DCMAKE_CXX_FLAGS=-march=x86-64-v3']), kernels: ['avx2', 'portable'] },
    { name: 'native (this CPU)', bench: build(join(work, 'native'), []), kernels: ['avx512-vnni', 'avx-vnni'] },
  ];
  for (const cell of cells) {
    for (const b of builds) {
      const runs = [{ label: 'float32', precision: 'float32', kernel: null }];
      for (const kernel of b.kernels) {
        if (kernelOf(b.bench, kernel) === kernel) runs.push({ label: `int8 ${kernel}`, precision: 'int8', kernel });
        else rows.push({ cell, build: b.name, label: `int8 ${kernel}`, absent: true });
      }
      // Interleaved repetitions; per row the fastest run.
      const best = runs.map(() => null);
      for (let rep = 0; rep < reps; ++rep) {
        runs.forEach((r, i) => {
          const p = profile(b.bench, cell, r.precision, r.kernel);
          if (p && (!best[i] || p.rate > best[i].rate)) best[i] = p;
        });
      }
      const float = best[0]?.rate ?? null;
      runs.forEach((r, i) => {
        if (!best[i]) {
          missing.push(`${cell} ${b.name} ${r.label}`);
          return;
        }
        rows.push({ cell, build: b.name, label: r.label, ...best[i], ratio: float ? best[i].rate / float : null });
        process.stderr.write(`${cell} ${b.name} ${r.label}: ${best[i].rate} seq/s\n`);
      });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
const names = [...CATEGORIES.map(([name]) => name), 'other'];
const table = [
  `| cell | build | precision | seq/s | vs float32 | ${names.join(' | ')} |`,
  `|---|---|---|---|---|${names.map(() => '---').join('|')}|`,
  ...rows.map((r) => r.absent
    ? `| ${r.cell} | ${r.build} | ${r.label} | not on this CPU | | ${names.map(() => '').join(' | ')} |`
    : `| ${r.cell} | ${r.build} | ${r.label} | ${r.rate} | ${r.ratio ? `${r.ratio.toFixed(2)}x` : ''} | ${names.map((n) => `${r.shares[n].toFixed(1)}%`).join(' | ')} |`),
];
const text = `# Where an int8 step's time goes

Generated by \`npm run bench:int8-profile\` on ${new Date().toISOString().slice(0, 10)}: ${cpu}, ${threads} thread(s), the fastest of ${reps} interleaved ${seconds} s runs per row.
Standalone native bench (no Node), inference throughput, batch 1024, CELL(128) on 28 steps x 28 features.
Shares are self time from \`perf record\` (999 Hz): the product (block kernels, float micro-kernels and their panel loops),
the float gate pass (activations and state update), the quantization of A's rows (x_t and h_{t-1}, every step;
the portable kernel's is inlined into its product and counted there),
packing (the batch layout and workspace clearing), and the rest (pooling, head, the OpenMP runtime, the kernel).
\`vs float32\`: throughput over the float32 row of the same build in this run.
The x86-64-v3 build is the avx2 prebuilt variant's ISA; its int8 kernel is forced with RNN_NODE_LOW_PRECISION_KERNEL.

${table.join('\n')}
`;
if (writeReportIfComplete(script, opt.report, text, missing)) process.stdout.write(`wrote ${opt.report}\n`);
