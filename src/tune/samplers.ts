/**
 * Samplers: where the next trial's parameters come from.
 *   random: each value drawn from its distribution by a generator seeded from (study seed,
 *           trial id, parameter name), so the same seed proposes the same configurations
 *           whatever order trials finish in;
 *   grid:   every combination of a declarative space's values, in order (trial id as a mixed-
 *           radix number over the parameters);
 *   tpe:    the Tree-structured Parzen Estimator (Bergstra et al. 2011, as Optuna's default):
 *           after `startup` random trials, the finished ones split into the best γ(n) =
 *           min(⌈n/10⌉, 25) and the rest; per parameter a Parzen density l(x) over the good
 *           values and g(x) over the rest, and of 24 draws from l the one with the largest
 *           l(x)/g(x) is proposed. Each parameter on its own (independent TPE), so conditional
 *           parameters need no special case: a trial that lacks a parameter is not evidence
 *           for it.
 */
import { SeededRandom } from '../util/random';
import type { Choice, ParamSpec } from './space';
import { gridValues, roundToStep } from './space';

/** A finished trial as a sampler sees it: its parameters and a score, higher is better. */
export interface Scored {
  readonly params: Readonly<Record<string, number | Choice>>;
  readonly score: number;
}

export interface Sampler {
  readonly name: 'random' | 'grid' | 'tpe';
  suggest(trial: number, name: string, spec: ParamSpec, finished: readonly Scored[]): number | Choice;
  /** How many trials the sampler can propose (grid: the combinations), else Infinity. */
  readonly size: number;
}

