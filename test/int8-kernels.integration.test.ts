/**
 * The int8 kernels give the same probabilities, bit for bit: portable (the integer levels on
 * the float micro-kernels), avx2 (the levels widened to int16, vpmaddwd, for x86 CPUs without VNNI),
 * and avx-vnni / avx512-vnni where this CPU has them. Every cell (LSTM, GRU with reset after
 * and before, SimpleRNN), a bidirectional layer, masked dense input and tokens with maskZero,
 * at 1 and 2 threads. RNN_NODE_LOW_PRECISION_KERNEL picks the kernel; each kernel runs in its
 * own child process (the tests treat the choice as made once per process), which prints the
 * kernel backendInfo() reports and the Float32 bits of every prediction. Runs against dist
 * (`npm run build:ts`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-int8-kernels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Builds small random models, quantizes each to int8, prints the predictions' bits (hex). */
const SCRIPT = `
const { SequenceClassifier, backendInfo } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
let s = 7;
const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const N = 13, T = 7, F = 4, V = 12;
const dense = { type: 'dense', features: F };
const CASES = [
  ['lstm', { input: dense, layers: [{ cell: 'lstm', units: 5 }], classes: 3 }],
  ['gru reset after', { input: dense, layers: [{ cell: 'gru', units: 6, resetAfter: true }], pooling: 'mean', classes: 3 }],
  ['gru reset before', { input: dense, layers: [{ cell: 'gru', units: 5, resetAfter: false }], pooling: 'max', classes: 4 }],
  ['rnn', { input: dense, layers: [{ cell: 'rnn', units: 4 }], classes: 2 }],
  ['bidirectional lstm -> rnn', { input: dense, layers: [{ cell: 'lstm', units: 4, bidirectional: true }, { cell: 'rnn', units: 3 }], classes: 3 }],
  ['masked dense, gru', { input: { type: 'dense', features: F, maskValue: 0 }, layers: [{ cell: 'gru', units: 5 }], classes: 3 }],
  ['tokens maskZero, lstm', { input: { type: 'tokens', vocabSize: V, embeddingDim: 4, maskZero: true }, layers: [{ cell: 'lstm', units: 5 }], classes: 3 }],
  // Big enough that the input projection (576 rows x 32 x 256) splits over 2 threads.
  ['wide lstm', { input: { type: 'dense', features: 32 }, layers: [{ cell: 'lstm', units: 64 }], classes: 3 }, 64, 9],
];
function input(config, n, t) {
  const lengths = Int32Array.from({ length: n }, (_, i) => 1 + ((i * 5) % t));
  if (config.input.type === 'tokens') {
    // Padding (0) at the front, between tokens and at the end; no lengths: maskZero finds them.
    const ids = Int32Array.from({ length: n * t }, (_, k) => (k % t === 1 || (k % 3 === 0 && k % t !== 2) ? 0 : 1 + ((k * 7) % (V - 1))));
    return { values: ids, shape: [n, t] };
  }
  const f = config.input.features;
  const values = Float32Array.from({ length: n * t * f }, () => 1.5 * next());
  if (config.input.maskValue === 0) for (let st = 3; st < n * t; st += 4) if (st % t !== 0) values.fill(0, st * f, (st + 1) * f);
  return { values, shape: [n, t, f], lengths };
}
(async () => {
  const out = { int8Kernel: backendInfo().int8Kernel, results: {} };
  for (const [name, config, n = N, t = T] of CASES) {
    const model = new SequenceClassifier({ ...config, seed: 3 });
    // Weights big enough that the gates are not all near zero.
    model.setWeights(model.getWeights().map((w) => ({ ...w, values: w.values.map((v) => v + 0.3 * next()) })));
    const q = await model.quantize({ type: 'int8' });
    if (q.config.precision !== 'int8') throw new Error('not int8: ' + q.config.precision);
    const x = input(config, n, t);
    const bits = {};
    for (const threads of [1, 2]) bits[threads] = Buffer.from((await q.predictProba(x, { threads })).buffer).toString('hex');
    out.results[name] = bits;
    q.dispose();
    model.dispose();
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface ChildResult {
  int8Kernel: string;
  results: Record<string, Record<string, string>>;
}

function child(kernel: string): ChildResult {
  const script = join(dir, 'int8-kernels.cjs');
  writeFileSync(script, SCRIPT);
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, RNN_NODE_LOW_PRECISION_KERNEL: kernel }, timeout: 120_000 });
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

// This architecture's kernels (native/core/quantized_gemm.cc, quantized_gemm_neon.cc).
const SIMD_KERNELS = process.arch === 'arm64' ? ['neon', 'neon-dot'] : ['avx2', 'avx-vnni', 'avx512-vnni'];

/** One child per kernel name, run when a test first needs it. */
const runs = new Map<string, ChildResult>();
function run(kernel: string): ChildResult {
  if (!runs.has(kernel)) runs.set(kernel, child(kernel));
  return runs.get(kernel)!;
}

describe('int8 kernels: the same probabilities bit for bit', () => {

  it('the portable kernel, forced, is reported and gives the same bits at 1 and 2 threads', () => {
    const portable = run('portable');
    expect(portable.int8Kernel).toBe('portable');
    expect(Object.keys(portable.results)).toHaveLength(8);
    for (const [name, bits] of Object.entries(portable.results)) {
      expect(bits['1'].length, name).toBeGreaterThan(0);
      expect(bits['2'], `${name}: 2 threads`).toBe(bits['1']);
    }
  });

  it('the default is the best kernel this CPU has (avx512-vnni, avx-vnni, avx2 / neon-dot, neon; portable)', () => {
    const byDefault = run(''), portable = run('portable');
    expect(['avx512-vnni', 'avx-vnni', 'avx2', 'neon-dot', 'neon', 'portable']).toContain(byDefault.int8Kernel);
    // Every x86-64 machine this suite runs on has AVX2 at least; every arm64 one NEON.
    if (process.arch === 'x64' || process.arch === 'arm64') expect(byDefault.int8Kernel).not.toBe('portable');
    expect(byDefault.results).toEqual(portable.results);
  });

  for (const kernel of SIMD_KERNELS) {
    it(`${kernel}: reported when forced where the CPU has it, and = portable bit for bit`, () => {
      const ours = run(kernel), portable = run('portable'), byDefault = run('');
      if (ours.int8Kernel !== kernel) {
        // Not on this CPU: the usual choice instead (AVX2 is on every x64 machine we test on).
        expect(ours.int8Kernel, `${kernel} asked for`).toBe(byDefault.int8Kernel);
        if (kernel === 'avx2') expect(process.arch).not.toBe('x64');
        if (kernel === 'neon') expect(process.arch).not.toBe('arm64');
        return;
      }
      console.log(`int8 kernels | ${kernel} = portable on ${Object.keys(ours.results).length} models, 1 and 2 threads`);
      for (const [name, bits] of Object.entries(portable.results)) {
        expect(ours.results[name]['1'], `${kernel}, ${name}, 1 thread`).toBe(bits['1']);
        expect(ours.results[name]['2'], `${kernel}, ${name}, 2 threads`).toBe(bits['1']);
      }
    });
  }
});
