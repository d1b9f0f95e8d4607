/**
 * Missing values (NaN) in dense sequences, and the policies that deal with them: the one
 * implementation used by the API (data/sequence-set.ts, on typed input) and the CLI's preprocessing
 * (on records). 'error' rejects the sequence naming the position; 'zero' uses 0; 'ffill'
 * repeats the feature's previous value (0 at the first step); 'mask' drops the steps that
 * have any missing value.
 */
export type MissingPolicy = 'error' | 'zero' | 'ffill' | 'mask';
export const MISSING_POLICIES = ['error', 'zero', 'ffill', 'mask'] as const;

export interface MissingResult {
  /** Steps the sequence has afterwards ('mask' may drop some; 0 means none left). */
  kept: number;
  /** With 'error': [step, feature] of the first missing value, else null. */
  missingAt: [number, number] | null;
}

/**
 * Applies `policy`, in place, to one sequence of `length` steps of `features` values stored
 * row by row from `offset` in `values`. 'mask' moves the kept steps forward; what lies
 * behind them afterwards is left to the caller. 'error' changes nothing.
 */
export function applyMissingPolicy(values: Float32Array | Float64Array, offset: number, length: number, features: number, policy: MissingPolicy): MissingResult {
  let kept = 0;
  for (let t = 0; t < length; t++) {
    const at = offset + t * features;
    let hasMissing = false;
    for (let f = 0; f < features; f++) {
      if (!Number.isNaN(values[at + f])) continue;
      if (policy === 'error') return { kept: length, missingAt: [t, f] };
      hasMissing = true;
      if (policy === 'zero') values[at + f] = 0;
      // The previous step has been filled already, so gaps of several steps carry its value on.
      else if (policy === 'ffill') values[at + f] = t > 0 ? values[at - features + f] : 0;
    }
    if (policy === 'mask') {
      if (hasMissing) continue;
      if (kept !== t) values.copyWithin(offset + kept * features, at, at + features);
    }
    kept++;
  }
  return { kept, missingAt: null };
}
