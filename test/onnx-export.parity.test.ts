/**
 * `toOnnx` against onnxruntime-node, the native ONNX runtime Node users choose: each exported
 * graph, run by onnxruntime on ragged batches (lengths 6, 2, 4, 1, 5 of 6 steps), predicts
 * within 1e-5 of rnn-node, across cells, activations, both GRU forms, stacking, bidirectional
 * merges, every pooling, token input and masking models (maskZero, maskValue) with padding
 * steps at the front, between steps and before the length; the boundary (inputs x and lengths, output
 * probabilities, dynamic N and T) is checked from the session itself. Read back with
 * `fromOnnx`, each is the same model, bit for bit (rnn → onnx → rnn).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { SequenceClassifier, type SequenceClassifierConfig } from '../src/index';
import { maxAbsDiff, randomFloats } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 5, T = 6, F = 3, V = 11;
const LENGTHS = Int32Array.from([6, 2, 4, 1, 5]);

const dense = { type: 'dense' as const, features: F };
const CASES: [string, SequenceClassifierConfig][] = [
  ['SimpleRNN tanh', { input: dense, layers: [{ cell: 'rnn', units: 5 }], classes: 4 }],
  ['SimpleRNN relu', { input: dense, layers: [{ cell: 'rnn', units: 5, activation: 'relu' }], classes: 4 }],
  ['LSTM sigmoid', { input: dense, layers: [{ cell: 'lstm', units: 6 }], classes: 4 }],
  ['LSTM hardSigmoid', { input: dense, layers: [{ cell: 'lstm', units: 6, recurrentActivation: 'hardSigmoid' }], classes: 4 }],
  ['GRU reset after (linear_before_reset=1)', { input: dense, layers: [{ cell: 'gru', units: 5 }], classes: 3 }],
  ['GRU reset before, hardSigmoid', { input: dense, layers: [{ cell: 'gru', units: 5, resetAfter: false, recurrentActivation: 'hardSigmoid' }], classes: 3 }],
  ['stacked LSTM -> GRU -> SimpleRNN', { input: dense, layers: [{ cell: 'lstm', units: 5 }, { cell: 'gru', units: 4 }, { cell: 'rnn', units: 3 }], classes: 3 }],
  ['bidirectional LSTM, concat, last', { input: dense, layers: [{ cell: 'lstm', units: 4, bidirectional: true }], classes: 3 }],
  ['bidirectional GRU sum over bidirectional LSTM mul, mean', { input: dense, layers: [{ cell: 'lstm', units: 4, bidirectional: true, mergeMode: 'mul' }, { cell: 'gru', units: 3, bidirectional: true, mergeMode: 'sum' }], pooling: 'mean', classes: 3 }],
  ['bidirectional RNN ave, max', { input: dense, layers: [{ cell: 'rnn', units: 4, bidirectional: true, mergeMode: 'ave' }], pooling: 'max', classes: 3 }],
  ['mean over an LSTM', { input: dense, layers: [{ cell: 'lstm', units: 5 }], pooling: 'mean', classes: 3 }],
  ['max over a bidirectional GRU (concat)', { input: dense, layers: [{ cell: 'gru', units: 4, bidirectional: true }], pooling: 'max', classes: 3 }],
  ['tokens: Gather + LSTM', { input: { type: 'tokens', vocabSize: V, embeddingDim: 4 }, layers: [{ cell: 'lstm', units: 5 }], classes: ['a', 'b', 'c'] }],
  ['tokens: Gather + bidirectional GRU ave, mean', { input: { type: 'tokens', vocabSize: V, embeddingDim: 4 }, layers: [{ cell: 'gru', units: 4, bidirectional: true, mergeMode: 'ave' }], pooling: 'mean', classes: 2 }],
  ['tokens without maskZero: id 0 is a real step', { input: { type: 'tokens', vocabSize: V, embeddingDim: 4, maskZero: false }, layers: [{ cell: 'gru', units: 4 }], classes: 3 }],
  // Padding inside the rows: at the front, between steps and before the length.
  ['masked tokens (maskZero), padding anywhere: LSTM, last', { input: { type: 'tokens', vocabSize: V, embeddingDim: 4 }, layers: [{ cell: 'lstm', units: 5 }], classes: 3 }],
  ['masked tokens, padding anywhere: bidirectional GRU sum, max', { input: { type: 'tokens', vocabSize: V, embeddingDim: 4 }, layers: [{ cell: 'gru', units: 4, bidirectional: true, mergeMode: 'sum' }], pooling: 'max', classes: 3 }],
  ['Masking(0) on dense input, padding anywhere: LSTM, last', { input: { type: 'dense', features: F, maskValue: 0 }, layers: [{ cell: 'lstm', units: 5 }], classes: 3 }],
  ['Masking(-1), padding anywhere: bidirectional GRU concat, mean', { input: { type: 'dense', features: F, maskValue: -1 }, layers: [{ cell: 'gru', units: 4, bidirectional: true }], pooling: 'mean', classes: 3 }],
  ['Masking(0.5), padding anywhere: stacked RNN -> bidirectional LSTM ave, max', { input: { type: 'dense', features: F, maskValue: 0.5 }, layers: [{ cell: 'rnn', units: 4 }, { cell: 'lstm', units: 3, bidirectional: true, mergeMode: 'ave' }], pooling: 'max', classes: 2 }],
];

/** Padding steps (row, step) inside the lengths 6, 2, 4, 1, 5: every row keeps a real step. */
const PADDING: [number, number][] = [[0, 0], [0, 3], [1, 0], [2, 1], [2, 2], [4, 4]];
const masks = (config: SequenceClassifierConfig) => (config.input.type === 'tokens' ? config.input.maskZero !== false : config.input.maskValue != null);

