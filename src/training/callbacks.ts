/**
 * Built-in callbacks in the tfjs/Keras style: earlyStopping, modelCheckpoint and
 * reduceLROnPlateau. Each gets a handle on the model being trained through setModel.
 */
import { checkChoice, checkInteger, checkNumber, checkKnownKeys } from '../util/validate';
import { invalidType } from '../util/errors';
import type { EpochLogs, FitCallbacks, History, TrainingHandle } from './fit';

type Monitor = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';
const MONITORS = ['loss', 'accuracy', 'valLoss', 'valAccuracy'] as const;

interface MonitorOptions {
  /** Logged value to watch. Default 'valLoss'. */
  monitor?: Monitor;
  /** Smallest change that counts as an improvement. */
  minDelta?: number;
  /** 'min', 'max', or 'auto' (max for accuracies). Default 'auto'. */
  mode?: 'auto' | 'min' | 'max';
}

/** Tracks the best value of one logged metric. */
class Best {
  readonly monitor: Monitor;
  readonly sign: number;
  readonly minDelta: number;
  value = Infinity;

  constructor(o: MonitorOptions, name: string, defaultDelta: number) {
    this.monitor = o.monitor === undefined ? 'valLoss' : checkChoice(`${name}.monitor`, o.monitor, MONITORS);
    const mode = o.mode === undefined ? 'auto' : checkChoice(`${name}.mode`, o.mode, ['auto', 'min', 'max'] as const);
    this.sign = mode === 'max' || (mode === 'auto' && this.monitor.toLowerCase().includes('accuracy')) ? -1 : 1;
    this.minDelta = o.minDelta === undefined ? defaultDelta : checkNumber(`${name}.minDelta`, o.minDelta, 0, 1e12);
  }

  read(logs: EpochLogs): number {
    const v = logs[this.monitor];
    if (v === undefined)
      throw new Error(`'${this.monitor}' is not in the epoch logs (${Object.keys(logs).join(', ')}): pass validationData or validationSplit to fit`);
    return v;
  }

  /** True when `v` improves on the best by more than minDelta (and records it). */
  improves(v: number): boolean {
    if (this.sign * v < this.value - this.minDelta) {
      this.value = this.sign * v;
      return true;
    }
    return false;
  }
}

function options(value: unknown, name: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalidType(name, 'an options object', value);
  checkKnownKeys(name.replace(' options', ''), value, [...known, 'monitor', 'minDelta', 'mode']);
  return value as Record<string, unknown>;
}

export interface EarlyStoppingOptions extends MonitorOptions {
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** At the end, put back the weights of the best epoch. Default false. */
  restoreBestWeights?: boolean;
}

export interface EarlyStopping extends FitCallbacks {
  /** Epoch at which training stopped, or null. */
  readonly stoppedEpoch: number | null;
  /** Epoch with the best monitored value. */
  readonly bestEpoch: number | null;
  /** The logged value it watches. */
  readonly monitor: Monitor;
  /** Whether it puts back the best epoch's weights when it stops training. */
  readonly restoresBestWeights: boolean;
}

/** Stops training when the monitored value stops improving. */
export function earlyStopping(opts: EarlyStoppingOptions = {}): EarlyStopping {
  const o = options(opts, 'earlyStopping options', ['patience', 'restoreBestWeights']) as EarlyStoppingOptions;
  const best = new Best(o, 'earlyStopping', 0);
  const patience = o.patience === undefined ? 0 : checkInteger('earlyStopping.patience', o.patience, 0, 1e9);
  const restore = o.restoreBestWeights ?? false;
  if (typeof restore !== 'boolean') throw invalidType('earlyStopping.restoreBestWeights', 'a boolean', restore);
  let model: TrainingHandle;
  let wait = 0;
  let restored = false;
  let bestWeights: Float32Array | null = null;
  const state = { stoppedEpoch: null as number | null, bestEpoch: null as number | null };
  return {
    stateKey: 'earlyStopping',
    // Saved with checkpoints so that a resumed run stops where an uninterrupted one would,
    // and, with restoreBestWeights, restores the best epoch even if it came before the resume.
    getState: () => ({ wait, best: best.value, ...state }),
    getKeptWeights: () => (restore ? bestWeights : null),
    setKeptWeights(params: Float32Array) {
      if (restore) bestWeights = params;
    },
    setState(s: unknown) {
      const v = s as { wait: number; best: number | null; stoppedEpoch: number | null; bestEpoch: number | null };
      if (!v || typeof v.wait !== 'number') return;
      wait = v.wait;
      best.value = v.best === null ? Infinity : v.best;
      state.stoppedEpoch = v.stoppedEpoch;
      state.bestEpoch = v.bestEpoch;
      // Another run's best weights must not survive into this one; setKeptWeights follows
      // when the checkpoint carries this run's.
      bestWeights = null;
      restored = true;
    },
    get stoppedEpoch() {
      return state.stoppedEpoch;
    },
    get bestEpoch() {
      return state.bestEpoch;
    },
    monitor: best.monitor,
    restoresBestWeights: restore,
    setModel(m: TrainingHandle) {
      model = m;
    },
    onTrainBegin() {
      if (restored) {
        restored = false;
        return;
      }
      bestWeights = null;
      wait = 0;
      best.value = Infinity;
      state.stoppedEpoch = null;
      state.bestEpoch = null;
    },
    onEpochEnd(epoch: number, logs: EpochLogs) {
      if (best.improves(best.read(logs))) {
        wait = 0;
        state.bestEpoch = epoch;
        if (restore) bestWeights = model.getParams();
        return;
      }
      // Keras semantics: stop once `patience` epochs in a row brought no improvement.
      wait++;
      if (wait >= Math.max(1, patience)) {
        state.stoppedEpoch = epoch;
        model.stopTraining = true;
      }
    },
    onTrainEnd(_history: History) {
      if (restore && bestWeights && state.stoppedEpoch !== null) model.setParams(bestWeights);
    },
  };
}

