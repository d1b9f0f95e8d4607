/**
 * Classification metrics from predicted probabilities: loss, accuracy, top-k accuracy,
 * per-class precision/recall/F1, macro averages and the confusion matrix.
 */
import { invalidType, outOfRange } from '../util/errors';
import { checkInteger } from '../util/validate';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** True instances of the class. */
  support: number;
}

export interface Metrics {
  /** Mean cross-entropy (natural log). */
  loss: number;
  accuracy: number;
  /** Fraction whose true class is among the k most probable. */
  topKAccuracy: number;
  topK: number;
  /** Mean over classes present in the labels or the predictions (sklearn's convention). */
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusionMatrix[actual][predicted] counts. */
  confusionMatrix: number[][];
  labels: string[];
  count: number;
}

/** Metrics of row-major probabilities [N x C] against true class indices. A class nobody
 * predicted has precision 0; a class with no instances has recall 0 (and is left out of
 * the macro averages unless it was predicted). */
export function computeMetrics(probs: Float32Array, truth: Int32Array, classes: number, labels: string[] | null, topK = 3): Metrics {
  // Exported: checked like the rest of the API (a short probs array gave wrong metrics silently).
  checkInteger('classes', classes, 2, 1 << 20);
  if (!(truth instanceof Int32Array)) throw invalidType('truth', 'an Int32Array of class indices', truth);
  if (!(probs instanceof Float32Array)) throw invalidType('probs', 'a Float32Array [truth.length x classes]', probs);
  if (probs.length !== truth.length * classes) throw outOfRange('probs', `${truth.length * classes} values (truth.length x classes)`, probs);
  const outside = truth.findIndex((y) => y < 0 || y >= classes);
  if (outside >= 0) throw outOfRange(`truth[${outside}]`, `a class index in [0, ${classes})`, truth[outside]);
  if (labels !== null && (!Array.isArray(labels) || labels.length !== classes)) throw invalidType('labels', `null or ${classes} class names`, labels);
  checkInteger('topK', topK, 1, 1 << 20);
  const n = truth.length;
  const k = Math.min(Math.max(1, topK), classes);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let loss = 0;
  let inTopK = 0;
  for (let i = 0; i < n; i++) {
    const row = probs.subarray(i * classes, (i + 1) * classes);
    const y = truth[i];
    let best = 0;
    let above = 0; // classes ranked strictly above the true class (ties count for the true class)
    for (let c = 0; c < classes; c++) {
      if (row[c] > row[best]) best = c;
      if (row[c] > row[y]) above++;
    }
    if (above < k) inTopK++;
    confusion[y][best]++;
    loss -= Math.log(Math.max(row[y], 1e-30));
  }
  const names = labels ?? Array.from({ length: classes }, (_, c) => String(c));
  const perClass: ClassMetrics[] = [];
  let correct = 0;
  let sumP = 0;
  let sumR = 0;
  let sumF = 0;
  let counted = 0;
  for (let c = 0; c < classes; c++) {
    const tp = confusion[c][c];
    correct += tp;
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < classes; j++) {
      predicted += confusion[j][c];
      support += confusion[c][j];
    }
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ label: names[c], precision, recall, f1, support });
    if (predicted || support) {
      sumP += precision;
      sumR += recall;
      sumF += f1;
      counted++;
    }
  }
  return {
    loss: n ? loss / n : 0,
    accuracy: n ? correct / n : 0,
    topKAccuracy: n ? inTopK / n : 0,
    topK: k,
    macroPrecision: counted ? sumP / counted : 0,
    macroRecall: counted ? sumR / counted : 0,
    macroF1: counted ? sumF / counted : 0,
    perClass,
    confusionMatrix: confusion,
    labels: names,
    count: n,
  };
}
