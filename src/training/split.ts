/** Seeded train/validation splits, optionally stratified by class. */
import { outOfRange } from '../util/errors';
import { checkNumber } from '../util/validate';
import { SeededRandom } from '../util/random';

/** Splits 0..n-1: `fraction` of them (at least one, at most n - 1) go to validation. With
 * `stratify`, each class is split in the same proportion. */
export function splitIndices(labels: Int32Array, fraction: number, seed: number, stratify = false): { train: Int32Array; validation: Int32Array } {
  checkNumber('validationSplit', fraction, 0, 1, true);
  const n = labels.length;
  // One sequence cannot be split: one side would be empty (training on nothing, or a
  // validation score of nothing).
  if (n < 2) throw outOfRange('validationSplit', 'data of at least 2 sequences to split', `${n} sequence${n === 1 ? '' : 's'}`);
  const rng = new SeededRandom(seed ^ 0x5eed);
  const validation: number[] = [];
  const train: number[] = [];
  const groups = new Map<number, number[]>();
  if (stratify) {
    for (let i = 0; i < n; i++) {
      const g = groups.get(labels[i]) ?? [];
      g.push(i);
      groups.set(labels[i], g);
    }
  } else {
    groups.set(0, Array.from({ length: n }, (_, i) => i));
  }
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const members = groups.get(key)!;
    const order = rng.permutation(members.length);
    const take = Math.round(members.length * fraction);
    order.forEach((k, j) => (j < take ? validation : train).push(members[k]));
  }
  if (validation.length === 0 && n > 1) validation.push(train.pop()!);
  if (train.length === 0 && n > 1) train.push(validation.pop()!);
  return { train: Int32Array.from(train.sort((a, b) => a - b)), validation: Int32Array.from(validation.sort((a, b) => a - b)) };
}
