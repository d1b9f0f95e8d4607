/**
 * The search space of a study, define-by-run: a trial asks for each parameter where the code
 * needs it (`trial.int('units', 32, 256, { log: true })`), so conditional parameters are plain
 * code. Each request names the parameter and its distribution; the sampler (samplers.ts)
 * picks the value. One name means one distribution for the whole study: asking for it again
 * with another range is refused, naming the difference (a study reopened with another space
 * fails the same way, journal.ts).
 */
import { StudyError } from '../util/errors';
import { checkKnownKeys } from '../util/validate';

/** A choice's value: what JSON can hold and compare. */
export type Choice = string | number | boolean | null;

/** One parameter's distribution. */
export type ParamSpec =
  | { readonly kind: 'int'; readonly low: number; readonly high: number; readonly log: boolean; readonly step: number }
  | { readonly kind: 'float'; readonly low: number; readonly high: number; readonly log: boolean; readonly step: number | null }
  | { readonly kind: 'choice'; readonly values: readonly Choice[] };

export interface RangeOptions {
  /** Sample uniformly in log space (the range must be > 0). */
  log?: boolean;
  /** Only values low + k·step (not with log). */
  step?: number;
}

/** What a search space function receives: one trial's parameters, asked for by name. */
export interface TrialParams {
  /** The trial's number in the study (0-based). */
  readonly id: number;
  int(name: string, low: number, high: number, options?: RangeOptions): number;
  float(name: string, low: number, high: number, options?: RangeOptions): number;
  choice<T extends Choice>(name: string, values: readonly T[]): T;
}

/** Picks a value for a parameter of a trial (the sampler's side of TrialParams). */
export type Suggest = (name: string, spec: ParamSpec) => number | Choice;

/** The parameter's distribution from a request, checked: RangeError/TypeError naming it. */
export function rangeSpec(kind: 'int' | 'float', name: string, low: number, high: number, options: RangeOptions = {}): ParamSpec {
  const what = `parameter '${name}'`;
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object`);
  checkKnownKeys(`${what} options`, options, ['log', 'step']);
  for (const [label, v] of [['low', low], ['high', high]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${what}: ${label} must be a finite number, got ${String(v)}`);
    if (kind === 'int' && !Number.isInteger(v)) throw new RangeError(`${what}: ${label} must be an integer, got ${v}`);
  }
  if (!(low <= high)) throw new RangeError(`${what}: the range [${low}, ${high}] is empty or inverted`);
  const log = options.log ?? false;
  if (typeof log !== 'boolean') throw new TypeError(`${what}: log must be a boolean`);
  if (log && low <= 0) throw new RangeError(`${what}: a log range must lie above 0, got [${low}, ${high}]`);
  const step = options.step;
  if (step !== undefined) {
    if (typeof step !== 'number' || !(step > 0) || !Number.isFinite(step)) throw new RangeError(`${what}: step must be a positive number, got ${String(step)}`);
    if (kind === 'int' && !Number.isInteger(step)) throw new RangeError(`${what}: an integer parameter's step must be an integer, got ${step}`);
    if (log) throw new RangeError(`${what}: step and log cannot be combined`);
  }
  return kind === 'int' ? { kind, low, high, log, step: step ?? 1 } : { kind, low, high, log, step: step ?? null };
}

export function choiceSpec(name: string, values: readonly Choice[]): ParamSpec {
  const what = `parameter '${name}'`;
  if (!Array.isArray(values)) throw new TypeError(`${what}: the choices must be an array`);
  if (values.length === 0) throw new RangeError(`${what}: a choice of nothing`);
  for (const v of values) {
    const ok = v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw new TypeError(`${what}: choices must be strings, finite numbers, booleans or null, got ${String(v)}`);
  }
  if (new Set(values).size !== values.length) throw new RangeError(`${what}: the choices repeat a value`);
  return { kind: 'choice', values: [...values] };
}

/** How two distributions of one name differ, or null when they are the same. */
export function specDifference(name: string, a: ParamSpec, b: ParamSpec): string | null {
  const text = (s: ParamSpec) => JSON.stringify(s);
  return text(a) === text(b) ? null : `parameter '${name}' was ${text(a)} and is now ${text(b)}`;
}

/** The values a distribution can take when finite (grid search), else null. */
export function gridValues(spec: ParamSpec): readonly Choice[] | null {
  if (spec.kind === 'choice') return spec.values;
  if (spec.log || spec.step === null) return null;
  const count = Math.floor((spec.high - spec.low) / spec.step + 1e-9) + 1;
  if (count > 1e6) return null;
  return Array.from({ length: count }, (_, k) => roundToStep(spec, spec.low + k * spec.step!));
}

/** low + k·step, without the float noise of the product (0.1·3 = 0.30000000000000004). */
export function roundToStep(spec: ParamSpec, value: number): number {
  if (spec.kind === 'choice') return value;
  const step = spec.step;
  if (step === null) return value;
  const k = Math.round((value - spec.low) / step);
  const v = Math.min(spec.high, spec.low + k * step);
  return spec.kind === 'int' ? Math.round(v) : Number(v.toPrecision(12));
}

/**
 * One trial's TrialParams: each request is checked, held to the study's earlier distribution
 * of the same name (`known`), answered by `suggest` once, and recorded.
 */
export class TrialRecorder implements TrialParams {
  readonly params: Record<string, number | Choice> = {};
  readonly specs: Record<string, ParamSpec> = {};

  constructor(
    readonly id: number,
    private readonly suggest: Suggest,
    private readonly known: Map<string, ParamSpec>,
    /** A finished trial's values, replayed instead of sampled (resume, best model). */
    private readonly fixed: Readonly<Record<string, number | Choice>> | null = null,
  ) {}

  int(name: string, low: number, high: number, options?: RangeOptions): number {
    return this.ask(name, rangeSpec('int', name, low, high, options)) as number;
  }

  float(name: string, low: number, high: number, options?: RangeOptions): number {
    return this.ask(name, rangeSpec('float', name, low, high, options)) as number;
  }

  choice<T extends Choice>(name: string, values: readonly T[]): T {
    return this.ask(name, choiceSpec(name, values)) as T;
  }

  private ask(name: string, spec: ParamSpec): number | Choice {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('a parameter needs a non-empty string name');
    const mine = this.specs[name];
    if (mine) {
      const difference = specDifference(name, mine, spec);
      if (difference) throw new RangeError(`one trial asked for a parameter twice: ${difference}`);
    }
    const studied = this.known.get(name);
    if (studied) {
      const difference = specDifference(name, studied, spec);
      if (difference) throw new StudyError(`the study's search space changed: ${difference}`);
    }
    if (name in this.params) return this.params[name];
    const value = this.fixed && name in this.fixed ? this.fixed[name] : this.suggest(name, spec);
    this.params[name] = value;
    this.specs[name] = spec;
    return value;
  }
}