export interface ModelCheckpointOptions extends MonitorOptions {
  /** File to write; `{epoch}` is replaced by the epoch number (from 1). */
  path: string;
  /** Only write when the monitored value improves. Default false. */
  saveBestOnly?: boolean;
}

/** Saves the model (atomically, with training state) after epochs. */
export function modelCheckpoint(opts: ModelCheckpointOptions): FitCallbacks {
  const o = options(opts, 'modelCheckpoint options', ['path', 'saveBestOnly']) as unknown as ModelCheckpointOptions;
  if (typeof o.path !== 'string' || o.path === '') throw invalidType('modelCheckpoint.path', 'a file path', o.path);
  const best = new Best(o, 'modelCheckpoint', 0);
  const saveBestOnly = o.saveBestOnly ?? false;
  let model: TrainingHandle;
  let due = false;
  return {
    monitor: best.monitor,
    setModel(m: TrainingHandle) {
      model = m;
    },
    onEpochEnd(_epoch: number, logs: EpochLogs) {
      due = !saveBestOnly || best.improves(best.read(logs));
    },
    // Written once every callback has seen the epoch: the checkpoint's callback states are
    // those after it, whichever order the callbacks were given in.
    async afterEpochEnd(epoch: number) {
      if (!due) return;
      due = false;
      await model.save(o.path.replace('{epoch}', String(epoch + 1)));
    },
  };
}

export interface ReduceLROnPlateauOptions extends MonitorOptions {
  /** Multiply the rate by this on a plateau. Default 0.1. */
  factor?: number;
  /** Epochs without improvement before reducing. Default 10. */
  patience?: number;
  /** Epochs to wait after a reduction. Default 0. */
  cooldown?: number;
  /** Lower bound of the rate. Default 0. */
  minLearningRate?: number;
}

/** Lowers the learning rate when the monitored value stops improving. */
export function reduceLROnPlateau(opts: ReduceLROnPlateauOptions = {}): FitCallbacks {
  const o = options(opts, 'reduceLROnPlateau options', ['factor', 'patience', 'cooldown', 'minLearningRate']) as ReduceLROnPlateauOptions;
  const best = new Best(o, 'reduceLROnPlateau', 1e-4);
  const factor = o.factor === undefined ? 0.1 : checkNumber('reduceLROnPlateau.factor', o.factor, 0, 1, true);
  const patience = o.patience === undefined ? 10 : checkInteger('reduceLROnPlateau.patience', o.patience, 0, 1e9);
  const cooldown = o.cooldown === undefined ? 0 : checkInteger('reduceLROnPlateau.cooldown', o.cooldown, 0, 1e9);
  const floor = o.minLearningRate === undefined ? 0 : checkNumber('reduceLROnPlateau.minLearningRate', o.minLearningRate, 0, 1e6);
  let model: TrainingHandle;
  let wait = 0;
  let cooling = 0;
  // The rate after the last reduction: a later fit (with this callback, or resumed from a
  // checkpoint) goes on from it instead of the base rate, as an uninterrupted run would.
  let reduced: number | null = null;
  return {
    monitor: best.monitor,
    stateKey: 'reduceLROnPlateau',
    getState: () => ({ wait, cooling, best: best.value, reduced }),
    setState(s: unknown) {
      const v = s as { wait: number; cooling: number; best: number | null; reduced: number | null };
      if (!v || typeof v.wait !== 'number') return;
      wait = v.wait;
      cooling = v.cooling;
      best.value = v.best === null ? Infinity : v.best;
      reduced = v.reduced;
    },
    setModel(m: TrainingHandle) {
      model = m;
    },
    onTrainBegin() {
      if (reduced !== null) model.learningRate = reduced;
    },
    onEpochEnd(_epoch: number, logs: EpochLogs) {
      const improved = best.improves(best.read(logs));
      if (cooling > 0) {
        cooling--;
        wait = 0;
      }
      if (improved) {
        wait = 0;
        return;
      }
      if (cooling === 0 && ++wait >= Math.max(1, patience)) {
        model.learningRate = Math.max(floor, model.learningRate * factor);
        reduced = model.learningRate;
        cooling = cooldown;
        wait = 0;
      }
    },
  };
}
