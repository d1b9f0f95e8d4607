/** The shapes a study is made of: what a trial trains, and what the study records of it. */
import type { FitOptions } from '../training/fit-options';
import type { SequenceClassifierConfig } from '../model/config';
import type { Choice } from './space';

/**
 * What one trial trains: the model's structure (without `input` and `classes`, which come
 * from the data, and `seed`, which the study gives) and fit's options (without `epochs` and
 * validation, which the scheduler and the study own). `embeddingDim`: the token embedding's
 * width, for text data.
 */
export interface TrialSettings {
  config: Omit<SequenceClassifierConfig, 'input' | 'classes' | 'seed' | 'precision'>;
  fit?: Omit<FitOptions, 'epochs' | 'validationData' | 'validationSplit' | 'stratify' | 'callbacks' | 'signal' | 'threads' | 'report' | 'metricsLog' | 'verbose'>;
  embeddingDim?: number;
}

export type Objective = 'valAccuracy' | 'valLoss' | 'valMacroF1';
export type Direction = 'maximize' | 'minimize';

/**
 * A trial's state: running (now, or waiting for a promotion), complete (trained to the last
 * rung), pruned (not promoted when the study ended), failed (training threw, e.g. a diverging
 * loss), infeasible (past a constraint), interrupted (the process died while it trained; it
 * resumes from its last checkpoint when the study is run again).
 */
export type TrialState = 'running' | 'paused' | 'complete' | 'pruned' | 'failed' | 'infeasible' | 'interrupted';

export interface EpochRecord {
  epoch: number;
  value: number;
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  /** Study time (seconds, every run of the study counted, the gaps between runs not) when it was recorded. */
  studySeconds?: number;
}

/** One trial as the study knows it (journal.ts builds these from the events). */
export interface TrialRecord {
  id: number;
  state: TrialState;
  params: Record<string, number | Choice>;
  /** The objective at the trial's last epoch (null before its first). */
  value: number | null;
  /** Epochs trained. */
  epochs: number;
  /** The highest rung it completed (-1: none yet). */
  rung: number;
  /** The rung it was promoted to and trains for (ASHA). */
  target: number;
  /** Seconds of training, summed over epochs. */
  seconds: number;
  curve: EpochRecord[];
  error?: string;
  /** Study time when the trial began. */
  startedAt?: number;
  /** Measured constraints (batch-1 latency in ms, model file bytes). */
  measured?: { latencyMs?: number; modelBytes?: number };
}