/** A generator for one (trial, parameter): FNV-1a of the key folded into the study's seed. */
function generator(seed: number, trial: number, name: string): SeededRandom {
  let h = 0x811c9dc5;
  for (const ch of `${trial}:${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return new SeededRandom((h ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.floor(seed / 2 ** 32)) >>> 0);
}

/** u in [0, 1) mapped onto the distribution. */
function fromUnit(spec: ParamSpec, u: number): number | Choice {
  if (spec.kind === 'choice') return spec.values[Math.min(spec.values.length - 1, Math.floor(u * spec.values.length))];
  if (spec.kind === 'int') {
    if (spec.log) {
      // Uniform in log over [low, high + 1), floored: each integer gets its log-width share.
      const v = Math.floor(Math.exp(Math.log(spec.low) + u * (Math.log(spec.high + 1) - Math.log(spec.low))));
      return Math.min(spec.high, Math.max(spec.low, v));
    }
    const count = Math.floor((spec.high - spec.low) / spec.step) + 1;
    return spec.low + Math.min(count - 1, Math.floor(u * count)) * spec.step;
  }
  if (spec.log) return Math.min(spec.high, Math.exp(Math.log(spec.low) + u * (Math.log(spec.high) - Math.log(spec.low))));
  return roundToStep(spec, spec.low + u * (spec.high - spec.low));
}

export function randomSampler(seed: number): Sampler {
  return {
    name: 'random',
    size: Infinity,
    suggest: (trial, name, spec) => fromUnit(spec, generator(seed, trial, name).next()),
  };
}

/** Grid over declared parameters (name → distribution, in order); each must be finite. */
export function gridSampler(params: ReadonlyArray<readonly [string, ParamSpec]>): Sampler {
  const axes = params.map(([name, spec]) => {
    const values = gridValues(spec);
    if (!values) throw new RangeError(`sampler 'grid': parameter '${name}' has no finite set of values (give it a step, or a choice)`);
    return { name, values };
  });
  const size = axes.reduce((n, a) => n * a.values.length, 1);
  return {
    name: 'grid',
    size,
    suggest: (trial, name, spec) => {
      let rest = trial % size;
      for (let i = axes.length - 1; i >= 0; i--) {
        const a = axes[i];
        const index = rest % a.values.length;
        rest = Math.floor(rest / a.values.length);
        if (a.name === name) return a.values[index];
      }
      return fromUnit(spec, 0);  // not declared: its lowest value
    },
  };
}

/** A Gaussian kernel mixture on the (log-)transformed axis [lo, hi], with a wide prior. */
function parzen(points: number[], lo: number, hi: number) {
  const width = hi - lo || 1;
  const n = points.length;
  const mean = points.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = Math.sqrt(points.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n));
  // Scott's rule, kept between range / min(100, n + 1) and the whole range. The floor shrinks
  // with the evidence (Optuna's "magic clip"): with few good trials, close to each other because
  // earlier proposals came from them, a bandwidth from their spread alone would collapse and
  // every later trial would repeat them.
  const sigma = Math.min(width, Math.max(width / Math.min(100, n + 1), 1.06 * (sd || width) * Math.pow(n + 1, -0.2)));
  const centres = [...points, (lo + hi) / 2];
  const sigmas = [...points.map(() => sigma), width];
  const density = (x: number) => {
    let p = 0;
    for (let i = 0; i < centres.length; i++) p += Math.exp(-0.5 * ((x - centres[i]) / sigmas[i]) ** 2) / sigmas[i];
    return p / centres.length + 1e-300;
  };
  const draw = (rng: SeededRandom) => {
    const i = Math.min(centres.length - 1, Math.floor(rng.next() * centres.length));
    // Box-Muller, clamped to the range.
    const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    return Math.min(hi, Math.max(lo, centres[i] + z * sigmas[i]));
  };
  return { density, draw };
}

export function tpeSampler(seed: number, startup = 10, candidates = 24): Sampler {
  const random = randomSampler(seed);
  return {
    name: 'tpe',
    size: Infinity,
    suggest: (trial, name, spec, finished) => {
      const seen = finished.filter((f) => name in f.params);
      if (seen.length < startup) return random.suggest(trial, name, spec, finished);
      const sorted = [...seen].sort((a, b) => b.score - a.score);
      const good = Math.min(Math.ceil(sorted.length / 10), 25);
      const goodValues = sorted.slice(0, good).map((f) => f.params[name]);
      const badValues = sorted.slice(good).map((f) => f.params[name]);
      const rng = generator(seed ^ 0x5bd1e995, trial, name);
      if (spec.kind === 'choice') {
        // Categorical: smoothed counts (one pseudo-count per value), 24 draws from l.
        const weights = (values: (number | Choice)[]) => spec.values.map((v) => (values.filter((x) => x === v).length + 1) / (values.length + spec.values.length));
        const l = weights(goodValues), g = weights(badValues);
        let best = 0, bestRatio = -Infinity;
        for (let c = 0; c < candidates; c++) {
          let u = rng.next(), k = 0;
          while (k < l.length - 1 && u >= l[k]) u -= l[k++];
          if (l[k] / g[k] > bestRatio) [best, bestRatio] = [k, l[k] / g[k]];
        }
        return spec.values[best];
      }
      const to = (v: number) => (spec.log ? Math.log(v) : v);
      const lo = to(spec.low), hi = to(spec.kind === 'int' && spec.log ? spec.high + 1 : spec.high);
      const l = parzen(goodValues.map((v) => to(v as number)), lo, hi), g = parzen(badValues.map((v) => to(v as number)), lo, hi);
      let best = l.draw(rng), bestRatio = -Infinity;
      for (let c = 0; c < candidates; c++) {
        const x = c === 0 ? best : l.draw(rng);
        const ratio = Math.log(l.density(x)) - Math.log(g.density(x));
        if (ratio > bestRatio) [best, bestRatio] = [x, ratio];
      }
      const value = spec.log ? Math.exp(best) : best;
      if (spec.kind === 'int') {
        const v = spec.log ? Math.floor(value) : spec.low + Math.round((value - spec.low) / spec.step) * spec.step;
        return Math.min(spec.high, Math.max(spec.low, v));
      }
      return roundToStep(spec, Math.min(spec.high, Math.max(spec.low, value)));
    },
  };
}
