/**
 * GRU with resetAfter: true (PyTorch/cuDNN/Keras-2 form; tfjs lacks it) against fixtures
 * computed by PyTorch (scripts/fixtures/gru_reset_after_torch.py, float64): probabilities
 * within 1e-5, loss within 1e-5, parameter gradients within 1e-4 relative error per tensor.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SequenceClassifier, type SequenceClassifierConfig } from '../src/index';
import { maxAbsDiff, relativeError } from './helpers';

interface Fixture {
  name: string;
  config: SequenceClassifierConfig;
  weights: { shape: number[]; values: number[] }[];
  x: { shape: number[]; values: number[]; lengths: number[] };
  y: number[];
  classWeights: number[];
  probabilities: number[];
  loss: number;
  gradients: number[][];
}

const fixtures: { cases: Fixture[] } = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gru-reset-after.json'), 'utf8'));

describe('GRU resetAfter=true parity with PyTorch fixtures', () => {
  it('has fixtures', () => expect(fixtures.cases.length).toBeGreaterThanOrEqual(3));
  for (const c of fixtures.cases) {
    it(c.name, () => {
      const model = new SequenceClassifier(c.config);
      model.setWeights(c.weights);
      const x = { values: Float32Array.from(c.x.values), shape: c.x.shape, lengths: Int32Array.from(c.x.lengths) };
      const probs = model.predictProbaSync(x) as Float32Array;
      expect(maxAbsDiff(probs, c.probabilities)).toBeLessThan(1e-5);
      const { loss, gradients } = model.computeGradients({ x, y: c.y }, { classWeight: c.classWeights });
      expect(Math.abs(loss - c.loss)).toBeLessThan(1e-5);
      gradients.forEach((g, i) => {
        const err = relativeError(g.values, c.gradients[i]);
        expect(err, `${g.name}: relative error ${err}`).toBeLessThan(1e-4);
      });
      model.dispose();
    });
  }
});
