/**
 * `model.quantize()`: int8 and bf16 models against their float32 source on random models of
 * every cell, bidirectional merges, masked and token input, every pooling, ragged batches
 * (max |Δp| within stated bounds); the int8 VNNI kernels against the portable path (the same
 * bits); batch invariance; the grid the weights are put on; save/load; the contract (fit and
 * computeGradients throw InferenceOnlyError, bad options are refused, the source model is
 * unchanged). Accuracy on trained models: fashion-mnist.e2e and language-id.e2e.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { backendInfo, InferenceOnlyError, SequenceClassifier, type SequenceClassifierConfig } from '../src/index';
import { maxAbsDiff, randomFloats } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 48, T = 9, F = 6, V = 20;
const LENGTHS = Int32Array.from({ length: N }, (_, i) => 1 + ((i * 5) % T));
const dense = { type: 'dense' as const, features: F };

const CASES: [string, SequenceClassifierConfig][] = [
  ['LSTM, last', { input: dense, layers: [{ cell: 'lstm', units: 32 }], classes: 5 }],
  ['GRU reset after, mean', { input: dense, layers: [{ cell: 'gru', units: 32 }], pooling: 'mean', classes: 5 }],
  ['GRU reset before, max', { input: dense, layers: [{ cell: 'gru', units: 24, resetAfter: false }], pooling: 'max', classes: 4 }],
  ['SimpleRNN relu', { input: dense, layers: [{ cell: 'rnn', units: 32, activation: 'relu' }], classes: 3 }],
  ['stacked bidirectional LSTM concat -> GRU sum', { input: dense, layers: [{ cell: 'lstm', units: 20, bidirectional: true }, { cell: 'gru', units: 16, bidirectional: true, mergeMode: 'sum' }], pooling: 'mean', classes: 4 }],
  ['masked dense input, bidirectional RNN ave', { input: { type: 'dense', features: F, maskValue: 0 }, layers: [{ cell: 'rnn', units: 16, bidirectional: true, mergeMode: 'ave' }], classes: 3 }],
  ['tokens with maskZero, LSTM hardSigmoid', { input: { type: 'tokens', vocabSize: V, embeddingDim: 8 }, layers: [{ cell: 'lstm', units: 24, recurrentActivation: 'hardSigmoid' }], classes: 3 }],
];

function inputFor(config: SequenceClassifierConfig, seed: number) {
  if (config.input.type === 'tokens') {
    const ids = Int32Array.from({ length: N * T }, (_, k) => (k % T < LENGTHS[Math.floor(k / T)] ? 1 + ((k * 7 + seed) % (V - 1)) : 0));
    return { values: ids, shape: [N, T], lengths: LENGTHS };
  }
  const values = randomFloats(N * T * F, seed, 1.5);
  // Some masked steps, never a sequence's first.
  if ('maskValue' in config.input) for (let s = 3; s < N * T; s += 7) if (s % T !== 0) values.fill(0, s * F, (s + 1) * F);
  return { values, shape: [N, T, F], lengths: LENGTHS };
}

/** A model with weights big enough that the gates are not all near zero. */
function randomModel(config: SequenceClassifierConfig, seed: number): SequenceClassifier {
  const model = new SequenceClassifier({ ...config, seed });
  model.setWeights(model.getWeights().map((w, k) => {
    const noise = randomFloats(w.values.length, 100 + k + seed, 0.3);
    return { ...w, values: w.values.map((v, j) => v + noise[j]) };
  }));
  return model;
}

/** Runs `run` with RNN_NODE_LOW_PRECISION_KERNEL set (read by the addon at each quantize). */
async function withKernel<T>(kernel: 'portable' | 'avx-vnni', run: () => Promise<T>): Promise<T> {
  process.env.RNN_NODE_LOW_PRECISION_KERNEL = kernel;
  try {
    return await run();
  } finally {
    delete process.env.RNN_NODE_LOW_PRECISION_KERNEL;
  }
}
const withPortableKernels = <T>(run: () => Promise<T>) => withKernel('portable', run);

/** Whether this CPU can run the AVX-VNNI int8 kernel (the addon reports it when asked for it). */
function hasAvxVnni(): boolean {
  process.env.RNN_NODE_LOW_PRECISION_KERNEL = 'avx-vnni';
  try {
    return backendInfo().int8Kernel === 'avx-vnni';
  } finally {
    delete process.env.RNN_NODE_LOW_PRECISION_KERNEL;
  }
}

