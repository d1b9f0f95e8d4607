/**
 * The declarative search space (the CLI's --space file): keys named like `train`'s flags, each
 * a fixed value or a distribution,
 *   {"cell": {"choice": ["lstm", "gru"]}, "units": {"int": [32, 256], "log": true},
 *    "lr": {"float": [1e-4, 1e-2], "log": true}, "batch-size": 128}
 * turned into the define-by-run form (space.ts) that the tuner runs. `epochs` is refused: the
 * scheduler owns it.
 */
import type { FitOptions } from '../training/fit-options';
import type { LayerConfig } from '../model/config';
import type { Choice, ParamSpec, TrialParams } from './space';
import { choiceSpec, rangeSpec } from './space';
import type { TrialSettings } from './types';

/** One key: a fixed value, or a distribution. */
export type JsonParam =
  | Choice
  | { choice: Choice[] }
  | { int: [number, number]; log?: boolean; step?: number }
  | { float: [number, number]; log?: boolean; step?: number };

export type JsonSpace = Readonly<Record<string, JsonParam>>;

/** The keys, what each value must be, and where it goes. */
const KEYS = {
  // the model
  cell: 'string',
  units: 'int',
  layers: 'int',
  bidirectional: 'boolean',
  dropout: 'float',
  pooling: 'string',
  embedding: 'int',
  // training
  'batch-size': 'int',
  optimizer: 'string',
  lr: 'float',
  'weight-decay': 'float',
  'clip-norm': 'float',
  schedule: 'string',
  warmup: 'int',
  'augment-noise': 'float',
  'augment-shift': 'int',
  'augment-crop': 'float',
  'token-dropout': 'float',
  bucketing: 'boolean',
} as const;
type Key = keyof typeof KEYS;

/** A checked space: each key's fixed value or distribution. */
export interface ParsedSpace {
  readonly json: JsonSpace;
  readonly params: ReadonlyMap<Key, { fixed: Choice } | { spec: ParamSpec }>;
}

/** Checks a JSON space: a TypeError/RangeError naming the key for anything wrong. */
export function parseJsonSpace(json: unknown): ParsedSpace {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError('space: expected a JSON object of parameters');
  const params = new Map<Key, { fixed: Choice } | { spec: ParamSpec }>();
  for (const [key, value] of Object.entries(json)) {
    if (key === 'epochs') throw new RangeError("space: 'epochs' cannot be searched or fixed here; the scheduler owns it (--min-epochs, --max-epochs)");
    if (!Object.hasOwn(KEYS, key)) throw new RangeError(`space: unknown key '${key}'; expected one of ${Object.keys(KEYS).join(', ')}`);
    const type = KEYS[key as Key];
    if (typeof value === 'object' && value !== null) {
      params.set(key as Key, { spec: distribution(key, type, value as Record<string, unknown>) });
    } else {
      checkValue(key, type, value as Choice);
      params.set(key as Key, { fixed: value as Choice });
    }
  }
  if (params.size === 0) throw new RangeError('space: no parameters');
  return { json: json as JsonSpace, params };
}

function distribution(key: string, type: string, value: Record<string, unknown>): ParamSpec {
  const forms = Object.keys(value).filter((k) => k === 'choice' || k === 'int' || k === 'float');
  if (forms.length !== 1) throw new TypeError(`space: '${key}' must be a plain value or one of {"choice": [...]}, {"int": [low, high]}, {"float": [low, high]}`);
  const form = forms[0];
  const extra = Object.keys(value).filter((k) => k !== form && !(form !== 'choice' && (k === 'log' || k === 'step')));
  if (extra.length) throw new RangeError(`space: '${key}' has an unknown field '${extra[0]}'`);
  if (form === 'choice') {
    const spec = choiceSpec(key, value.choice as Choice[]);
    for (const v of spec.kind === 'choice' ? spec.values : []) checkValue(key, type, v);
    return spec;
  }
  if (type !== 'int' && type !== 'float') throw new TypeError(`space: '${key}' takes ${type} values: use {"choice": [...]} or a plain value`);
  if (form === 'float' && type === 'int') throw new TypeError(`space: '${key}' is an integer: use {"int": [low, high]}`);
  const range = value[form];
  if (!Array.isArray(range) || range.length !== 2) throw new TypeError(`space: '${key}': ${form} takes [low, high]`);
  const spec = rangeSpec(form as 'int' | 'float', key, range[0] as number, range[1] as number, { log: value.log as boolean | undefined, step: value.step as number | undefined });
  checkValue(key, type, spec.kind === 'choice' ? null : spec.low);
  checkValue(key, type, spec.kind === 'choice' ? null : spec.high);
  return spec;
}

