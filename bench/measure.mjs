// One measurement of one peer, shared by bench/run.mjs (the main comparison) and
// bench/grid.mjs (the shape grid): runs the peer's script in a child process and returns
// { ok: true, value, version, detail } or { ok: false, reason } — never throws.
import { execFile } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** Arguments of a peer script for a workload (an object of --key value pairs). */
function argsOf(workload, mode, threads, seconds) {
  const args = ['--mode', mode, '--threads', String(threads), '--seconds', String(seconds)];
  for (const [k, v] of Object.entries(workload)) if (k !== 'tfjs' && k !== 'modes') args.push(`--${k}`, String(v));
  return args;
}

/**
 * peer: rnn-node, rnn-node@<variant>, rnn-node-int8, rnn-node-bf16 (each also @<variant> and :<kernel>), pytorch, pytorch-padded, tfjs-cpu, tfjs-wasm, tfjs-node.
 * config: { threads, env }. options: { python, seconds }.
 */
export async function measure(peer, config, workload, mode, options) {
  const env = { ...process.env, ...(config.env ?? {}) };
  const torch = peer.startsWith('pytorch');
  if (torch) {
    // Some machines pin OpenBLAS to an older kernel (OPENBLAS_CORETYPE=Haswell on an AVX-512
    // CPU): PyTorch gets the kernel OpenBLAS would choose itself, as on a user's machine.
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  const [cmd, script] = torch ? [options.python, join(here, 'peers', 'torch_bench.py')] : [process.execPath, join(here, 'peers', 'node_peer.mjs')];
  // rnn-node@<variant>: one prebuilt binary (env); rnn-node-int8 / -bf16: the model quantized.
  // rnn-node-int8@avx2:portable: the variant in RNN_NODE_ISA, the kernel in RNN_NODE_LOW_PRECISION_KERNEL (config.env).
  const precision = /^rnn-node-(int8|bf16)(?=$|[@:])/.exec(peer)?.[1];
  const kernel = /:([a-z0-9-]+)$/.exec(peer)?.[1];
  const nodePeer = peer.startsWith('rnn-node@') || precision ? 'rnn-node' : peer;
  const args = [script, ...(torch ? (peer === 'pytorch-padded' ? ['--padded'] : []) : ['--peer', nodePeer]), ...(precision ? ['--precision', precision] : []), ...(kernel ? ['--kernel', kernel] : []), ...argsOf(workload, mode, config.threads, options.seconds)];
  try {
    const { stdout } = await run(cmd, args, { env, timeout: 300_000, maxBuffer: 1 << 20 });
    const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    return { ok: true, ...JSON.parse(line) };
  } catch (e) {
    const text = `${e.stderr ?? ''}${e.message ?? ''}`;
    const errorLine = text.split('\n').find((l) => /^\w*Error\b|Error:/.test(l.trim()));
    const reason =
      /Cannot find module '(@tensorflow\/[^']+)'/.exec(text)?.[1]?.concat(' is not installed') ??
      /No module named '?(\w+)/.exec(text)?.[0] ??
      (e.code === 'ENOENT' ? `${cmd} not found` : e.killed ? 'timed out' : (errorLine ?? text.trim().split('\n').pop())?.trim().slice(0, 160));
    return { ok: false, reason };
  }
}

/** Calls per second of an async `step` over a time box of `seconds`, after one warm-up call. */
export async function callsPerSecond(step, seconds) {
  await step();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    await step();
    calls++;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds);
  return calls / elapsed;
}

/** parseArgs for the bench scripts: a bad command line is one stderr line and exit 2. */
export function parseOptions(script, options) {
  try {
    return parseArgs({ options }).values;
  } catch (e) {
    process.stderr.write(`${script}: ${e.message.split('\n')[0]}\n`);
    process.exit(2);
  }
}

/**
 * A command-line list of positive integers ("28,100"), or exit 2 with a message naming the
 * option: a typo must not turn into a benchmark of NaN-sized models.
 */
export function positiveIntegers(script, option, text) {
  const values = String(text).split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    process.stderr.write(`${script}: expected positive integers (comma-separated) for --${option} but received ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return values;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Writes a report only when the run measured what it set out to: `missing` lists what has no
 * sample (rnn-node rows without a value, a run with no rows at all). A run that measured
 * nothing, or only part of what it should, must not overwrite the committed results.
 * Returns true when written; otherwise prints why to stderr and sets exit code 1.
 */
export function writeReportIfComplete(script, path, text, missing) {
  if (missing.length > 0) {
    process.stderr.write(`${script}: not writing ${path}: nothing measured for ${missing.slice(0, 5).join('; ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}\n`);
    process.exitCode = 1;
    return false;
  }
  // Atomic: a reader (or a run killed half-way) never sees half a report.
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
  return true;
}

/**
 * The options both `predict` job benchmarks take (batch-job.mjs, formats.mjs): records,
 * units, cell, batch size and the report path, checked; a bad value is one line and exit 2.
 */
export function parsePredictJobOptions(script, report) {
  const opt = parseOptions(script, {
    records: { type: 'string', default: '1000000' },
    units: { type: 'string', default: '128' },
    cell: { type: 'string', default: 'gru' },
    'batch-size': { type: 'string', default: '2048' },
    report: { type: 'string', default: report },
  });
  const [records] = positiveIntegers(script, 'records', opt.records);
  positiveIntegers(script, 'units', opt.units);
  positiveIntegers(script, 'batch-size', opt['batch-size']);
  if (!['lstm', 'gru', 'rnn'].includes(opt.cell)) {
    process.stderr.write(`${script}: expected one of lstm, gru, rnn for --cell but received ${JSON.stringify(opt.cell)}\n`);
    process.exit(2);
  }
  return { ...opt, records };
}

/**
 * The fp32 GEMM rate of rnn-node's own packed micro-kernels (`bench --gemm-peak`, the standalone
 * C++ benchmark, built here with CMake as the native tests build it), in GFLOP/s:
 * { ok: true, value, detail } or { ok: false, reason }. Never throws.
 */
export async function measurePackedGemm(threads, seconds) {
  const root = join(here, '..');
  const dir = join(root, 'build-native', 'release');
  try {
    await run('cmake', ['-S', join(root, 'native'), '-B', dir, '-DCMAKE_BUILD_TYPE=Release'], { timeout: 300_000 });
    await run('cmake', ['--build', dir, '--target', 'bench', '-j', '2'], { timeout: 900_000, maxBuffer: 16 << 20 });
    const { stdout } = await run(join(dir, 'bench'), ['--gemm-peak', '--threads', String(threads), '--seconds', String(seconds), '--json'], { timeout: 300_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop());
    return { ok: true, value: r.gemmGflops, detail: `packed micro-kernels, best of 4 shapes (m=${r.m} k=${r.k} n=${r.n})` };
  } catch (e) {
    return { ok: false, reason: (e.code === 'ENOENT' ? 'cmake not found' : `${e.stderr ?? ''}${e.message ?? ''}`.trim().split('\n').pop()).slice(0, 160) };
  }
}