describe('quantize(): int8 and bf16 against float32', () => {
  const info = backendInfo();
  it('reports its kernels', () => {
    expect(['avx512-vnni', 'avx-vnni', 'avx2', 'neon-dot', 'neon', 'portable']).toContain(info.int8Kernel);
    expect(['avx512-bf16', 'portable']).toContain(info.bf16Kernel);
  });

  CASES.forEach(([name, config], i) => {
    it(`${name}: close to float32; int8 ${info.int8Kernel} = portable bit for bit; batch-invariant`, async () => {
      const model = randomModel(config, i + 1);
      const x = inputFor(config, i);
      const reference = model.predictProbaSync(x) as Float32Array;
      for (const type of ['int8', 'bf16'] as const) {
        const quantized = await model.quantize({ type });
        expect(quantized.config.precision).toBe(type);
        const ours = quantized.predictProbaSync(x) as Float32Array;
        const diff = maxAbsDiff(ours, reference);
        console.log(`quantize | ${name} | ${type} | max |Δp| ${diff.toExponential(1)}`);
        // int8 keeps ~7 bits per operand, bf16 8: on these small random models the
        // probabilities move by at most a few thousandths.
        expect(diff).toBeLessThan(type === 'int8' ? 0.02 : 0.01);
        expect(diff).toBeGreaterThan(0); // it really computes in low precision
        const portable = await withPortableKernels(async () => {
          const p = await model.quantize({ type });
          const out = p.predictProbaSync(x) as Float32Array;
          p.dispose();
          return out;
        });
        if (type === 'int8') expect(Buffer.from(portable.buffer).equals(Buffer.from(ours.buffer))).toBe(true);
        else expect(maxAbsDiff(portable, ours)).toBeLessThan(1e-5);
        // Each row quantized alone: a sequence gets the same bits in any batch.
        const C = quantized.config.classes;
        for (const r of [0, 17, N - 1]) {
          const one = quantized.predictProbaSync({ values: x.values.slice(r * x.values.length / N, (r + 1) * x.values.length / N) as never, shape: [1, ...x.shape.slice(1)], lengths: x.lengths.slice(r, r + 1) }) as Float32Array;
          expect(Buffer.from(one.buffer).equals(Buffer.from(ours.slice(r * C, (r + 1) * C).buffer)), `row ${r}`).toBe(true);
        }
        quantized.dispose();
      }
      // The source model is untouched.
      expect(model.config.precision).toBe('float32');
      expect(Buffer.from((model.predictProbaSync(x) as Float32Array).buffer).equals(Buffer.from(reference.buffer))).toBe(true);
      model.dispose();
    });
  });
});

// On a CPU with AVX-512 VNNI the VEX-encoded AVX-VNNI kernel (Alder Lake, Zen 5 without
// AVX-512 use) is not picked by default; asked for, it must give the portable path's bits too.
describe.runIf(hasAvxVnni())('quantize(): the AVX-VNNI int8 kernel', () => {
  it('= portable bit for bit on every case, ragged, and on 2 threads', async () => {
    for (const [i, [name, config]] of CASES.entries()) {
      const model = randomModel(config, i + 1);
      const x = inputFor(config, i);
      const run = (kernel: 'portable' | 'avx-vnni', threads: number) =>
        withKernel(kernel, async () => {
          const q = await model.quantize({ type: 'int8' });
          const out = (await q.predictProba(x, { threads })) as Float32Array;
          q.dispose();
          return out;
        });
      const portable = await run('portable', 1);
      for (const threads of [1, 2]) {
        const ours = await run('avx-vnni', threads);
        expect(Buffer.from(ours.buffer).equals(Buffer.from(portable.buffer)), `${name}, ${threads} threads`).toBe(true);
      }
      model.dispose();
    }
  });
});

describe('quantize(): products big enough to split over threads', () => {
  it('int8 on 2 threads (the all-steps input projection split by panels) = portable on 1, bit for bit', async () => {
    const model = randomModel({ input: { type: 'dense', features: 28 }, layers: [{ cell: 'lstm', units: 128 }], classes: 10 }, 21);
    const rows = 320, steps = 28;
    const x = { values: randomFloats(rows * steps * 28, 8), shape: [rows, steps, 28] };
    for (const type of ['int8', 'bf16'] as const) {
      const quantized = await model.quantize({ type });
      const parallel = (await quantized.predictProba(x, { threads: 2 })) as Float32Array;
      const single = await withPortableKernels(async () => {
        const p = await model.quantize({ type });
        const out = (await p.predictProba(x, { threads: 1 })) as Float32Array;
        p.dispose();
        return out;
      });
      // bf16: vdpbf16ps and the float kernels sum the same products in another order.
      if (type === 'int8') expect(Buffer.from(parallel.buffer).equals(Buffer.from(single.buffer))).toBe(true);
      else expect(maxAbsDiff(parallel, single)).toBeLessThan(1e-3);
      quantized.dispose();
    }
    model.dispose();
  });

  it('int8 is refused past products of depth 1024 (exact int32 sums); bf16 is not', async () => {
    const wide = new SequenceClassifier({ input: { type: 'dense', features: 1100 }, layers: [{ cell: 'rnn', units: 8 }], classes: 2 });
    await expect(wide.quantize()).rejects.toThrow(/int8 needs its input width and units at most 1024; they are 1100 and 8\).* for options\.type but received 'int8'/);
    const bf16 = await wide.quantize({ type: 'bf16' });
    expect(bf16.config.precision).toBe('bf16');
    bf16.dispose();
    wide.dispose();
  });
});

