/**
 * Everything a training or evaluation report shows, as plain JSON: what the HTML page embeds
 * (`<script type="application/json" id="report-data">`) and what the metrics log
 * (`--metrics-log`, `fit({ metricsLog })`) carries, so that a report can be rebuilt from the
 * log alone.
 *
 * The metrics log is JSON Lines: one `{"type":"epoch", ...}` line per finished epoch (Keras's
 * CSVLogger), then, when the run ends, one `{"type":"final", ...}` line with the run
 * description, the markers, the per-batch series and the evaluation. A log without the final
 * line (a run still going, or killed) still makes a report, of the epochs it has.
 */
import { DataFormatError } from '../util/errors';
import type { EpochLogs } from '../training/fit';
import type { ClassCurves } from './curves';

export const REPORT_FORMAT = 'rnn-node-report';
export const REPORT_VERSION = 1;

export interface LayerSummary {
  name: string;
  /** What the layer is: 'embedding', 'lstm', 'gru (reset after)', 'bidirectional lstm', 'dense', ... */
  kind: string;
  /** Output width. */
  units: number;
  params: number;
}

export interface RunDescription {
  kind: 'train' | 'evaluate';
  title: string;
  /** ISO time the run started. */
  startedAt: string;
  model: { input: string; layers: LayerSummary[]; pooling: string; params: number };
  data: {
    /** Records trained on (train) or evaluated (evaluate). */
    records: number;
    validationRecords: number | null;
    labels: string[];
    /** Records per class in the training (or evaluated) data. */
    classCounts: number[];
  };
  /** The settings of the run, as name → value (optimizer, schedule, batch, seed, threads...). */
  options: Record<string, string | number | boolean | null>;
  versions: { rnnNode: string; node: string; variant: string; simd: string; threads: number };
}

/** An epoch's logs (EpochLogs: loss, accuracy, validation figures, learning rate, seconds), numbered. */
export interface EpochRecord extends EpochLogs {
  /** 0-based epoch number (continuing across fit() calls). */
  epoch: number;
  /** Training sequences per second of the training steps alone. */
  sequencesPerSecond: number;
}

/** Per-batch values, averaged into at most a few thousand points; x in epochs (0.5 = half way through the first). */
export interface BatchSeries {
  x: number[];
  loss: number[];
  accuracy: number[];
  /** Batches averaged into each point. */
  batchesPerPoint: number;
}

export interface Markers {
  /** What early stopping watched, when it ran. */
  monitor: string | null;
  bestEpoch: number | null;
  stoppedEpoch: number | null;
  /** The epoch whose weights were put back at the end (restoreBestWeights). */
  restoredEpoch: number | null;
}

export interface Mistake {
  /** Index of the record in the evaluated data. */
  index: number;
  /** The record as text: its text, or its first steps (capped). */
  record: string;
  truth: string;
  predicted: string;
  /** Probability of the predicted class. */
  probability: number;
  /** Probability the model gave the true class. */
  truthProbability: number;
}

export interface Evaluation {
  /** Which data: the validation data, the training data (no validation data), or the data given to evaluate. */
  on: 'validation' | 'training' | 'evaluation';
  count: number;
  loss: number;
  accuracy: number;
  topK: number;
  topKAccuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Mean over classes whose AUC is defined. */
  macroAucRoc: number | null;
  macroAveragePrecision: number | null;
  labels: string[];
  /** confusionMatrix[actual][predicted]. */
  confusionMatrix: number[][];
  perClass: { label: string; precision: number; recall: number; f1: number; support: number; aucRoc: number | null; averagePrecision: number | null }[];
  /** Curves of up to MAX_CURVE_CLASSES classes (the most frequent). */
  curves: ClassCurves[];
  /** The most confident mistakes, most confident first. */
  mistakes: Mistake[];
  /** All mistakes (the list above is capped). */
  mistakeCount: number;
}

export interface ReportData {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  run: RunDescription;
  epochs: EpochRecord[];
  batches: BatchSeries | null;
  markers: Markers;
  evaluation: Evaluation | null;
  /** False while a run is still going (the page says it will be rewritten), or after it failed. */
  complete: boolean;
  /** Why the run ended early with an error (an abort, a non-finite loss, ...). */
  failure?: string;
}

export const NO_MARKERS: Markers = { monitor: null, bestEpoch: null, stoppedEpoch: null, restoredEpoch: null };

/** The metrics log of `data`: one line per epoch, then (for a complete run) the final line. */
export function metricsLogOf(data: ReportData): string {
  const lines = data.epochs.map((e) => JSON.stringify({ type: 'epoch', ...e }));
  if (data.complete) {
    lines.push(JSON.stringify({ type: 'final', format: REPORT_FORMAT, version: REPORT_VERSION, run: data.run, markers: data.markers, batches: data.batches, evaluation: data.evaluation }));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The report data of a metrics log. Throws DataFormatError naming the line for anything that
 * is not a log this library wrote: bad JSON, an unknown line type, an epoch without its
 * numbers, a final line of another format, lines after the final one.
 */
export function parseMetricsLog(text: string, where = 'metrics log'): ReportData {
  const epochs: EpochRecord[] = [];
  let final: Record<string, unknown> | null = null;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const at = i + 1;
    if (final) throw new DataFormatError(where, at, 'a line after the final line');
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DataFormatError(where, at, `not JSON (${(error as Error).message})`);
    }
    if (!isObject(value)) throw new DataFormatError(where, at, 'expected a JSON object');
    if (value.type === 'epoch') {
      for (const key of ['epoch', 'loss', 'accuracy', 'learningRate', 'seconds', 'sequencesPerSecond'])
        if (!isFiniteNumber(value[key]) && !(key === 'loss' && value[key] === null)) throw new DataFormatError(where, at, `epoch line without a number "${key}"`);
      const { type: _type, ...record } = value;
      epochs.push(record as unknown as EpochRecord);
    } else if (value.type === 'final') {
      if (value.format !== REPORT_FORMAT || value.version !== REPORT_VERSION)
        throw new DataFormatError(where, at, `final line of format ${JSON.stringify(value.format)} version ${JSON.stringify(value.version)}; expected ${REPORT_FORMAT} version ${REPORT_VERSION}`);
      if (!isObject(value.run) || !isObject(value.markers)) throw new DataFormatError(where, at, 'final line without "run" and "markers"');
      final = value;
    } else {
      throw new DataFormatError(where, at, `unknown line type ${JSON.stringify(value.type)} (expected "epoch" or "final")`);
    }
  });
  if (!final && epochs.length === 0) throw new DataFormatError(where, 0, 'no epoch lines and no final line');
  const f = final as Record<string, unknown> | null;
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    run: (f?.run as RunDescription) ?? unknownRun(epochs.length),
    epochs,
    batches: (f?.batches as BatchSeries | null) ?? null,
    markers: (f?.markers as Markers) ?? NO_MARKERS,
    evaluation: (f?.evaluation as Evaluation | null) ?? null,
    complete: f !== null,
  };
}

/** What a log without its final line can say about its run. */
function unknownRun(epochs: number): RunDescription {
  return {
    kind: 'train',
    title: `Training run (unfinished: ${epochs} epoch${epochs === 1 ? '' : 's'} logged, no final line)`,
    startedAt: '',
    model: { input: 'unknown', layers: [], pooling: 'unknown', params: 0 },
    data: { records: 0, validationRecords: null, labels: [], classCounts: [] },
    options: {},
    versions: { rnnNode: 'unknown', node: 'unknown', variant: 'unknown', simd: 'unknown', threads: 0 },
  };
}
