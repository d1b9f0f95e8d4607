import { describe, expect, it } from 'vitest';
import { computeMetrics } from '../src/index';

describe('computeMetrics against hand-computed values', () => {
  // 6 samples, 3 classes. Argmax predictions: 0, 0, 1, 2, 2, 0; truth: 0, 1, 1, 2, 0, 0.
  const probs = Float32Array.from([
    0.7, 0.2, 0.1, // pred 0, true 0
    0.5, 0.4, 0.1, // pred 0, true 1 (true class 2nd)
    0.1, 0.8, 0.1, // pred 1, true 1
    0.2, 0.1, 0.7, // pred 2, true 2
    0.3, 0.2, 0.5, // pred 2, true 0 (true class 2nd)
    0.6, 0.1, 0.3, // pred 0, true 0
  ]);
  const truth = Int32Array.from([0, 1, 1, 2, 0, 0]);
  const m = computeMetrics(probs, truth, 3, ['a', 'b', 'c'], 1);

  it('accuracy, loss, confusion matrix', () => {
    expect(m.accuracy).toBeCloseTo(4 / 6, 10);
    expect(m.loss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.4) + Math.log(0.8) + Math.log(0.7) + Math.log(0.3) + Math.log(0.6)) / 6, 6);
    expect(m.confusionMatrix).toEqual([
      [2, 0, 1],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    expect(m.count).toBe(6);
    expect(m.labels).toEqual(['a', 'b', 'c']);
  });

  it('per-class precision, recall, F1 and macro averages', () => {
    // a: tp 2, predicted 3, support 3 -> p 2/3, r 2/3; b: tp 1, predicted 1, support 2 -> p 1, r 1/2;
    // c: tp 1, predicted 2, support 1 -> p 1/2, r 1.
    const expected = [
      { label: 'a', precision: 2 / 3, recall: 2 / 3, support: 3 },
      { label: 'b', precision: 1, recall: 1 / 2, support: 2 },
      { label: 'c', precision: 1 / 2, recall: 1, support: 1 },
    ];
    expected.forEach((e, i) => {
      const c = m.perClass[i];
      expect(c.label).toBe(e.label);
      expect(c.precision).toBeCloseTo(e.precision, 10);
      expect(c.recall).toBeCloseTo(e.recall, 10);
      expect(c.f1).toBeCloseTo((2 * e.precision * e.recall) / (e.precision + e.recall), 10);
      expect(c.support).toBe(e.support);
    });
    expect(m.macroF1).toBeCloseTo((2 / 3 + 2 / 3 + 2 / 3) / 3, 10);
    expect(m.macroPrecision).toBeCloseTo((2 / 3 + 1 + 1 / 2) / 3, 10);
  });

  it('top-k accuracy', () => {
    expect(m.topKAccuracy).toBeCloseTo(4 / 6, 10);
    expect(computeMetrics(probs, truth, 3, null, 2).topKAccuracy).toBe(1);
    expect(computeMetrics(probs, truth, 3, null, 9).topK).toBe(3);
  });

  it('a class never predicted and never present stays out of the macro average', () => {
    const r = computeMetrics(Float32Array.from([0.9, 0.1, 0, 0.2, 0.8, 0]), Int32Array.from([0, 1]), 3, null);
    expect(r.macroF1).toBe(1);
    expect(r.perClass[2]).toEqual({ label: '2', precision: 0, recall: 0, f1: 0, support: 0 });
  });
});

describe('computeMetrics checks its arguments (it is exported)', () => {
  it('refuses probabilities of the wrong length, class indices out of range and bad labels', () => {
    const probs = Float32Array.from([0.9, 0.1, 0.2, 0.8]);
    expect(() => computeMetrics(probs.subarray(0, 3), Int32Array.from([0, 1]), 2, null)).toThrow(/Expected 4 values \(truth.length x classes\) for probs/);
    expect(() => computeMetrics(probs, Int32Array.from([0, 2]), 2, null)).toThrow(/Expected a class index in \[0, 2\) for truth\[1\] but received 2/);
    expect(() => computeMetrics(probs, Int32Array.from([0, 1]), 2, ['a'])).toThrow(/labels/);
    expect(() => computeMetrics(probs, [0, 1] as never, 2, null)).toThrow(TypeError);
    expect(computeMetrics(probs, Int32Array.from([0, 1]), 2, ['a', 'b']).accuracy).toBe(1);
  });
});
