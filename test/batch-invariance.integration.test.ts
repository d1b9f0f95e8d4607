/**
 * One invariant under sharded and queued batch jobs: a sequence's probabilities are the same
 * bits whatever batch it is in, wherever in that batch, and whatever the thread count. (The
 * kernels compute each row from that row alone in a fixed order: native/core/packed_gemm.cc,
 * and the head and softmax in classifier_head.cc; native/test/packed_gemm_test.cc checks the GEMM
 * itself.)
 */
import { describe, expect, it } from 'vitest';

import { SequenceClassifier, type SequenceClassifierConfig } from '../src/index';

function generator(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

const CASES: [string, SequenceClassifierConfig][] = [
  ['LSTM(128), last step', { input: { type: 'dense', features: 28 }, layers: [{ cell: 'lstm', units: 128 }], classes: 10 }],
  ['bidirectional GRU(37) + RNN(19), mean', { input: { type: 'dense', features: 5 }, layers: [{ cell: 'gru', units: 37, bidirectional: true }, { cell: 'rnn', units: 19 }], classes: 4, pooling: 'mean' }],
  ['tokens, GRU(24) reset before, max', { input: { type: 'tokens', vocabSize: 60, embeddingDim: 12 }, layers: [{ cell: 'gru', units: 24, resetAfter: false }], classes: 3, pooling: 'max' }],
  // The head keeps up to 16 classes' sums in registers, a few rows at a time; wider heads sum in memory.
  ['LSTM(20), 16 classes', { input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 20 }], classes: 16 }],
  ['RNN(12), 23 classes', { input: { type: 'dense', features: 3 }, layers: [{ cell: 'rnn', units: 12 }], classes: 23 }],
];

describe('a sequence predicts the same bits in any batch', () => {
  for (const [name, config] of CASES) {
    it(name, async () => {
      const model = new SequenceClassifier({ ...config, seed: 5 });
      const r = generator(17);
      const tokens = config.input.type === 'tokens';
      const features = config.input.type === 'dense' ? config.input.features : 1;
      const x = Array.from({ length: 150 }, (_, i) =>
        Array.from({ length: 1 + ((i * 7) % 33) }, () => (tokens ? 1 + Math.floor(((r() + 1) / 2) * 58) : Array.from({ length: features }, r))),
      ) as number[][][];
      const reference = (await model.predictProba(x, { batchSize: 150, threads: 1 })) as number[][];
      const mixes: [string, number[][][], number, number][] = [
        ['one at a time', x, 1, 1],
        ['batches of 7, 2 threads', x, 7, 2],
        ['batches of 64, 2 threads', x, 64, 2],
        ['reversed, batches of 50', [...x].reverse(), 50, 2],
      ];
      for (const [mix, input, batchSize, threads] of mixes) {
        const got = (await model.predictProba(input, { batchSize, threads })) as number[][];
        const aligned = mix.startsWith('reversed') ? [...got].reverse() : got;
        const differing = aligned.flatMap((row, i) => row.map((p, c) => (Object.is(p, reference[i][c]) ? null : `${i}:${c}`))).filter(Boolean);
        expect(differing, `${mix}: sequences whose probabilities changed`).toEqual([]);
      }
      // Alone, in the middle of a batch of strangers: still the same bits.
      const stranger = x.slice(100, 110);
      const inMiddle = (await model.predictProba([...stranger.slice(0, 5), x[3], ...stranger.slice(5)], { batchSize: 11, threads: 2 })) as number[][];
      expect(inMiddle[5]).toEqual(reference[3]);
    });
  }
});
