/** Shared helpers for the vitest suites. */
import { SeededRandom } from '../src/util/random';

/** Deterministic random floats in [-scale, scale]. */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * scale;
  return out;
}

/** Nested dense sequences [N][len_i][F] with the given lengths. */
export function randomDense(lengths: number[], features: number, seed: number): number[][][] {
  const rng = new SeededRandom(seed);
  return lengths.map((len) => Array.from({ length: len }, () => Array.from({ length: features }, () => 2 * rng.next() - 1)));
}

/** ||a - b|| / max(||a||, ||b||). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  const scale = Math.sqrt(Math.max(na, nb));
  return scale === 0 ? 0 : Math.sqrt(diff) / scale;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** What a call (sync or async) ends in: null when it succeeds, else the error it threw or rejected with. */
export async function outcome(call: () => unknown): Promise<(Error & { code?: string }) | null> {
  try {
    await call();
    return null;
  } catch (e) {
    return e as Error & { code?: string };
  }
}
