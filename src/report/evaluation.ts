/**
 * The evaluation panels' numbers from one pass of predicted probabilities: the metrics
 * (computeMetrics), one-vs-rest curves per class, and the most confident mistakes.
 */
import type { DescribeRecord } from '../training/report-options';
import { computeMetrics } from '../training/metrics';
import { classCurves } from './curves';
import type { Evaluation, Mistake } from './report-data';

export type { DescribeRecord } from '../training/report-options';

/** Classes with curves in the report (the most frequent); the per-class table keeps every AUC. */
export const MAX_CURVE_CLASSES = 20;
/** Mistakes listed. */
export const MAX_MISTAKES = 20;
/** Characters of a record shown in the mistakes table. */
export const MAX_RECORD_CHARS = 160;


export function buildEvaluation(
  probs: Float32Array,
  truth: Int32Array,
  classes: number,
  labels: string[] | null,
  on: Evaluation['on'],
  describe: DescribeRecord,
  topK = 3,
): Evaluation {
  const m = computeMetrics(probs, truth, classes, labels, topK);
  const all = m.labels.map((label, c) => classCurves(probs, truth, classes, c, label, classes > 10 ? 100 : 200));
  const mean = (values: (number | null)[]) => {
    const defined = values.filter((v): v is number => v !== null);
    return defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : null;
  };
  const bySupport = [...all.keys()].sort((a, b) => all[b].positives - all[a].positives || a - b).slice(0, MAX_CURVE_CLASSES).sort((a, b) => a - b);
  const { mistakes, count } = confidentMistakes(probs, truth, classes, m.labels, describe);
  return {
    on,
    count: m.count,
    loss: m.loss,
    accuracy: m.accuracy,
    topK: m.topK,
    topKAccuracy: m.topKAccuracy,
    macroPrecision: m.macroPrecision,
    macroRecall: m.macroRecall,
    macroF1: m.macroF1,
    macroAucRoc: mean(all.map((c) => c.aucRoc)),
    macroAveragePrecision: mean(all.map((c) => c.averagePrecision)),
    labels: m.labels,
    confusionMatrix: m.confusionMatrix,
    perClass: m.perClass.map((p, c) => ({ ...p, aucRoc: all[c].aucRoc, averagePrecision: all[c].averagePrecision })),
    curves: bySupport.map((c) => all[c]),
    mistakes,
    mistakeCount: count,
  };
}

/** The MAX_MISTAKES wrong predictions with the highest predicted probability. */
function confidentMistakes(probs: Float32Array, truth: Int32Array, classes: number, labels: string[], describe: DescribeRecord): { mistakes: Mistake[]; count: number } {
  const wrong: { index: number; predicted: number; probability: number }[] = [];
  for (let i = 0; i < truth.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c] > probs[i * classes + best]) best = c;
    if (best !== truth[i]) wrong.push({ index: i, predicted: best, probability: probs[i * classes + best] });
  }
  const top = [...wrong].sort((a, b) => b.probability - a.probability || a.index - b.index).slice(0, MAX_MISTAKES);
  return {
    count: wrong.length,
    mistakes: top.map((w) => ({
      index: w.index,
      record: capped(describe(w.index)),
      truth: labels[truth[w.index]],
      predicted: labels[w.predicted],
      probability: w.probability,
      truthProbability: probs[w.index * classes + truth[w.index]],
    })),
  };
}

function capped(text: string): string {
  return text.length > MAX_RECORD_CHARS ? `${text.slice(0, MAX_RECORD_CHARS - 1)}…` : text;
}

/** A dense sequence as text: its length and first steps, rounded. */
export function describeSteps(steps: ArrayLike<number>, length: number, features: number): string {
  const shown: string[] = [];
  let chars = 0;
  for (let t = 0; t < length && chars < MAX_RECORD_CHARS; t++) {
    const step: string[] = [];
    for (let f = 0; f < features; f++) step.push(formatValue(steps[t * features + f]));
    const text = features === 1 ? step[0] : `[${step.join(', ')}]`;
    shown.push(text);
    chars += text.length + 2;
  }
  return `${length} step${length === 1 ? '' : 's'}: ${shown.join(', ')}`;
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(1) : String(Math.round(v * 100) / 100);
}
