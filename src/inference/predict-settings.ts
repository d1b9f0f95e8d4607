/**
 * The settings of a prediction, declared once: what `predict` takes as flags and a queue job
 * carries to its workers. From this list come the `predict` and `queue submit` flags (their
 * name, kind, limits, help and default: src/cli/common-flags.ts), the PredictSettings type,
 * the settings in each chunk's payload (written whole by src/scale/queue/submit.ts, checked
 * here when a worker reads it: src/scale/queue/job.ts), and docs/CLI.md (generated from the
 * help). runPrediction (predict-job.ts) reads them.
 *
 * A new setting is an entry here and its use: predict-job.ts for how the job runs,
 * prediction-lines.ts for what a line says (both get the settings whole); then
 * `node scripts/write-cli-docs.mjs` for docs/CLI.md. Nothing between the flag and its use
 * names it: not the commands, not the queue's payload, not the worker.
 *
 * What to read (inputs, --format, --idx-prefix, the record schema), where to write (--output,
 * --compress) and --threads (each machine's own) are not settings of the prediction: the
 * planner and the part files need them too, and train and evaluate share their flags.
 */

/** How a setting reads on the command line (a subset of the CLI's flag kinds). */
export type SettingKind = 'int' | 'float' | 'string' | 'bool' | { readonly choices: readonly string[] };

export interface SettingSpec {
  /** Its key in PredictSettings and in a queue chunk's payload. */
  readonly key: string;
  /** Its flag, without the dashes. */
  readonly flag: string;
  readonly kind: SettingKind;
  readonly help: string;
  /** The help of `queue submit` where the workers' side needs other words. */
  readonly queueHelp?: string;
  /** The value when none is given (the type then has it always). */
  readonly default?: string | number | boolean;
  /** What the help says without a default (e.g. 'off'). */
  readonly shown?: string;
  /** Smallest and largest accepted value (int, float). */
  readonly min?: number;
  readonly max?: number;
}

export const PREDICT_SETTINGS = [
  { key: 'batchSize', flag: 'batch-size', kind: 'int', min: 1, max: 1 << 20, help: 'records per native call (two batches are held at a time)', queueHelp: 'records per native call in the workers', default: 2048 },
  { key: 'topK', flag: 'top-k', kind: 'int', min: 1, help: "add the K most probable labels as 'top'", shown: 'off' },
  {
    key: 'onError',
    flag: 'on-error',
    kind: { choices: ['fail', 'skip'] },
    help: 'a bad record stops the job (fail) or is reported on stderr and skipped',
    queueHelp: 'a bad record fails its chunk (fail) or is logged by the worker and skipped',
    default: 'fail',
  },
] as const satisfies readonly SettingSpec[];

type Spec = (typeof PREDICT_SETTINGS)[number];
type ValueOf<K> = K extends 'int' | 'float' ? number : K extends 'bool' ? boolean : K extends { readonly choices: readonly (infer C)[] } ? C : string;
type Flat<T> = { [K in keyof T]: T[K] };

/** The settings' values by key: those with a default always there, the others optional. */
export type PredictSettings = Flat<
  { [S in Extract<Spec, { default: unknown }> as S['key']]: ValueOf<S['kind']> } & { [S in Exclude<Spec, { default: unknown }> as S['key']]?: ValueOf<S['kind']> }
>;

/** A setting's value that does not fit its declaration. */
export class SettingError extends Error {}

const SPECS: readonly SettingSpec[] = PREDICT_SETTINGS;

/** Whether `key` names a setting. */
export function isSettingKey(key: string): boolean {
  return SPECS.some((s) => s.key === key);
}

function expected(s: SettingSpec): string {
  const k = s.kind;
  if (typeof k === 'object') return `one of ${k.choices.join(', ')}`;
  if (k === 'int' || k === 'float') return `${k === 'int' ? 'an integer' : 'a number'} in ${s.min ?? '-inf'}..${s.max ?? 'inf'}`;
  return k === 'bool' ? 'true or false' : 'a non-empty string';
}

function fits(s: SettingSpec, v: unknown): boolean {
  const k = s.kind;
  if (typeof k === 'object') return typeof v === 'string' && k.choices.includes(v);
  if (k === 'bool') return typeof v === 'boolean';
  if (k === 'string') return typeof v === 'string' && v !== '';
  return typeof v === 'number' && Number.isFinite(v) && (k === 'float' || Number.isInteger(v)) && !(s.min !== undefined && v < s.min) && !(s.max !== undefined && v > s.max);
}

/**
 * The settings among `values` (keyed by setting key), each checked against its declaration:
 * a missing one takes its default (a payload from before the setting existed), a bad one is a
 * SettingError naming it. Keys that are not settings are left to the caller.
 */
export function checkSettings(values: Readonly<Record<string, unknown>>): PredictSettings {
  const out: Record<string, unknown> = {};
  for (const s of SPECS) {
    const v = values[s.key];
    if (v === undefined) {
      if (s.default !== undefined) out[s.key] = s.default;
      continue;
    }
    if (!fits(s, v)) throw new SettingError(`${s.key} (--${s.flag}) must be ${expected(s)}, got ${JSON.stringify(v) ?? String(v)}`);
    out[s.key] = v;
  }
  return out as PredictSettings;
}

/** The settings of parsed flag values (keyed by flag name). */
export function settingsFromFlags(values: Readonly<Record<string, unknown>>): PredictSettings {
  return checkSettings(Object.fromEntries(SPECS.map((s) => [s.key, values[s.flag]])));
}
