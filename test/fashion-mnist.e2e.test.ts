/**
 * The main job as a test: Fashion-MNIST rows (28 steps x 28 features, pixels / 255),
 * LSTM(128), Adam 1e-3, batch 128, default initialisers, 2 epochs on the 60k training set:
 * test accuracy >= 0.81 (PyTorch with the same recipe: 0.828 after 2 epochs). Quantized, the
 * same model keeps its test accuracy within 0.3 points (int8 and bf16).
 * Needs Debian's dataset-fashion-mnist (scripts/setup.sh installs it).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SequenceClassifier, readIdxDataset } from '../src/index';

const DATA = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

describe('Fashion-MNIST end to end', () => {
  it('LSTM(128), 2 epochs: test accuracy >= 0.81', async () => {
    expect(existsSync(DATA), `${DATA} is missing: apt-get install dataset-fashion-mnist (or run scripts/setup.sh)`).toBe(true);
    const train = readIdxDataset(DATA, 'train');
    const test = readIdxDataset(DATA, 't10k');
    expect(train.y.length).toBe(60000);
    expect(test.y.length).toBe(10000);
    const model = new SequenceClassifier({ input: { type: 'dense', features: 28 }, layers: [{ cell: 'lstm', units: 128 }], classes: 10, seed: 1 });
    const started = performance.now();
    const history = await model.fit(train, { epochs: 2, batchSize: 128, optimizer: { type: 'adam', learningRate: 1e-3 } });
    const seconds = (performance.now() - started) / 1000;
    const result = await model.evaluate(test);
    console.log(
      `Fashion-MNIST LSTM(128): test accuracy ${result.accuracy.toFixed(4)}, loss ${result.loss.toFixed(4)}; ` +
        `train loss ${history.history.loss.map((l) => l.toFixed(4)).join(' -> ')}; ` +
        `${seconds.toFixed(1)} s for 2 epochs (${Math.round(120000 / seconds)} sequences/s)`,
    );
    expect(result.count).toBe(10000);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.81);
    for (const type of ['int8', 'bf16'] as const) {
      const quantized = await model.quantize({ type });
      const q = await quantized.evaluate(test);
      console.log(`Fashion-MNIST LSTM(128) ${type}: test accuracy ${q.accuracy.toFixed(4)} (float32 ${result.accuracy.toFixed(4)})`);
      expect(Math.abs(q.accuracy - result.accuracy)).toBeLessThanOrEqual(0.003);
      quantized.dispose();
    }
    model.dispose();
  });
});
