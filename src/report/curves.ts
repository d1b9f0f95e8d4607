/**
 * One-vs-rest ROC and precision-recall curves of one class from predicted probabilities,
 * with their areas, computed over every distinct threshold (so the areas are exact), then
 * thinned for drawing.
 *
 * Sweeping the threshold t down through the distinct scores, with P positives and N
 * negatives and tp(t), fp(t) the records scored >= t:
 *   ROC point   (fpr, tpr) = (fp/N, tp/P), from (0, 0) to (1, 1);
 *   AUC-ROC     = sum over steps of (fpr_k - fpr_{k-1}) * (tpr_k + tpr_{k-1}) / 2   (trapezoids:
 *                 tied scores count half, as in the Mann-Whitney statistic);
 *   PR point    (recall, precision) = (tp/P, tp/(tp+fp));
 *   AP          = sum over steps of (recall_k - recall_{k-1}) * precision_k   (sklearn's
 *                 average_precision_score: a step function, no interpolation).
 */

export interface CurvePoint {
  x: number;
  y: number;
}

export interface ClassCurves {
  /** The class these curves treat as positive. */
  label: string;
  positives: number;
  negatives: number;
  /** ROC points (x: false-positive rate, y: true-positive rate); empty when undefined. */
  roc: CurvePoint[];
  /** PR points (x: recall, y: precision); empty when undefined. */
  pr: CurvePoint[];
  /** Area under the ROC curve; null when the class has no positives or no negatives. */
  aucRoc: number | null;
  /** Average precision; null when the class has no positives. */
  averagePrecision: number | null;
}

/**
 * ROC and PR curves of class `c` (one-vs-rest) from row-major probabilities [N x C]. The
 * returned points are thinned to about `maxPoints` (the areas are computed before thinning).
 */
export function classCurves(probs: Float32Array, truth: Int32Array, classes: number, c: number, label: string, maxPoints = 200): ClassCurves {
  const n = truth.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const score = (i: number) => probs[i * classes + c];
  order.sort((a, b) => score(b) - score(a));
  let positives = 0;
  for (let i = 0; i < n; i++) if (truth[i] === c) positives++;
  const negatives = n - positives;
  const roc: CurvePoint[] = [{ x: 0, y: 0 }];
  const pr: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  let ap = 0;
  let lastRecall = 0;
  for (let k = 0; k < n; ) {
    // All records tied at this score cross the threshold together.
    const s = score(order[k]);
    while (k < n && score(order[k]) === s) {
      if (truth[order[k]] === c) tp++;
      else fp++;
      k++;
    }
    if (positives > 0 && negatives > 0) {
      const prev = roc[roc.length - 1];
      const point = { x: fp / negatives, y: tp / positives };
      auc += ((point.x - prev.x) * (point.y + prev.y)) / 2;
      roc.push(point);
    }
    if (positives > 0) {
      const recall = tp / positives;
      const precision = tp / (tp + fp);
      ap += (recall - lastRecall) * precision;
      lastRecall = recall;
      pr.push({ x: recall, y: precision });
    }
  }
  const rocDefined = positives > 0 && negatives > 0;
  return {
    label,
    positives,
    negatives,
    roc: rocDefined ? rounded(thin(roc, maxPoints)) : [],
    // sklearn's curve ends at (recall 0, precision 1): drawn from there.
    pr: positives > 0 ? rounded(thin([{ x: 0, y: 1 }, ...pr], maxPoints)) : [],
    aucRoc: rocDefined ? auc : null,
    averagePrecision: positives > 0 ? ap : null,
  };
}

/** Points to 5 decimals: far below a pixel, and a third of the bytes in the report's data. */
function rounded(points: CurvePoint[]): CurvePoint[] {
  return points.map((p) => ({ x: Math.round(p.x * 1e5) / 1e5, y: Math.round(p.y * 1e5) / 1e5 }));
}

/**
 * At most about `maxPoints` of a curve for drawing: the first and last points, and each point
 * that moves at least 1/maxPoints (in x or y) from the last one kept. Plotted at a few
 * hundred pixels, the dropped points are within a pixel of the line.
 */
export function thin(points: CurvePoint[], maxPoints: number): CurvePoint[] {
  if (points.length <= maxPoints) return points;
  const step = 1 / maxPoints;
  const out: CurvePoint[] = [points[0]];
  for (let i = 1; i < points.length - 1; i++) {
    const last = out[out.length - 1];
    if (Math.abs(points[i].x - last.x) >= step || Math.abs(points[i].y - last.y) >= step) out.push(points[i]);
  }
  out.push(points[points.length - 1]);
  return out;
}
