/**
 * The fit() side of a training report: a callback that records every epoch (and every
 * batch's loss and accuracy) as training goes, rewrites the report and the metrics log after
 * each epoch, and a final write with the evaluation once training has ended.
 */
import type { EarlyStopping } from '../training/callbacks';
import type { BatchLogs, EpochLogs, FitCallbacks } from '../training/fit';
import type { Evaluation, BatchSeries, EpochRecord, Markers, ReportData, RunDescription } from './report-data';
import { NO_MARKERS, REPORT_FORMAT, REPORT_VERSION } from './report-data';
import { type ReportTargets, writeReportFiles } from './report-writer';

/** Points of the per-batch series in a report; more batches are averaged in groups. */
export const MAX_BATCH_POINTS = 2000;

export class TrainingRecorder {
  readonly epochs: EpochRecord[] = [];
  #batchLoss: number[] = [];
  #batchAccuracy: number[] = [];
  #batchX: number[] = [];
  #epoch = 0;
  #epochStarted = 0;
  #trainSeconds = 0;
  #seen = 0;
  #batchIndex = 0;

  constructor(
    private readonly targets: ReportTargets,
    private readonly run: RunDescription,
    /** Batches per epoch (to place each batch on the epoch axis). */
    private readonly batchesPerEpoch: number,
    private readonly stopper: EarlyStopping | null,
    /** The evaluation to show while training goes on (from the latest validation pass), or null. */
    private readonly interimEvaluation: () => Evaluation | null,
  ) {}

  /** The callback fit() runs after the user's (so early stopping has updated its markers). */
  callback(): FitCallbacks {
    return {
      onEpochBegin: (epoch: number) => {
        this.#epoch = epoch;
        this.#epochStarted = performance.now();
        this.#trainSeconds = 0;
        this.#seen = 0;
        this.#batchIndex = 0;
      },
      onBatchEnd: (_batch: number, logs: BatchLogs) => {
        this.#trainSeconds = (performance.now() - this.#epochStarted) / 1000;
        this.#seen += logs.size;
        this.#batchX.push(this.#epoch + ++this.#batchIndex / this.batchesPerEpoch);
        this.#batchLoss.push(logs.loss);
        this.#batchAccuracy.push(logs.accuracy);
      },
      onEpochEnd: async (epoch: number, logs: EpochLogs) => {
        this.epochs.push({
          epoch,
          loss: logs.loss,
          accuracy: logs.accuracy,
          ...(logs.valLoss !== undefined ? { valLoss: logs.valLoss, valAccuracy: logs.valAccuracy } : {}),
          learningRate: logs.learningRate,
          seconds: logs.seconds,
          sequencesPerSecond: this.#trainSeconds > 0 ? this.#seen / this.#trainSeconds : 0,
        });
        await writeReportFiles(this.targets, this.data(this.interimEvaluation(), false));
      },
    };
  }

  markers(): Markers {
    const s = this.stopper;
    if (!s) return NO_MARKERS;
    const restored = s.restoresBestWeights && s.stoppedEpoch !== null && s.bestEpoch !== null ? s.bestEpoch : null;
    return { monitor: s.monitor, bestEpoch: s.bestEpoch, stoppedEpoch: s.stoppedEpoch, restoredEpoch: restored };
  }

  /** Per-batch values, averaged in equal groups down to at most MAX_BATCH_POINTS. */
  batches(): BatchSeries | null {
    const n = this.#batchLoss.length;
    if (n === 0) return null;
    const group = Math.ceil(n / MAX_BATCH_POINTS);
    const out: BatchSeries = { x: [], loss: [], accuracy: [], batchesPerPoint: group };
    for (let start = 0; start < n; start += group) {
      const end = Math.min(start + group, n);
      let loss = 0;
      let accuracy = 0;
      for (let i = start; i < end; i++) {
        loss += this.#batchLoss[i];
        accuracy += this.#batchAccuracy[i];
      }
      out.x.push(this.#batchX[end - 1]);
      out.loss.push(loss / (end - start));
      out.accuracy.push(accuracy / (end - start));
    }
    return out;
  }

  data(evaluation: Evaluation | null, complete: boolean, failure?: string): ReportData {
    return { format: REPORT_FORMAT, version: REPORT_VERSION, run: this.run, epochs: this.epochs, batches: this.batches(), markers: this.markers(), evaluation, complete, ...(failure ? { failure } : {}) };
  }

  /** Training ended with an error (or was aborted): the report says so and keeps its epochs. */
  async fail(error: Error): Promise<void> {
    await writeReportFiles(this.targets, this.data(null, false, `${error.name}: ${error.message}`));
  }

  /** The last write: the run is over, with its final evaluation. */
  async finish(evaluation: Evaluation): Promise<void> {
    await writeReportFiles(this.targets, this.data(evaluation, true));
  }
}
