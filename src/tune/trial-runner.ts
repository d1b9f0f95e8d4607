/**
 * Runs one trial's job: trains it epoch by epoch up to its target rung, from its own
 * checkpoint when it has one (a promotion, or a trial interrupted by a crash), scoring each
 * epoch on the study's validation set and saving the checkpoint after each (atomically:
 * model.save), so a kill loses at most the epoch in progress. Between epochs it asks the
 * study whether to stop (the budget is spent): the study then ends within one epoch.
 */
import { existsSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { SequenceClassifier } from '../classifier/classifier';
import type { Dataset } from '../data/sequence-set';
import type { FitOptions } from '../training/fit-options';
import type { DenseInputConfig, TokenInputConfig } from '../model/config';
import { subsetDataset } from './data';
import type { EpochRecord, Objective, TrialSettings } from './types';

export interface TrialContext {
  train: Dataset;
  validation: Dataset;
  input: DenseInputConfig | TokenInputConfig;
  classes: number | string[];
  objective: Objective;
  maxEpochs: number;
  threads: number | undefined;
  checkpoints: string;
  seed: number;
  signal?: AbortSignal;
}

export const checkpointPath = (ctx: Pick<TrialContext, 'checkpoints'>, id: number): string => join(ctx.checkpoints, `trial-${id}.rnn`);

/** The model of trial `id`: from its checkpoint, or new with its settings and seed. */
export async function trialModel(ctx: TrialContext, id: number, settings: TrialSettings): Promise<SequenceClassifier> {
  const path = checkpointPath(ctx, id);
  if (existsSync(path)) return SequenceClassifier.load(path);
  return new SequenceClassifier({
    ...settings.config,
    input: settings.embeddingDim !== undefined && ctx.input.type === 'tokens' ? { ...ctx.input, embeddingDim: settings.embeddingDim } : ctx.input,
    classes: ctx.classes,
    seed: ctx.seed + id,
  });
}

/** fit's options for one epoch of a trial: a cosine schedule spans the study's maxEpochs, so
 * a trial trained rung by rung follows the curve it would follow in one run. */
function epochOptions(ctx: TrialContext, settings: TrialSettings): FitOptions {
  const fit: FitOptions = { ...(settings.fit ?? {}), epochs: 1, validationData: ctx.validation, ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) };
  if (fit.schedule?.type === 'cosine' && fit.schedule.totalEpochs === undefined) fit.schedule = { ...fit.schedule, totalEpochs: ctx.maxEpochs };
  return fit;
}

/**
 * Trains trial `id` to `targetEpochs`, calling `onEpoch` after each epoch (after its
 * checkpoint is saved) until it returns false. Resolves with how it ended: 'reached' the
 * target, 'stopped' by onEpoch. Throws what training throws (the study records the trial as
 * failed).
 */
export async function trainTrial(ctx: TrialContext, id: number, settings: TrialSettings, targetEpochs: number, onEpoch: (record: EpochRecord) => boolean | Promise<boolean>): Promise<'reached' | 'stopped'> {
  const model = await trialModel(ctx, id, settings);
  try {
    const options = epochOptions(ctx, settings);
    while (model.epochsTrained < targetEpochs) {
      const history = await model.fit(ctx.train, options);
      const logs = history.history;
      const last = logs.loss.length - 1;
      const valLoss = logs.valLoss?.[last], valAccuracy = logs.valAccuracy?.[last];
      let value: number;
      if (ctx.objective === 'valMacroF1') value = (await model.evaluate(ctx.validation)).macroF1;
      else value = (ctx.objective === 'valLoss' ? valLoss : valAccuracy) ?? NaN;
      const record: EpochRecord = {
        epoch: model.epochsTrained,
        value,
        loss: logs.loss[last],
        ...(valLoss !== undefined ? { valLoss } : {}),
        ...(valAccuracy !== undefined ? { valAccuracy } : {}),
        seconds: logs.seconds[last],
      };
      // Journal first, then the checkpoint: a kill between them re-runs this epoch from the
      // checkpoint before it (the same epoch again, deterministically), never leaves an epoch
      // the journal lacks.
      const goOn = await onEpoch(record);
      await model.save(checkpointPath(ctx, id));
      if (!goOn) return model.epochsTrained >= targetEpochs ? 'reached' : 'stopped';
    }
    return 'reached';
  } finally {
    model.dispose();
  }
}

/** The measured constraints of a trial's model, on this machine's binary. */
export interface Constraints {
  /** Most milliseconds one sequence (the validation set's first) may take, median of 21 calls. */
  maxLatencyMs?: number;
  /** Largest model file, in bytes. */
  maxModelBytes?: number;
  /** Measure the model as it would be served: 'float32' (default) or after quantize('int8'). */
  precision?: 'float32' | 'int8';
}

/** Latency and file size of trial `id`'s (untrained: neither depends on the weights) model. */
export async function measureTrial(ctx: TrialContext, id: number, settings: TrialSettings, constraints: Constraints): Promise<{ latencyMs?: number; modelBytes?: number }> {
  const model = await trialModel(ctx, id, settings);
  let served = model;
  try {
    if (constraints.precision === 'int8') served = await model.quantize({ type: 'int8' });
    const out: { latencyMs?: number; modelBytes?: number } = {};
    if (constraints.maxModelBytes !== undefined) {
      const path = join(ctx.checkpoints, `measure-${id}.rnn`);
      await served.save(path, { includeTrainingState: false });
      out.modelBytes = (await stat(path)).size;
      await unlink(path);
    }
    if (constraints.maxLatencyMs !== undefined) {
      const one = subsetDataset(ctx.validation, Int32Array.of(0));
      const times: number[] = [];
      for (let i = 0; i < 24; i++) {
        const t0 = process.hrtime.bigint();
        served.predictProbaSync(one.x, { threads: 1 });
        if (i >= 3) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      out.latencyMs = times[Math.floor(times.length / 2)];
    }
    return out;
  } finally {
    if (served !== model) served.dispose();
    model.dispose();
  }
}
