/**
 * The optimizer a `fit` call names, checked and with its defaults applied, in the normal form
 * the addon and model files use (every field present). Model files re-check theirs with it.
 */
import type { NativeOptimizerConfig } from '../native/addon';
import { invalidType } from '../util/errors';
import { checkChoice, checkNumber, checkKnownKeys } from '../util/validate';

/** `fit`'s optimizer: the addon's settings (each optional, defaults in their docs) and the learning rate. */
export interface OptimizerOptions extends Partial<NativeOptimizerConfig> {
  /** Default 1e-3 (adam, adamw, rmsprop) or 0.01 (sgd). */
  learningRate?: number;
}

export function resolveOptimizer(value: unknown): { config: NativeOptimizerConfig; learningRate: number } {
  const o = (typeof value === 'string' ? { type: value } : value ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) throw invalidType('options.optimizer', 'an optimizer name or { type, learningRate, ... }', value);
  checkKnownKeys('options.optimizer', o, ['type', 'learningRate', 'momentum', 'nesterov', 'beta1', 'beta2', 'rho', 'epsilon', 'weightDecay', 'clipNorm'], { lr: 'learningRate', learning_rate: 'learningRate', weight_decay: 'weightDecay', clipnorm: 'clipNorm' });
  const type = o.type === undefined ? 'adam' : checkChoice('options.optimizer.type', o.type, ['adam', 'adamw', 'sgd', 'rmsprop'] as const);
  const num = (key: string, min: number, max: number, fallback: number, exclusive = false) =>
    o[key] === undefined ? fallback : checkNumber(`options.optimizer.${key}`, o[key], min, max, exclusive);
  const learningRate = num('learningRate', 0, 1e6, type === 'sgd' ? 0.01 : 1e-3);
  const nesterov = o.nesterov === undefined ? false : o.nesterov;
  if (typeof nesterov !== 'boolean') throw invalidType('options.optimizer.nesterov', 'a boolean', nesterov);
  return {
    learningRate,
    config: {
      type,
      momentum: num('momentum', 0, 1, 0, true),
      nesterov,
      beta1: num('beta1', 0, 1, 0.9, true),
      beta2: num('beta2', 0, 1, 0.999, true),
      rho: num('rho', 0, 1, 0.9, true),
      epsilon: num('epsilon', 1e-30, 1, 1e-7),
      weightDecay: num('weightDecay', 0, 1e6, type === 'adamw' ? 0.01 : 0),
      clipNorm: num('clipNorm', 0, 1e12, 0),
    },
  };
}
