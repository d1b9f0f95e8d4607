/**
 * What fit() and evaluate() need for their `report` / `metricsLog` options: the run
 * description from the resolved options, the evaluation of one prediction pass, and the
 * one-shot write of an evaluation report.
 */
import type { EarlyStopping } from '../training/callbacks';
import type { ResolvedConfig } from '../model/config';
import type { SequenceSet } from '../data/sequence-set';
import type { ResolvedFitOptions } from '../training/fit-options';
import type { FitCallbacks } from '../training/fit';
import { classCounts, defaultDescriber, describeRun, labelNames } from './describe-run';
import { buildEvaluation } from './evaluation';
import { REPORT_FORMAT, REPORT_VERSION, NO_MARKERS, type Evaluation, type RunDescription } from './report-data';
import type { ResolvedReportOptions } from '../training/report-options';
import { writeReportFiles } from './report-writer';

/** Labelled sequences, with each record's index in the data the caller gave (null: the same). */
export interface EvaluatedSet {
  set: SequenceSet;
  labels: Int32Array;
  indexInData: Int32Array | null;
}

export interface ModelFacts {
  config: ResolvedConfig;
  weights: { name: string; shape: number[] }[];
  preprocessing: Record<string, unknown> | null;
}

const isEarlyStopping = (cb: FitCallbacks): cb is EarlyStopping => cb.stateKey === 'earlyStopping' && 'bestEpoch' in cb;

export function earlyStoppingOf(callbacks: FitCallbacks[]): EarlyStopping | null {
  return callbacks.find(isEarlyStopping) ?? null;
}

function layersText(config: ResolvedConfig): string {
  return config.layers.map((l) => `${l.bidirectional ? 'bi-' : ''}${l.cell}(${l.units})`).join(' → ');
}

/** The settings a training report lists. */
export function fitSettings(o: ResolvedFitOptions, rawSchedule: unknown, validation: string): RunDescription['options'] {
  const stopper = earlyStoppingOf(o.callbacks);
  const opt = o.optimizer;
  const augment = o.augment ? Object.entries(o.augment).filter(([, v]) => v !== 0 && v !== 1 && v !== false).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  return {
    epochs: o.epochs,
    'batch size': o.batchSize,
    optimizer: opt.type,
    'learning rate': o.learningRate,
    ...(opt.weightDecay ? { 'weight decay': opt.weightDecay } : {}),
    ...(opt.clipNorm ? { 'clip norm': opt.clipNorm } : {}),
    schedule: rawSchedule === undefined ? 'constant' : JSON.stringify(rawSchedule),
    'early stopping': stopper ? `on ${stopper.monitor}${stopper.restoresBestWeights ? ', restores the best weights' : ''}` : 'off',
    validation,
    'class weights': o.classWeights ? Array.from(o.classWeights, (w) => +w.toPrecision(4)).join(', ') : 'all 1',
    shuffle: o.shuffle,
    bucketing: o.bucketing,
    augmentation: augment || 'none',
    seed: o.seed ?? 'the model\'s stream',
    threads: o.threads || 'default',
  };
}

export function trainingRun(model: ModelFacts, report: ResolvedReportOptions, o: ResolvedFitOptions, rawSchedule: unknown, train: EvaluatedSet, validation: EvaluatedSet | null, validationKind: string): RunDescription {
  const title = report.title ?? `Training ${layersText(model.config)} on ${train.set.count} records`;
  return describeRun(
    'train',
    title,
    model.config,
    model.weights,
    { records: train.set.count, validationRecords: validation?.set.count ?? null, labels: labelNames(model.config), classCounts: classCounts(train.labels, model.config.classes) },
    fitSettings(o, rawSchedule, validationKind),
  );
}

/** The evaluation panels' numbers for predictions `probs` of `data`. */
export function evaluationOf(model: ModelFacts, report: ResolvedReportOptions, probs: Float32Array, data: EvaluatedSet, on: Evaluation['on'], topK = 3): Evaluation {
  const own = report.describeRecord;
  const describe = own
    ? (i: number) => {
        try {
          return String(own(data.indexInData ? data.indexInData[i] : i));
        } catch (error) {
          return `(describeRecord failed: ${(error as Error).message})`;
        }
      }
    : defaultDescriber(data.set, model.preprocessing);
  const evaluation = buildEvaluation(probs, data.labels, model.config.classes, model.config.labels, on, describe, topK);
  if (data.indexInData) for (const m of evaluation.mistakes) m.index = data.indexInData[m.index];
  return evaluation;
}

/** evaluate()'s report: one write, complete. */
export async function writeEvaluationReport(model: ModelFacts, report: ResolvedReportOptions, probs: Float32Array, data: EvaluatedSet, topK: number, threads: number): Promise<void> {
  const run = describeRun(
    'evaluate',
    report.title ?? `Evaluating ${layersText(model.config)} on ${data.set.count} records`,
    model.config,
    model.weights,
    { records: data.set.count, validationRecords: null, labels: labelNames(model.config), classCounts: classCounts(data.labels, model.config.classes) },
    { 'top-k': topK, threads: threads || 'default' },
  );
  const evaluation = evaluationOf(model, report, probs, data, 'evaluation', topK);
  await writeReportFiles(report, { format: REPORT_FORMAT, version: REPORT_VERSION, run, epochs: [], batches: null, markers: NO_MARKERS, evaluation, complete: true });
}