/** Each key's own range, so a bad fixed value fails here and not in trial 37. */
function checkValue(key: string, type: string, v: Choice): void {
  const bad = (what: string) => new RangeError(`space: '${key}' ${what}, got ${JSON.stringify(v)}`);
  if (type === 'boolean' && typeof v !== 'boolean') throw bad('must be true or false');
  if (type === 'string' && typeof v !== 'string') throw bad('must be a string');
  if ((type === 'int' || type === 'float') && (typeof v !== 'number' || !Number.isFinite(v))) throw bad('must be a number');
  if (type === 'int' && !Number.isInteger(v)) throw bad('must be an integer');
  const n = v as number;
  if ((key === 'units' || key === 'embedding') && !(n >= 1 && n <= 16384)) throw bad('must be in [1, 16384]');
  if (key === 'layers' && !(n >= 1 && n <= 64)) throw bad('must be in [1, 64]');
  if (key === 'batch-size' && !(n >= 1)) throw bad('must be at least 1');
  if ((key === 'dropout' || key === 'token-dropout') && !(n >= 0 && n < 1)) throw bad('must be in [0, 1)');
  if ((key === 'lr' || key === 'weight-decay' || key === 'clip-norm' || key === 'augment-noise' || key === 'warmup' || key === 'augment-shift') && !(n >= 0)) throw bad('must be at least 0');
  if (key === 'augment-crop' && !(n > 0 && n <= 1)) throw bad('must be in (0, 1]');
  const choices: Partial<Record<string, readonly string[]>> = {
    cell: ['lstm', 'gru', 'rnn'],
    pooling: ['last', 'mean', 'max'],
    optimizer: ['adam', 'adamw', 'sgd', 'rmsprop'],
    schedule: ['none', 'step', 'exponential', 'cosine'],
  };
  const allowed = choices[key];
  if (allowed && !allowed.includes(v as string)) throw bad(`must be one of ${allowed.join(', ')}`);
}

/** The define-by-run form of a parsed space: each key asked of the trial in a fixed order. */
export function jsonSpaceFunction(space: ParsedSpace): (trial: TrialParams) => TrialSettings {
  return (trial) => {
    const value = (key: Key, fallback: Choice): Choice => {
      const p = space.params.get(key);
      if (!p) return fallback;
      if ('fixed' in p) return p.fixed;
      const s = p.spec;
      if (s.kind === 'choice') return trial.choice(key, s.values);
      const options = { log: s.log, ...(s.step !== null && !(s.kind === 'int' && s.step === 1) ? { step: s.step } : {}) };
      return s.kind === 'int' ? trial.int(key, s.low, s.high, options) : trial.float(key, s.low, s.high, options);
    };
    const layer: LayerConfig = {
      cell: value('cell', 'lstm') as LayerConfig['cell'],
      units: value('units', 128) as number,
      bidirectional: value('bidirectional', false) as boolean,
      dropout: value('dropout', 0) as number,
    };
    const layers = Array.from({ length: value('layers', 1) as number }, () => ({ ...layer }));
    const optimizerType = value('optimizer', 'adam') as 'adam' | 'adamw' | 'sgd' | 'rmsprop';
    const lr = space.params.has('lr') ? (value('lr', 0) as number) : undefined;
    const weightDecay = space.params.has('weight-decay') ? (value('weight-decay', 0) as number) : undefined;
    const clipNorm = value('clip-norm', 0) as number;
    const fit: FitOptions = {
      batchSize: value('batch-size', 32) as number,
      optimizer: { type: optimizerType, ...(lr !== undefined ? { learningRate: lr } : {}), ...(weightDecay !== undefined ? { weightDecay } : {}), ...(clipNorm > 0 ? { clipNorm } : {}) },
      bucketing: value('bucketing', false) as boolean,
    };
    const schedule = value('schedule', 'none') as string;
    if (schedule === 'cosine') fit.schedule = { type: 'cosine', warmupEpochs: value('warmup', 0) as number };
    else if (schedule === 'exponential') fit.schedule = { type: 'exponential', gamma: 0.9 };
    else if (schedule === 'step') fit.schedule = { type: 'step', stepSize: 10, gamma: 0.1 };
    const noise = value('augment-noise', 0) as number, shift = value('augment-shift', 0) as number;
    const crop = value('augment-crop', 1) as number, tokenDropout = value('token-dropout', 0) as number;
    if (noise > 0 || shift > 0 || crop < 1 || tokenDropout > 0) {
      fit.augment = { ...(noise > 0 ? { noise } : {}), ...(shift > 0 ? { shift } : {}), ...(crop < 1 ? { crop } : {}), ...(tokenDropout > 0 ? { tokenDropout } : {}) };
    }
    const embedding = space.params.has('embedding') ? (value('embedding', 32) as number) : undefined;
    return { config: { layers, pooling: value('pooling', 'last') as 'last' | 'mean' | 'max' }, fit, ...(embedding !== undefined ? { embeddingDim: embedding } : {}) };
  };
}
