/**
 * Training-time data augmentation, applied to each training batch and never at evaluation:
 * Gaussian noise on dense values, random crops and circular shifts of sequences, and token
 * dropout (ids replaced by the unknown id) for text.
 */
import { checkInteger, checkNumber, checkKnownKeys } from '../util/validate';
import { invalidType } from '../util/errors';
import type { NativeBatch } from '../native/addon';
import type { SeededRandom } from '../util/random';
import { UNKNOWN_ID } from '../data/tokenizer';

export interface AugmentOptions {
  /** Std of Gaussian noise added to dense values. Default 0 (off). */
  noise?: number;
  /** Keep a random contiguous window of at least this fraction of each sequence. Default 1 (off). */
  crop?: number;
  /** Rotate each sequence by a random number of steps in [-shift, shift]. Default 0 (off). */
  shift?: number;
  /** Probability of replacing each token by the unknown id. Default 0 (off). */
  tokenDropout?: number;
}

export interface ResolvedAugment {
  noise: number;
  crop: number;
  shift: number;
  tokenDropout: number;
  /** The id dropped tokens become: the vocabulary's unknown token (UNKNOWN_ID unless the
   * model's tokenizer keeps it elsewhere). */
  unknownId: number;
}

export function resolveAugment(value: unknown): ResolvedAugment | null {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') throw invalidType('options.augment', 'an augmentation options object', value);
  const o = value as Record<string, unknown>;
  checkKnownKeys('options.augment', o, ['noise', 'crop', 'shift', 'tokenDropout']);
  const a = {
    noise: o.noise === undefined ? 0 : checkNumber('options.augment.noise', o.noise, 0, 1e6),
    crop: o.crop === undefined ? 1 : checkNumber('options.augment.crop', o.crop, 1e-9, 1),
    shift: o.shift === undefined ? 0 : checkInteger('options.augment.shift', o.shift, 0, 1e9),
    tokenDropout: o.tokenDropout === undefined ? 0 : checkNumber('options.augment.tokenDropout', o.tokenDropout, 0, 1, true),
    unknownId: UNKNOWN_ID,
  };
  return a.noise || a.crop < 1 || a.shift || a.tokenDropout ? a : null;
}

function gaussian(rng: SeededRandom): number {
  let u = rng.next();
  while (u <= 0) u = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Augments a freshly gathered batch in place (its arrays are private copies). */
export function augmentBatch(batch: NativeBatch, a: ResolvedAugment, rng: SeededRandom): NativeBatch {
  const values = (batch.dense ?? batch.tokens)!;
  const width = batch.dense ? values.length / (batch.batch * batch.steps) : 1;
  for (let s = 0; s < batch.batch; s++) {
    const base = s * batch.steps * width;
    let len = batch.lengths[s];
    if (a.crop < 1 && len > 1) {
      const keep = Math.max(1, Math.ceil(len * a.crop) + Math.floor(rng.next() * (len - Math.ceil(len * a.crop) + 1)));
      const start = Math.floor(rng.next() * (len - keep + 1));
      values.copyWithin(base, base + start * width, base + (start + keep) * width);
      values.fill(0, base + keep * width, base + len * width);
      len = batch.lengths[s] = keep;
    }
    if (a.shift > 0 && len > 1) {
      const k = ((Math.floor(rng.next() * (2 * a.shift + 1)) - a.shift) % len + len) % len;
      if (k) {
        const row = values.slice(base, base + len * width);
        values.set(row.subarray((len - k) * width), base);
        values.set(row.subarray(0, (len - k) * width), base + k * width);
      }
    }
    if (batch.dense && a.noise > 0) {
      for (let i = base; i < base + len * width; i++) values[i] += a.noise * gaussian(rng);
    }
    if (batch.tokens && a.tokenDropout > 0) {
      for (let i = base; i < base + len; i++) if (rng.next() < a.tokenDropout) values[i] = a.unknownId;
    }
  }
  return batch;
}
