/**
 * The report's ROC and precision-recall numbers against independent definitions: AUC-ROC as
 * the Mann-Whitney probability that a positive outscores a negative (ties half), counted
 * over every pair; average precision as the mean, over positives, of the precision at that
 * positive's score (ties included), which is what sklearn's step-wise sum equals.
 */
import { describe, expect, it } from 'vitest';

import { classCurves, thin } from '../src/report/curves';
import { buildEvaluation, describeSteps } from '../src/report/evaluation';

function random(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Probabilities [n x classes] loosely correlated with the truth, with ties (scores rounded to 0.05). */
function fakePredictions(n: number, classes: number, seed: number) {
  const r = random(seed);
  const truth = Int32Array.from({ length: n }, () => Math.floor(r() * classes));
  const probs = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = Math.round((r() + (c === truth[i] ? 0.6 : 0)) * 20) / 20 + 1e-3;
      probs[i * classes + c] = v;
      sum += v;
    }
    for (let c = 0; c < classes; c++) probs[i * classes + c] /= sum;
  }
  return { truth, probs };
}

function mannWhitney(scores: number[], positive: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((s, i) => {
    if (!positive[i]) return;
    scores.forEach((t, j) => {
      if (positive[j]) return;
      pairs++;
      wins += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

function averagePrecision(scores: number[], positive: boolean[]): number {
  let sum = 0;
  let count = 0;
  scores.forEach((s, i) => {
    if (!positive[i]) return;
    const above = scores.filter((t) => t >= s);
    const hits = scores.filter((t, j) => t >= s && positive[j]).length;
    sum += hits / above.length;
    count++;
  });
  return sum / count;
}

describe('ROC and precision-recall of one class against the rest', () => {
  it.each([
    [200, 3, 1],
    [500, 5, 2],
    [97, 2, 3],
  ])('n=%i, %i classes: AUC equals the Mann-Whitney statistic and AP the mean precision at each positive', (n, classes, seed) => {
    const { truth, probs } = fakePredictions(n, classes, seed);
    for (let c = 0; c < classes; c++) {
      const scores = Array.from({ length: n }, (_, i) => probs[i * classes + c]);
      const positive = Array.from(truth, (t) => t === c);
      const curves = classCurves(probs, truth, classes, c, `class ${c}`);
      expect(curves.aucRoc).toBeCloseTo(mannWhitney(scores, positive), 10);
      expect(curves.averagePrecision).toBeCloseTo(averagePrecision(scores, positive), 10);
      expect(curves.positives + curves.negatives).toBe(n);
      expect(curves.roc[0]).toEqual({ x: 0, y: 0 });
      expect(curves.roc[curves.roc.length - 1]).toEqual({ x: 1, y: 1 });
      expect(curves.pr[0]).toEqual({ x: 0, y: 1 });
      expect(curves.pr[curves.pr.length - 1].x).toBe(1);
    }
  });

  it('a perfect ranking has AUC 1 and AP 1; a reversed one AUC 0', () => {
    const truth = Int32Array.from([0, 0, 1, 1]);
    const perfect = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.4, 0.6]);
    expect(classCurves(perfect, truth, 2, 1, 'b')).toMatchObject({ aucRoc: 1, averagePrecision: 1 });
    const reversed = Float32Array.from([0.1, 0.9, 0.2, 0.8, 0.7, 0.3, 0.6, 0.4]);
    expect(classCurves(reversed, truth, 2, 1, 'b').aucRoc).toBe(0);
  });

  it('a class with no positives has no curves and no areas; one with no negatives no ROC', () => {
    const probs = Float32Array.from([0.6, 0.4, 0.7, 0.3]);
    const none = classCurves(probs, Int32Array.from([0, 0]), 2, 1, 'b');
    expect(none).toMatchObject({ positives: 0, aucRoc: null, averagePrecision: null, roc: [], pr: [] });
    const all = classCurves(probs, Int32Array.from([0, 0]), 2, 0, 'a');
    expect(all).toMatchObject({ negatives: 0, aucRoc: null, roc: [], averagePrecision: 1 });
  });

  it('thinning keeps both ends and at most about 2 * maxPoints points of a monotone curve', () => {
    const points = Array.from({ length: 5000 }, (_, i) => ({ x: i / 4999, y: Math.sqrt(i / 4999) }));
    const thinned = thin(points, 100);
    expect(thinned[0]).toBe(points[0]);
    expect(thinned[thinned.length - 1]).toBe(points[points.length - 1]);
    expect(thinned.length).toBeLessThanOrEqual(201);
    expect(thinned.length).toBeGreaterThan(50);
    expect(thin(points.slice(0, 10), 100)).toHaveLength(10);
  });
});

describe('the evaluation panels', () => {
  it('lists the most confident mistakes first, capped, and counts them all', () => {
    const { truth, probs } = fakePredictions(300, 4, 9);
    const e = buildEvaluation(probs, truth, 4, ['a', 'b', 'c', 'd'], 'validation', (i) => `record ${i}`);
    expect(e.mistakes.length).toBe(Math.min(20, e.mistakeCount));
    expect(e.mistakeCount).toBe(e.count - e.confusionMatrix.reduce((a, row, i) => a + row[i], 0));
    for (let k = 1; k < e.mistakes.length; k++) expect(e.mistakes[k - 1].probability).toBeGreaterThanOrEqual(e.mistakes[k].probability);
    for (const m of e.mistakes) {
      expect(m.truth).not.toBe(m.predicted);
      expect(m.record).toBe(`record ${m.index}`);
      expect(m.truth).toBe(['a', 'b', 'c', 'd'][truth[m.index]]);
    }
    expect(e.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(300);
    expect(e.macroAucRoc).toBeCloseTo(e.perClass.reduce((a, c) => a + c.aucRoc!, 0) / 4, 12);
  });

  it('shows a dense sequence as its length and first steps, within the cap', () => {
    const values = Float32Array.from({ length: 400 * 3 }, (_, i) => i / 7);
    const text = describeSteps(values, 400, 3);
    expect(text).toMatch(/^400 steps: \[0, 0\.14, 0\.29\], \[0\.43, /);
    expect(text.length).toBeLessThan(260);
    expect(describeSteps(Float32Array.from([NaN]), 1, 1)).toBe('1 step: NaN');
  });
});