describe('quantized weights, files and the contract', () => {
  const config: SequenceClassifierConfig = { input: dense, layers: [{ cell: 'gru', units: 16, bidirectional: true }], classes: ['a', 'b', 'c'] };

  it('puts each W and U column on an int8 grid (127 levels of its own scale) or on bf16; the rest stays float32', async () => {
    const model = randomModel(config, 9);
    const source = model.getWeights();
    const int8 = (await model.quantize()).getWeights();
    const bf16 = (await model.quantize({ type: 'bf16' })).getWeights();
    int8.forEach((w, k) => {
      const recurrent = /\/(kernel|recurrent_kernel)$/.test(w.name) && !w.name.startsWith('dense/');
      if (!recurrent) {
        expect(w.values).toEqual(source[k].values);
        expect(bf16[k].values).toEqual(source[k].values);
        return;
      }
      const [rows, cols] = w.shape;
      for (let j = 0; j < cols; j++) {
        let max = 0;
        for (let r = 0; r < rows; r++) max = Math.max(max, Math.abs(source[k].values[r * cols + j]));
        const scale = Math.fround(max / 127);
        for (let r = 0; r < rows; r++) {
          const level = w.values[r * cols + j] / scale;
          expect(Math.abs(level - Math.round(level))).toBeLessThan(1e-3);
          expect(Math.abs(w.values[r * cols + j] - source[k].values[r * cols + j])).toBeLessThanOrEqual(scale / 2 + 1e-7);
        }
      }
      const bits = new Uint32Array(Float32Array.from(bf16[k].values).buffer);
      expect(bits.every((b) => (b & 0xffff) === 0)).toBe(true);
    });
    model.dispose();
  });

  it('setWeights on a quantized model moves the values onto its grid: getWeights shows what it computes with', async () => {
    const model = randomModel(config, 12);
    const x = inputFor(config, 3);
    for (const type of ['int8', 'bf16'] as const) {
      const q = await model.quantize({ type });
      const before = q.predictProbaSync(x) as Float32Array;
      q.setWeights(model.getWeights()); // float32 values, off the grid
      const shown = q.getWeights();
      // The same as quantize() made: the grid, and the same predictions.
      const fresh = await model.quantize({ type });
      shown.forEach((w, k) => expect(Array.from(w.values)).toEqual(Array.from(fresh.getWeights()[k].values)));
      expect(Buffer.from((q.predictProbaSync(x) as Float32Array).buffer).equals(Buffer.from(before.buffer))).toBe(true);
      q.dispose();
      fresh.dispose();
    }
    model.dispose();
  });

  it('saves and loads: the same precision, the same predictions; info and evaluate take it as it is', async () => {
    const model = randomModel(config, 4);
    const x = inputFor(config, 3);
    for (const type of ['int8', 'bf16'] as const) {
      const quantized = await model.quantize({ type });
      const path = join(dir, `${type}.rnn`);
      await quantized.save(path);
      expect(readFileSync(path).readUInt32LE(8)).toBe(3);
      const loaded = await SequenceClassifier.load(path);
      expect(loaded.config).toEqual(quantized.config);
      expect(Buffer.from((loaded.predictProbaSync(x) as Float32Array).buffer).equals(Buffer.from((quantized.predictProbaSync(x) as Float32Array).buffer))).toBe(true);
      const evaluation = await loaded.evaluate({ x, y: Array.from({ length: N }, (_, i) => ['a', 'b', 'c'][i % 3]) });
      expect(evaluation.count).toBe(N);
      loaded.dispose();
      quantized.dispose();
    }
    model.dispose();
  });

  it('fit and computeGradients throw InferenceOnlyError; options are checked', async () => {
    const model = randomModel(config, 2);
    const quantized = await model.quantize();
    const data = { x: inputFor(config, 1), y: Array.from({ length: N }, () => 'a') };
    await expect(quantized.fit(data, { epochs: 1 })).rejects.toThrow(InferenceOnlyError);
    await expect(quantized.fit(data, { epochs: 1 })).rejects.toThrow(/inference-only \(int8 precision, made by quantize\(\)\)/);
    expect(() => quantized.computeGradients(data)).toThrow(InferenceOnlyError);
    await expect(quantized.quantize({ type: 'bf16' })).rejects.toThrow(/already int8/);
    await expect(quantized.toOnnx(join(dir, 'q.onnx'))).rejects.toThrow(/Cannot export this int8 model to ONNX.*export the float32 model/);
    await expect(quantized.toTfjs(join(dir, 'q-tfjs'))).rejects.toThrow(/Cannot export this int8 model to tfjs/);
    await expect(model.quantize({ type: 'int4' as never })).rejects.toThrow(/options.type/);
    await expect(model.quantize({ bits: 8 } as never)).rejects.toThrow(/options.bits is not an option/);
    await expect(model.quantize(null as never)).rejects.toThrow(/options/);
    expect(() => new SequenceClassifier({ ...config, precision: 'fp16' as never })).toThrow(/config.precision/);
    quantized.dispose();
    model.dispose();
    await expect(model.quantize()).rejects.toThrow(/disposed/);
  });
});
