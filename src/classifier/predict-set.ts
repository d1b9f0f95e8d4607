/**
 * Probabilities of a checked sequence set, in native batches of `batchSize`: each batch is a
 * view of the set (the addon gathers its members), the results land in one [N x classes] array.
 */
import { batchOf, type SequenceSet } from '../data/sequence-set';
import type { NativeModel } from '../native/addon';

export async function predictSet(model: NativeModel, set: SequenceSet, classes: number, batchSize: number, threads: number): Promise<Float32Array> {
  const out = new Float32Array(set.count * classes);
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(start + batchSize, set.count);
    out.set(await model.predict(batchOf(set, null, start, end), threads), start * classes);
  }
  return out;
}
