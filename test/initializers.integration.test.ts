/**
 * Weight initialisers: each draws from the distribution it names (bounds, variance,
 * orthogonality, the LSTM forget bias), a config names them or gets DEFAULT_INITIALIZERS,
 * bad names are refused naming the field, and they travel with saved models.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DEFAULT_INITIALIZERS, type LayerConfig, SequenceClassifier, type WeightTensor } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-init-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function weightsOf(layer: Partial<LayerConfig> & Pick<LayerConfig, 'cell' | 'units'>, input: 'dense' | 'tokens' = 'dense', embeddingInitializer?: 'uniform' | 'normal', seed = 1) {
  const model = new SequenceClassifier({
    input: input === 'dense' ? { type: 'dense', features: 32 } : { type: 'tokens', vocabSize: 600, embeddingDim: 32, ...(embeddingInitializer ? { embeddingInitializer } : {}) },
    layers: [layer],
    classes: 3,
    seed,
  });
  const weights = model.getWeights();
  model.dispose();
  const byName = (suffix: string): WeightTensor => weights.find((w) => w.name.endsWith(suffix))!;
  return { weights, byName };
}

const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const mean = (v: Float32Array) => v.reduce((a, x) => a + x, 0) / v.length;
const variance = (v: Float32Array) => {
  const m = mean(v);
  return v.reduce((a, x) => a + (x - m) ** 2, 0) / v.length;
};
/** Columns [from, from + width) of a row-major [rows, cols] tensor, flattened. */
function columns(w: WeightTensor, from: number, width: number): Float32Array {
  const [rows, cols] = w.shape;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(w.values.subarray(r * cols + from, r * cols + from + width), r * width);
  return out;
}

describe('initialisers draw what they name', () => {
  const units = 64;
  const k = 1 / Math.sqrt(units);

  it("kernel 'glorotUniform' is U(±√(6/(fan_in+fan_out))), 'torchUniform' U(±1/√units)", () => {
    const glorot = weightsOf({ cell: 'lstm', units, kernelInitializer: 'glorotUniform' }).byName('/kernel').values;
    const limit = Math.sqrt(6 / (32 + 4 * units));
    expect(maxAbs(glorot)).toBeLessThanOrEqual(limit);
    expect(maxAbs(glorot)).toBeGreaterThan(0.95 * limit);
    expect(variance(glorot)).toBeCloseTo(limit ** 2 / 3, 4);
    const torch = weightsOf({ cell: 'lstm', units, kernelInitializer: 'torchUniform' }).byName('/kernel').values;
    expect(maxAbs(torch)).toBeLessThanOrEqual(k);
    expect(maxAbs(torch)).toBeGreaterThan(0.95 * k);
    expect(Math.abs(variance(torch) / (k ** 2 / 3) - 1)).toBeLessThan(0.05);
  });

  it("recurrent 'orthogonal' has orthonormal rows, 'torchUniform' is U(±1/√units)", () => {
    const u = weightsOf({ cell: 'gru', units: 16, recurrentInitializer: 'orthogonal' }).byName('/recurrent_kernel');
    const [rows, cols] = u.shape;
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < rows; j++) {
        let dot = 0;
        for (let c = 0; c < cols; c++) dot += u.values[i * cols + c] * u.values[j * cols + c];
        expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-5);
      }
    const torch = weightsOf({ cell: 'gru', units, recurrentInitializer: 'torchUniform' }).byName('/recurrent_kernel').values;
    expect(maxAbs(torch)).toBeLessThanOrEqual(k);
    expect(Math.abs(variance(torch) / (k ** 2 / 3) - 1)).toBeLessThan(0.05);
  });

  it("bias 'zeros' and 'torchUniform' (PyTorch's b_ih + b_hh), with the LSTM forget bias at 1 while unitForgetBias", () => {
    const zeros = weightsOf({ cell: 'lstm', units, biasInitializer: 'zeros' }).byName('/bias');
    expect(columns({ ...zeros, shape: [1, 4 * units] }, 0, units).every((v) => v === 0)).toBe(true);
    expect(columns({ ...zeros, shape: [1, 4 * units] }, units, units).every((v) => v === 1)).toBe(true);
    // One stored bias: the sum of two U(±k), on [-2k, 2k] with variance 2k²/3.
    const torch = weightsOf({ cell: 'lstm', units: 256, biasInitializer: 'torchUniform', unitForgetBias: false }, 'dense', undefined, 3).byName('/bias').values;
    const k256 = 1 / 16;
    expect(maxAbs(torch)).toBeLessThanOrEqual(2 * k256);
    expect(maxAbs(torch)).toBeGreaterThan(k256);
    expect(Math.abs(variance(torch) / ((2 * k256 ** 2) / 3) - 1)).toBeLessThan(0.15);
    const withForget = weightsOf({ cell: 'lstm', units, biasInitializer: 'torchUniform', unitForgetBias: true }).byName('/bias');
    const flat = { ...withForget, shape: [1, 4 * units] };
    expect(columns(flat, units, units).every((v) => v === 1)).toBe(true);
    expect(columns(flat, 0, units).some((v) => v !== 0 && v !== 1)).toBe(true);
    // GRU reset_after keeps both biases, [2, 3u]: each row U(±k) like PyTorch's.
    const gru = weightsOf({ cell: 'gru', units: 256, biasInitializer: 'torchUniform' }).byName('/bias');
    expect(gru.shape).toEqual([2, 768]);
    expect(maxAbs(gru.values)).toBeLessThanOrEqual(k256);
    expect(Math.abs(variance(gru.values) / (k256 ** 2 / 3) - 1)).toBeLessThan(0.1);
  });

  it("embedding 'uniform' is U(±0.05), 'normal' N(0, 1)", () => {
    const uniform = weightsOf({ cell: 'rnn', units: 4 }, 'tokens', 'uniform').byName('embeddings').values;
    expect(maxAbs(uniform)).toBeLessThanOrEqual(0.05);
    const normal = weightsOf({ cell: 'rnn', units: 4 }, 'tokens', 'normal').byName('embeddings').values;
    expect(Math.abs(mean(normal))).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(variance(normal)) - 1)).toBeLessThan(0.03);
    expect(maxAbs(normal)).toBeGreaterThan(3);
  });

  it('the head stays glorot-uniform with zero bias whatever the layers use', () => {
    const { byName } = weightsOf({ cell: 'lstm', units, kernelInitializer: 'torchUniform', recurrentInitializer: 'torchUniform', biasInitializer: 'torchUniform' });
    expect(maxAbs(byName('dense/kernel').values)).toBeLessThanOrEqual(Math.sqrt(6 / (units + 3)));
    expect(byName('dense/bias').values.every((v) => v === 0)).toBe(true);
  });

  it('a seed gives the same weights every time; another initialiser gives other weights', () => {
    const a = weightsOf({ cell: 'lstm', units: 8, kernelInitializer: 'torchUniform' }).weights;
    const b = weightsOf({ cell: 'lstm', units: 8, kernelInitializer: 'torchUniform' }).weights;
    const c = weightsOf({ cell: 'lstm', units: 8, kernelInitializer: 'glorotUniform' }).weights;
    expect(a.map((w) => Array.from(w.values))).toEqual(b.map((w) => Array.from(w.values)));
    expect(Array.from(a[0].values)).not.toEqual(Array.from(c[0].values));
  });
});

