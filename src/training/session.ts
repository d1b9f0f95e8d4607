/**
 * What carries over from one `fit` to the next, and through a model file: the optimizer and
 * its identity (its moments go on only under the same settings), the seeded shuffling stream,
 * the epochs trained, the state of the callbacks that keep some (reduceLROnPlateau's counters,
 * early stopping's best epoch) and the weights a callback kept. The classifier owns one
 * session; save and load move it in and out of a checkpoint's training section.
 */
import type { NativeModel, NativeOptimizerConfig } from '../native/addon';
import { SeededRandom } from '../util/random';
import type { FitCallbacks } from './fit';

/** What resumes training exactly where it stopped. */
export interface TrainingState {
  optimizer: NativeOptimizerConfig;
  optimizerSteps: number;
  epochs: number;
  rngState: number;
  /** Free-form state of schedules and callbacks (JSON). */
  extra?: Record<string, unknown>;
  /** The stateKey of the callback whose weights the kept-weights section holds. */
  keptWeights?: string;
}

/** A checkpoint's training sections: its header entry and its two float sections. */
export interface SessionSnapshot {
  training: TrainingState | null;
  moments: Float32Array | null;
  kept: Float32Array | null;
}

/**
 * A loaded checkpoint's training sections as a session that took them (restore) would write
 * them again (snapshot): the same fields in their normal form, callback states as plain JSON,
 * kept weights only with the callback that keeps them. `rnn-node convert` from .rnn to .rnn
 * carries them this way, as loading and saving the model does.
 */
export function carriedOver({ training, moments, kept }: SessionSnapshot): SessionSnapshot {
  if (!training || !moments) return { training: null, moments: null, kept: null };
  const saved = (training.extra as { callbacks?: unknown } | undefined)?.callbacks;
  const callbacks = saved && typeof saved === 'object' && !Array.isArray(saved) ? saved : {};
  const keeps = training.keptWeights !== undefined && kept !== null;
  return {
    training: {
      optimizer: training.optimizer,
      optimizerSteps: training.optimizerSteps,
      epochs: training.epochs,
      rngState: training.rngState,
      extra: { callbacks: JSON.parse(JSON.stringify(callbacks)) },
      ...(keeps ? { keptWeights: training.keptWeights } : {}),
    },
    moments,
    kept: keeps ? kept : null,
  };
}

export class TrainingSession {
  #optimizerKey = '';
  #optimizer: NativeOptimizerConfig | null = null;
  #rng: SeededRandom;
  #epochs = 0;
  /** Callbacks of the latest fit whose state goes into checkpoints, and states loaded from one. */
  #statefulCallbacks: FitCallbacks[] = [];
  #callbackStates: Record<string, unknown> = {};
  /** Weights a callback kept, loaded from a checkpoint and not yet handed back to it. */
  #keptWeights: { key: string; params: Float32Array } | null = null;

  constructor(seed: number) {
    this.#rng = new SeededRandom(seed);
  }

  get epochs(): number {
    return this.#epochs;
  }

  get rng(): SeededRandom {
    return this.#rng;
  }

  /** The optimizer settings last trained with or loaded (null before any training). */
  get optimizer(): NativeOptimizerConfig | null {
    return this.#optimizer;
  }

  countEpoch(): void {
    this.#epochs++;
  }

  /** A fit's seed restarts the shuffling stream. */
  reseed(seed: number): void {
    this.#rng = new SeededRandom(seed);
  }

  /** Optimizer state carries over between fit() calls that use the same optimizer; other settings start fresh moments. */
  useOptimizer(model: NativeModel, optimizer: NativeOptimizerConfig): void {
    const key = JSON.stringify(optimizer);
    if (key === this.#optimizerKey) return;
    model.setOptimizer(optimizer);
    this.#optimizerKey = key;
    this.#optimizer = optimizer;
  }

  /** Hands each stateful callback the state (and kept weights) a loaded checkpoint carried. */
  restoreCallbackStates(callbacks: FitCallbacks[]): void {
    this.#statefulCallbacks = callbacks.filter((cb) => cb.stateKey && cb.getState);
    for (const cb of this.#statefulCallbacks) {
      if (!cb.setState || !(cb.stateKey! in this.#callbackStates)) continue;
      cb.setState(this.#callbackStates[cb.stateKey!]);
      delete this.#callbackStates[cb.stateKey!];
      const kept = this.#keptWeights;
      if (cb.setKeptWeights && kept && kept.key === cb.stateKey) {
        cb.setKeptWeights(kept.params);
        this.#keptWeights = null;
      }
    }
  }

  /** The training sections of a checkpoint of `model` now; empty before any training or when not wanted. */
  snapshot(model: NativeModel, includeTrainingState: boolean): SessionSnapshot {
    if (!includeTrainingState || this.#optimizer === null) return { training: null, moments: null, kept: null };
    const state = model.getOptimizerState();
    const callbacks: Record<string, unknown> = { ...this.#callbackStates };
    for (const cb of this.#statefulCallbacks) callbacks[cb.stateKey!] = cb.getState!();
    // Loaded but not yet handed back (no fit since the load): saved as they came.
    let kept = this.#keptWeights;
    for (const cb of this.#statefulCallbacks) {
      const params = cb.getKeptWeights?.();
      if (params) {
        kept = { key: cb.stateKey!, params };
        break;
      }
    }
    const training: TrainingState = {
      optimizer: this.#optimizer,
      optimizerSteps: state.steps,
      epochs: this.#epochs,
      rngState: this.#rng.state,
      extra: { callbacks: JSON.parse(JSON.stringify(callbacks)) },
      ...(kept ? { keptWeights: kept.key } : {}),
    };
    return { training, moments: state.moments, kept: kept ? kept.params : null };
  }

  /** Takes a checkpoint's training sections into this (new) session and `model`. */
  restore(model: NativeModel, { training, moments, kept }: SessionSnapshot): void {
    if (!training || !moments) return;
    model.setOptimizer(training.optimizer);
    model.setOptimizerState(training.optimizerSteps, moments);
    this.#optimizer = training.optimizer;
    this.#optimizerKey = JSON.stringify(training.optimizer);
    this.#epochs = training.epochs;
    this.#rng = SeededRandom.fromState(training.rngState);
    const saved = (training.extra as { callbacks?: unknown } | undefined)?.callbacks;
    if (saved && typeof saved === 'object' && !Array.isArray(saved)) this.#callbackStates = saved as Record<string, unknown>;
    if (training.keptWeights !== undefined && kept) this.#keptWeights = { key: training.keptWeights, params: kept };
  }
}
