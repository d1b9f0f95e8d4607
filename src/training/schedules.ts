/** Learning-rate schedules: the rate of an epoch as a pure function of the epoch number,
 * so a resumed run continues the same curve. */
import { checkChoice, checkInteger, checkNumber, checkKnownKeys } from '../util/validate';
import { invalidType } from '../util/errors';

export type ScheduleOptions =
  /** base * gamma^floor(epoch / stepSize) */
  | { type: 'step'; stepSize: number; gamma?: number }
  /** base * gamma^epoch */
  | { type: 'exponential'; gamma: number }
  /** Linear warmup over `warmupEpochs` (default 0), then cosine decay from the base rate to
   * `minLearningRate` (default 0) at `totalEpochs` (default: the last epoch of the fit call,
   * epochsTrained + epochs; epochs count from the model's first). */
  | { type: 'cosine'; warmupEpochs?: number; minLearningRate?: number; totalEpochs?: number };

export type Schedule = (epoch: number) => number;

export function makeSchedule(options: unknown, baseRate: number, fitEpochs: number): Schedule | null {
  if (options === undefined) return null;
  if (options === null || typeof options !== 'object') throw invalidType('options.schedule', "a schedule like { type: 'cosine' }", options);
  const o = options as Record<string, unknown>;
  const type = checkChoice('options.schedule.type', o.type, ['step', 'exponential', 'cosine'] as const);
  checkKnownKeys('options.schedule', o, { step: ['type', 'stepSize', 'gamma'], exponential: ['type', 'gamma'], cosine: ['type', 'warmupEpochs', 'minLearningRate', 'totalEpochs'] }[type]);
  if (type === 'step') {
    const stepSize = checkInteger('options.schedule.stepSize', o.stepSize, 1, 1e9);
    const gamma = o.gamma === undefined ? 0.1 : checkNumber('options.schedule.gamma', o.gamma, 0, 1e6);
    return (epoch) => baseRate * gamma ** Math.floor(epoch / stepSize);
  }
  if (type === 'exponential') {
    const gamma = checkNumber('options.schedule.gamma', o.gamma, 0, 1e6);
    return (epoch) => baseRate * gamma ** epoch;
  }
  const warmup = o.warmupEpochs === undefined ? 0 : checkInteger('options.schedule.warmupEpochs', o.warmupEpochs, 0, 1e9);
  const min = o.minLearningRate === undefined ? 0 : checkNumber('options.schedule.minLearningRate', o.minLearningRate, 0, baseRate);
  const total = o.totalEpochs === undefined ? fitEpochs : checkInteger('options.schedule.totalEpochs', o.totalEpochs, 1, 1e9);
  return (epoch) => {
    if (epoch < warmup) return (baseRate * (epoch + 1)) / warmup;
    const progress = Math.min(1, (epoch - warmup) / Math.max(1, total - warmup));
    return min + (baseRate - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
