/**
 * Training end to end on small synthetic tasks: masked ragged token sequences and
 * variable-length dense sequences reach a stated accuracy; every optimizer learns; the same
 * seed gives bit-identical weights; callbacks, stopTraining, validation, class weights and
 * dropout do what they say.
 */
import { describe, expect, it } from 'vitest';
import { SequenceClassifier, type Dataset, type EpochLogs } from '../src/index';
import { SeededRandom } from '../src/util/random';

/** Label = the first token's class; ragged lengths 3..30, tokens 1..19. */
function firstTokenTask(n: number, seed: number): Dataset & { x: number[][]; y: number[] } {
  const rng = new SeededRandom(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + Math.floor(rng.next() * 28);
    const seq = Array.from({ length: len }, () => 1 + Math.floor(rng.next() * 19));
    x.push(seq);
    y.push(seq[0] % 3);
  }
  return { x, y };
}

/** Noisy sine / square / sawtooth waves of random frequency, phase and length (20..60). */
function waveTask(n: number, seed: number): Dataset & { x: number[][][]; y: number[] } {
  const rng = new SeededRandom(seed);
  const x: number[][][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    const len = 20 + Math.floor(rng.next() * 41);
    const freq = 0.05 + rng.next() * 0.1;
    const phase = rng.next();
    x.push(
      Array.from({ length: len }, (_, t) => {
        const p = (t * freq + phase) % 1;
        const v = kind === 0 ? Math.sin(2 * Math.PI * p) : kind === 1 ? (p < 0.5 ? 1 : -1) : 2 * p - 1;
        return [v + 0.2 * (2 * rng.next() - 1)];
      }),
    );
    y.push(kind);
  }
  return { x, y };
}

