import { describe, expect, it } from 'vitest';
import { DEFAULT_INITIALIZERS, SequenceClassifier } from '../src/index';
import { randomDense } from './helpers';

describe('SequenceClassifier config and weights', () => {
  it('applies the documented defaults', () => {
    const m = new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'gru', units: 4 }], classes: 2 });
    expect(m.config.layers[0]).toEqual({
      cell: 'gru',
      units: 4,
      bidirectional: false,
      mergeMode: 'concat',
      activation: 'tanh',
      recurrentActivation: 'sigmoid',
      resetAfter: true,
      unitForgetBias: true,
      dropout: 0,
      kernelInitializer: DEFAULT_INITIALIZERS.kernel,
      recurrentInitializer: DEFAULT_INITIALIZERS.recurrent,
      biasInitializer: DEFAULT_INITIALIZERS.bias,
    });
    expect(m.config.pooling).toBe('last');
    expect(m.config.seed).toBe(0);
    const t = new SequenceClassifier({ input: { type: 'tokens', vocabSize: 10, embeddingDim: 4 }, layers: [{ cell: 'lstm', units: 2 }], classes: 2 });
    expect(t.config.input).toEqual({ type: 'tokens', vocabSize: 10, embeddingDim: 4, maskZero: true, embeddingInitializer: DEFAULT_INITIALIZERS.embedding });
    m.dispose();
    t.dispose();
  });

  it('lists weights in tfjs getWeights order and Keras shapes', () => {
    const m = new SequenceClassifier({
      input: { type: 'tokens', vocabSize: 11, embeddingDim: 5 },
      layers: [
        { cell: 'lstm', units: 4, bidirectional: true },
        { cell: 'gru', units: 3 },
        { cell: 'gru', units: 2, resetAfter: false },
      ],
      classes: 6,
    });
    const w = m.getWeights();
    expect(w.map((t) => [t.name, t.shape])).toEqual([
      ['embedding/embeddings', [11, 5]],
      ['bidirectional_0/forward_lstm/kernel', [5, 16]],
      ['bidirectional_0/forward_lstm/recurrent_kernel', [4, 16]],
      ['bidirectional_0/forward_lstm/bias', [16]],
      ['bidirectional_0/backward_lstm/kernel', [5, 16]],
      ['bidirectional_0/backward_lstm/recurrent_kernel', [4, 16]],
      ['bidirectional_0/backward_lstm/bias', [16]],
      ['gru_1/kernel', [8, 9]],
      ['gru_1/recurrent_kernel', [3, 9]],
      ['gru_1/bias', [2, 9]],
      ['gru_2/kernel', [3, 6]],
      ['gru_2/recurrent_kernel', [2, 6]],
      ['gru_2/bias', [6]],
      ['dense/kernel', [2, 6]],
      ['dense/bias', [6]],
    ]);
    expect(m.paramCount).toBe(w.reduce((n, t) => n + t.values.length, 0));
    m.dispose();
  });

  it('initialises like Keras: orthogonal recurrent kernels, forget bias 1, zero biases', () => {
    const m = new SequenceClassifier({ input: { type: 'dense', features: 7 }, layers: [{ cell: 'lstm', units: 6 }], classes: 3, seed: 5 });
    const [kernel, recurrent, bias, denseKernel, denseBias] = m.getWeights();
    // Rows of the [6, 24] recurrent kernel are orthonormal.
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) {
        let dot = 0;
        for (let k = 0; k < 24; k++) dot += recurrent.values[i * 24 + k] * recurrent.values[j * 24 + k];
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 5);
      }
    const limit = Math.sqrt(6 / (7 + 24));
    expect(Math.max(...kernel.values.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...kernel.values.map(Math.abs))).toBeGreaterThan(limit * 0.8);
    expect(Array.from(bias.values)).toEqual([...Array(6).fill(0), ...Array(6).fill(1), ...Array(12).fill(0)]);
    expect(Array.from(denseBias.values)).toEqual([0, 0, 0]);
    expect(denseKernel.values.length).toBe(18);
    m.dispose();
  });

  it('same seed, same weights; different seed, different weights', () => {
    const make = (seed: number) =>
      new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'rnn', units: 4 }], classes: 2, seed });
    const [a, b, c] = [make(1), make(1), make(2)];
    expect(a.getWeights()[0].values).toEqual(b.getWeights()[0].values);
    expect(a.getWeights()[0].values).not.toEqual(c.getWeights()[0].values);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('setWeights round-trips and changes predictions', async () => {
    const m = new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 4 }], classes: 3, seed: 1 });
    const other = new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 4 }], classes: 3, seed: 2 });
    const x = randomDense([4, 2, 3], 3, 7);
    const before = m.predictProbaSync(x) as number[][];
    m.setWeights(other.getWeights());
    expect(m.getWeights()).toEqual(other.getWeights());
    expect(m.predictProbaSync(x)).toEqual(other.predictProbaSync(x));
    expect(m.predictProbaSync(x)).not.toEqual(before);
    m.setWeights(other.getWeights().map((t) => ({ values: Array.from(t.values) })));
    expect(m.getWeights()).toEqual(other.getWeights());
    m.dispose();
    other.dispose();
  });

  it('returns label names from predict when classes are names', async () => {
    const m = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 3 }], classes: ['cat', 'dog'] });
    const labels = await m.predict([[[0.1, 0.2]], [[0.3, 0.1], [0.2, 0.2]]]);
    expect(labels).toHaveLength(2);
    for (const l of labels) expect(['cat', 'dog']).toContain(l);
    expect(m.predictSync([[[0.1, 0.2]]])).toEqual([labels[0]]);
    m.dispose();
  });

  it('probabilities are typed for typed input and nested for nested input, and sum to 1', async () => {
    const m = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'lstm', units: 3 }], classes: 4 });
    const typed = await m.predictProba({ values: new Float32Array(3 * 5 * 2).fill(0.5), shape: [3, 5, 2], lengths: new Int32Array([5, 1, 3]) });
    expect(typed).toBeInstanceOf(Float32Array);
    expect((typed as Float32Array).length).toBe(12);
    const nested = (await m.predictProba(randomDense([5, 1, 3], 2, 1))) as number[][];
    expect(nested).toHaveLength(3);
    for (const row of nested) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    m.dispose();
  });
});
