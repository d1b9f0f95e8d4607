/**
 * What a distributed study puts on the queue for one trial's job: the job (trial, rung,
 * epochs), the trial's settings, and where its data and checkpoints are on shared storage.
 * A worker checks the payload before it trusts any of it.
 */
import type { DenseInputConfig, TokenInputConfig } from '../../model/config';
import type { TrialJobSpec } from '../trial-job';
import type { Objective, TrialSettings } from '../types';
import { STUDY_NAME } from './redis-journal';

/** The BullMQ queue of every study's trials (within the prefix). */
export const TUNE_QUEUE = 'tune';

export interface TrialPayload {
  study: string;
  job: TrialJobSpec;
  settings: TrialSettings;
  data: { path: string; sha256: string };
  checkpoints: string;
  objective: Objective;
  maxEpochs: number;
  seed: number;
  input: DenseInputConfig | TokenInputConfig;
  classes: number | string[];
}

/** A payload this worker cannot run. */
export class TrialPayloadError extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min = 0) => Number.isSafeInteger(v) && (v as number) >= min;
const isText = (v: unknown) => typeof v === 'string' && v.length > 0;

export function readTrialPayload(v: unknown): TrialPayload {
  const bad = (what: string) => new TrialPayloadError(`not a trial job of rnn-node tune: ${what}`);
  if (!isRecord(v)) throw bad('no payload');
  if (typeof v.study !== 'string' || !STUDY_NAME.test(v.study)) throw bad('study');
  const job = v.job;
  if (!isRecord(job) || !isCount(job.id) || !isCount(job.rung) || !isCount(job.targetEpochs, 1) || typeof job.lastRung !== 'boolean' || !isCount(job.epochsDone)) throw bad('job');
  if (job.constraints !== null && !isRecord(job.constraints)) throw bad('job.constraints');
  if (job.measured !== undefined && !isRecord(job.measured)) throw bad('job.measured');
  const settings = v.settings;
  if (!isRecord(settings) || !isRecord(settings.config) || (settings.fit !== undefined && !isRecord(settings.fit))) throw bad('settings');
  const data = v.data;
  if (!isRecord(data) || !isText(data.path) || typeof data.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(data.sha256)) throw bad('data');
  if (!isText(v.checkpoints)) throw bad('checkpoints');
  if (v.objective !== 'valAccuracy' && v.objective !== 'valLoss' && v.objective !== 'valMacroF1') throw bad('objective');
  if (!isCount(v.maxEpochs, 1) || !isCount(v.seed)) throw bad('maxEpochs or seed');
  if (!isRecord(v.input) || (v.input.type !== 'dense' && v.input.type !== 'tokens')) throw bad('input');
  if (!(isCount(v.classes, 2) || (Array.isArray(v.classes) && v.classes.every((c) => typeof c === 'string')))) throw bad('classes');
  return v as unknown as TrialPayload;
}