describe('training', () => {
  it('masked ragged token sequences: bidirectional GRU learns the first-token task (>= 0.95)', async () => {
    const train = firstTokenTask(3000, 1);
    const test = firstTokenTask(500, 2);
    const model = new SequenceClassifier({
      input: { type: 'tokens', vocabSize: 20, embeddingDim: 8 },
      layers: [{ cell: 'gru', units: 24, bidirectional: true }],
      classes: ['zero', 'one', 'two'],
      seed: 3,
    });
    await model.fit({ x: train.x, y: train.y.map((k) => ['zero', 'one', 'two'][k]) }, { epochs: 8, batchSize: 32, optimizer: { learningRate: 0.01 } });
    const result = await model.evaluate(test);
    console.log(`first-token task: test accuracy ${result.accuracy.toFixed(3)}`);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.95);
    model.dispose();
  });

  it('variable-length dense sequences: LSTM with mean pooling classifies waves (>= 0.95)', async () => {
    const train = waveTask(1500, 3);
    const test = waveTask(300, 4);
    const model = new SequenceClassifier({ input: { type: 'dense', features: 1 }, layers: [{ cell: 'lstm', units: 32 }], pooling: 'mean', classes: 3, seed: 1 });
    await model.fit(train, { epochs: 10, batchSize: 32, optimizer: { learningRate: 0.01 } });
    const result = await model.evaluate(test);
    console.log(`wave task: test accuracy ${result.accuracy.toFixed(3)}`);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.95);
    model.dispose();
  });

  for (const optimizer of [
    { type: 'sgd' as const, learningRate: 0.1, momentum: 0.9 },
    { type: 'sgd' as const, learningRate: 0.1, momentum: 0.9, nesterov: true },
    { type: 'adam' as const, learningRate: 0.01 },
    { type: 'adamw' as const, learningRate: 0.01, weightDecay: 0.01 },
    { type: 'rmsprop' as const, learningRate: 0.005 },
    { type: 'adam' as const, learningRate: 0.01, clipNorm: 0.5 },
  ]) {
    it(`optimizer ${JSON.stringify(optimizer)} lowers the loss`, async () => {
      const data = waveTask(300, 5);
      const model = new SequenceClassifier({ input: { type: 'dense', features: 1 }, layers: [{ cell: 'gru', units: 16 }], pooling: 'mean', classes: 3, seed: 2 });
      const before = (await model.evaluate(data)).loss;
      const history = await model.fit(data, { epochs: 5, batchSize: 16, optimizer });
      const after = (await model.evaluate(data)).loss;
      expect(after).toBeLessThan(before * 0.8);
      expect(history.history.loss[4]).toBeLessThan(history.history.loss[0]);
      model.dispose();
    });
  }

  it('the same seed gives bit-identical weights (shuffling and dropout included)', async () => {
    const data = waveTask(200, 6);
    const run = async () => {
      const model = new SequenceClassifier({
        input: { type: 'dense', features: 1 },
        layers: [{ cell: 'lstm', units: 8, dropout: 0.3 }, { cell: 'gru', units: 6, dropout: 0.2 }],
        classes: 3,
        seed: 9,
      });
      await model.fit(data, { epochs: 2, batchSize: 16, threads: 2 });
      const w = model.getWeights();
      model.dispose();
      return w;
    };
    const [a, b] = [await run(), await run()];
    expect(a).toEqual(b);
    const other = new SequenceClassifier({ input: { type: 'dense', features: 1 }, layers: [{ cell: 'lstm', units: 8 }, { cell: 'gru', units: 6 }], classes: 3, seed: 9 });
    await other.fit(data, { epochs: 2, batchSize: 16, threads: 2, seed: 10 });
    expect(other.getWeights()).not.toEqual(a);
    other.dispose();
  });

  it('calls callbacks in order, logs validation metrics and honours stopTraining', async () => {
    const data = waveTask(64, 7);
    const model = new SequenceClassifier({ input: { type: 'dense', features: 1 }, layers: [{ cell: 'rnn', units: 4 }], classes: 3 });
    const events: string[] = [];
    const logs: EpochLogs[] = [];
    const history = await model.fit(data, {
      epochs: 10,
      batchSize: 16,
      validationData: waveTask(30, 8),
      callbacks: {
        onTrainBegin: () => void events.push('trainBegin'),
        onEpochBegin: (e) => void events.push(`epochBegin ${e}`),
        onBatchEnd: (b, l) => void events.push(`batch ${b} ${l.size}`),
        onEpochEnd: async (e, l) => {
          events.push(`epochEnd ${e}`);
          logs.push(l);
          if (e === 2) model.stopTraining = true;
        },
        onTrainEnd: (h) => void events.push(`trainEnd ${h.epoch.length}`),
      },
    });
    expect(events.slice(0, 7)).toEqual(['trainBegin', 'epochBegin 0', 'batch 0 16', 'batch 1 16', 'batch 2 16', 'batch 3 16', 'epochEnd 0']);
    expect(events.at(-1)).toBe('trainEnd 3');
    expect(history.epoch).toEqual([0, 1, 2]);
    expect(history.history.valAccuracy).toHaveLength(3);
    for (const l of logs) {
      expect(l.valLoss).toBeGreaterThan(0);
      expect(l.valAccuracy).toBeGreaterThanOrEqual(0);
      expect(l.accuracy).toBeLessThanOrEqual(1);
    }
    model.dispose();
  });

  it('class weights shift predictions toward the heavier class', async () => {
    // Labels are pure noise, so only the weights decide which class wins.
    const rng = new SeededRandom(11);
    const x = Array.from({ length: 400 }, () => Array.from({ length: 5 }, () => [rng.next()]));
    const y = Array.from({ length: 400 }, (_, i) => i % 2);
    const share = async (classWeight?: number[]) => {
      const model = new SequenceClassifier({ input: { type: 'dense', features: 1 }, layers: [{ cell: 'gru', units: 4 }], classes: 2, seed: 4 });
      await model.fit({ x, y }, { epochs: 3, batchSize: 20, classWeight, optimizer: { learningRate: 0.01 } });
      const predicted = await model.predict(x);
      model.dispose();
      return predicted.filter((k) => k === 1).length / predicted.length;
    };
    expect(await share([1, 10])).toBeGreaterThan(0.9);
    expect(await share([10, 1])).toBeLessThan(0.1);
  });

  it('dropout acts in training only: predictions are deterministic and differ from a dropout-free twin after training', async () => {
    const data = waveTask(120, 12);
    const make = (dropout: number) =>
      new SequenceClassifier({ input: { type: 'dense', features: 1 }, layers: [{ cell: 'lstm', units: 8, dropout }], classes: 3, seed: 5 });
    const withDropout = make(0.5);
    const without = make(0);
    expect(withDropout.getWeights()).toEqual(without.getWeights());
    expect(await withDropout.predictProba(data.x)).toEqual(await without.predictProba(data.x)); // no dropout at inference
    await withDropout.fit(data, { epochs: 1, batchSize: 8 });
    await without.fit(data, { epochs: 1, batchSize: 8 });
    expect(withDropout.getWeights()).not.toEqual(without.getWeights());
    expect(await withDropout.predictProba(data.x)).toEqual(await withDropout.predictProba(data.x));
    withDropout.dispose();
    without.dispose();
  });
});