describe('initialisers in the config', () => {
  it('default to DEFAULT_INITIALIZERS, the measured choice, and are refused by name when unknown', () => {
    // bench/INIT.md: N(0, 1) embeddings with Keras's kernels, recurrent kernels and biases.
    expect(DEFAULT_INITIALIZERS).toEqual({ embedding: 'normal', kernel: 'glorotUniform', recurrent: 'orthogonal', bias: 'zeros' });
    const model = new SequenceClassifier({ input: { type: 'tokens', vocabSize: 9, embeddingDim: 4 }, layers: [{ cell: 'gru', units: 3 }], classes: 2 });
    expect(model.config.input).toMatchObject({ embeddingInitializer: DEFAULT_INITIALIZERS.embedding });
    expect(model.config.layers[0]).toMatchObject({
      kernelInitializer: DEFAULT_INITIALIZERS.kernel,
      recurrentInitializer: DEFAULT_INITIALIZERS.recurrent,
      biasInitializer: DEFAULT_INITIALIZERS.bias,
    });
    model.dispose();
    const make = (layer: Record<string, unknown>, input: Record<string, unknown> = { type: 'dense', features: 2 }) => () =>
      new SequenceClassifier({ input, layers: [{ cell: 'lstm', units: 2, ...layer }], classes: 2 } as never);
    expect(make({ kernelInitializer: 'heNormal' })).toThrow(/'glorotUniform', 'torchUniform' for config\.layers\[0\]\.kernelInitializer but received 'heNormal'/);
    expect(make({ kernelInitializer: 'heNormal' })).toThrow(RangeError);
    expect(make({ recurrentInitializer: 3 })).toThrow(TypeError);
    expect(make({ biasInitializer: 'ones' })).toThrow(/config\.layers\[0\]\.biasInitializer/);
    expect(make({}, { type: 'tokens', vocabSize: 5, embeddingDim: 2, embeddingInitializer: 'glorot' })).toThrow(/'uniform', 'normal' for config\.input\.embeddingInitializer/);
  });

  it('are saved with the model and come back on load', async () => {
    const model = new SequenceClassifier({
      input: { type: 'tokens', vocabSize: 9, embeddingDim: 4, embeddingInitializer: 'uniform' },
      layers: [{ cell: 'lstm', units: 3, kernelInitializer: 'torchUniform', recurrentInitializer: 'torchUniform', biasInitializer: 'torchUniform', unitForgetBias: false }],
      classes: 2,
    });
    const path = join(dir, 'init.rnn');
    await model.save(path);
    const loaded = await SequenceClassifier.load(path);
    expect(loaded.config).toEqual(model.config);
    expect(loaded.getWeights().map((w) => Array.from(w.values))).toEqual(model.getWeights().map((w) => Array.from(w.values)));
    model.dispose();
    loaded.dispose();
  });
});