describe('toOnnx, run by onnxruntime-node', () => {
  CASES.forEach(([name, config], i) => {
    it(`${name}: within 1e-5 on a ragged batch`, async () => {
      const model = new SequenceClassifier({ ...config, seed: 11 + i });
      model.setWeights(model.getWeights().map((w, k) => ({ ...w, values: w.values.map((v, j) => v + randomFloats(w.values.length, 300 + k + i, 0.4)[j]) })));
      const path = join(dir, `model-${i}.onnx`);
      await model.toOnnx(path);
      let ours: Float32Array;
      let x: ort.Tensor;
      if (config.input.type === 'dense') {
        const values = randomFloats(N * T * F, 40 + i);
        if (masks(config)) for (const [s, t] of PADDING) values.fill(config.input.maskValue!, (s * T + t) * F, (s * T + t + 1) * F);
        ours = model.predictProbaSync({ values, shape: [N, T, F], lengths: LENGTHS }) as Float32Array;
        x = new ort.Tensor('float32', values, [N, T, F]);
      } else {
        // Past each length: id 0 for rnn-node (no lengths given: a masking model skips zeros
        // anywhere), other ids for onnxruntime, which must not read past `lengths`.
        const past = (k: number) => k % T >= LENGTHS[Math.floor(k / T)];
        const ids = Int32Array.from({ length: N * T }, (_, k) => (past(k) ? 0 : 1 + ((k * 7) % (V - 1))));
        if (masks(config)) {
          for (const [s, t] of PADDING) ids[s * T + t] = 0;
          ours = model.predictProbaSync({ values: ids, shape: [N, T] }) as Float32Array;
        } else {
          ours = model.predictProbaSync({ values: ids, shape: [N, T], lengths: LENGTHS }) as Float32Array;
        }
        x = new ort.Tensor('int64', BigInt64Array.from(ids, (v, k) => BigInt(past(k) ? 1 + (k % (V - 1)) : v)), [N, T]);
      }
      const session = await ort.InferenceSession.create(path);
      expect(session.inputNames).toEqual(['x', 'lengths']);
      expect(session.outputNames).toEqual(['probabilities']);
      const out = await session.run({ x, lengths: new ort.Tensor('int32', LENGTHS, [N]) });
      const theirs = out.probabilities.data as Float32Array;
      expect(out.probabilities.dims).toEqual([N, model.config.classes]);
      const diff = maxAbsDiff(theirs, ours);
      console.log(`onnx export | ${name} | ${diff.toExponential(1)}`);
      expect(diff).toBeLessThan(1e-5);
      // The batch and time axes are dynamic: another batch size and length run too.
      if (config.input.type === 'dense') {
        const more = await session.run({ x: new ort.Tensor('float32', randomFloats(2 * 9 * F, 7), [2, 9, F]), lengths: new ort.Tensor('int32', Int32Array.from([9, 3]), [2]) });
        expect(more.probabilities.dims).toEqual([2, model.config.classes]);
      }
      await session.release();
      // Back in rnn-node: the same config, weights and predictions, bit for bit.
      const back = await SequenceClassifier.fromOnnx(path);
      expect(back.config).toEqual(model.config);
      back.getWeights().forEach((w, k) => expect(Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength).equals(Buffer.from(model.getWeights()[k].values.buffer)), w.name).toBe(true));
      const input = config.input.type === 'dense' ? { values: randomFloats(N * T * F, 40 + i), shape: [N, T, F], lengths: LENGTHS } : { values: Int32Array.from({ length: N * T }, (_, k) => 1 + ((k * 5) % (V - 1))), shape: [N, T], lengths: LENGTHS };
      expect(Buffer.from((back.predictProbaSync(input) as Float32Array).buffer).equals(Buffer.from((model.predictProbaSync(input) as Float32Array).buffer))).toBe(true);
      back.dispose();
      model.dispose();
    });
  });

  it('carries labels, preprocessing and config as metadata, and refuses what the boundary cannot say', async () => {
    const model = new SequenceClassifier({ input: { type: 'tokens', vocabSize: V, embeddingDim: 3 }, layers: [{ cell: 'gru', units: 3 }], classes: ['x', 'y'] });
    model.preprocessing = { kind: 'ids', vocabSize: V, maxLength: null };
    const path = join(dir, 'meta.onnx');
    await model.toOnnx(path);
    const { onnx } = await import('onnx-proto');
    const proto = onnx.ModelProto.decode(readFileSync(path));
    expect(Number(proto.opsetImport[0].version)).toBe(17);
    const meta = JSON.parse(proto.metadataProps.find((p) => p.key === 'rnn-node')!.value!);
    expect(meta).toMatchObject({ labels: ['x', 'y'], preprocessing: { kind: 'ids' }, config: { classes: 2 } });
    await expect(model.toOnnx('')).rejects.toThrow(TypeError);
    model.dispose();
  });
});
