/**
 * Dynamic batching (`setBatching`): concurrent calls coalesce into native batches, and each
 * still gets exactly what it would alone, in its own shape and order, with its own errors and
 * its own abort.
 */
import { describe, expect, it } from 'vitest';

import { DisposedError, SequenceClassifier } from '../src/index';

function sequences(n: number, seed: number, features = 3) {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: n }, (_, i) => Array.from({ length: 1 + (i % 9) }, () => Array.from({ length: features }, r)));
}

const model = () => new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'gru', units: 16 }], classes: 4, seed: 1 });

describe('setBatching', () => {
  it('coalesced calls return exactly what each would alone, in order and in their own shapes', async () => {
    const m = model();
    const x = sequences(300, 1);
    const alone = await Promise.all(x.map((seq) => m.predictProba([seq]) as Promise<number[][]>));
    m.setBatching({ maxDelayMs: 5, maxBatchSize: 64 });
    // Nested calls of one sequence, typed calls of several, all at once.
    const typed = { values: Float32Array.from(x.slice(0, 4).flatMap((seq) => [...seq, ...Array(9 - seq.length).fill([0, 0, 0])].flat())), shape: [4, 9, 3], lengths: Int32Array.from(x.slice(0, 4), (seq) => seq.length) };
    const [batched, typedOut] = await Promise.all([Promise.all(x.map((seq) => m.predictProba([seq]) as Promise<number[][]>)), m.predictProba(typed) as Promise<Float32Array>]);
    expect(batched).toEqual(alone);
    // 301 calls in a handful of native batches: they were coalesced.
    expect(m.batchingStats).toMatchObject({ calls: 301, sequences: 304 });
    expect(m.batchingStats!.batches).toBeLessThanOrEqual(8);
    expect(typedOut).toBeInstanceOf(Float32Array);
    expect(Array.from(typedOut)).toEqual(alone.slice(0, 4).flat(2).map(Math.fround));
    const labels = await Promise.all(x.slice(0, 10).map((seq) => m.predict([seq])));
    expect(labels.flat()).toEqual(alone.slice(0, 10).map(([p]) => p.indexOf(Math.max(...p))));
    m.dispose();
  });

  it('keeps each call\'s validation error and abort to itself', async () => {
    const m = model();
    m.setBatching({ maxDelayMs: 20, maxBatchSize: 1000 });
    const x = sequences(6, 2);
    const controller = new AbortController();
    const calls = [
      m.predictProba([x[0]]),
      m.predictProba([[[1, 2]]]), // wrong feature count: rejected at once, alone
      m.predictProba([x[1]], { signal: controller.signal }),
      m.predictProba([x[2]]),
    ];
    controller.abort(new Error('not needed'));
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(((settled[2] as PromiseRejectedResult).reason as Error).message).toBe('not needed');
    const aborted = new AbortController();
    aborted.abort(new Error('before'));
    await expect(m.predictProba([x[3]], { signal: aborted.signal })).rejects.toThrow('before');
    await expect(m.predictProba([x[3]], { signal: 'no' as never })).rejects.toThrow(/options\.signal/);
    m.dispose();
  });

  it('a call as large as a batch runs alone; turning batching off runs what waits; dispose rejects what waits', async () => {
    const m = model();
    const x = sequences(50, 3);
    const reference = (await m.predictProba(x)) as number[][];
    m.setBatching({ maxDelayMs: 1000, maxBatchSize: 8 });
    expect(await m.predictProba(x)).toEqual(reference); // 50 >= 8: no waiting
    const waiting = m.predictProba([x[0]]);
    m.setBatching(null); // does not wait out the second
    expect(await waiting).toEqual([reference[0]]);
    m.setBatching({ maxDelayMs: 1000, maxBatchSize: 8 });
    const orphan = m.predictProba([x[1]]);
    m.dispose();
    await expect(orphan).rejects.toThrow(DisposedError);
  });

  it('checks its options', () => {
    const m = model();
    expect(() => m.setBatching({ maxDelayMs: -1 })).toThrow(/options\.maxDelayMs/);
    expect(() => m.setBatching({ maxBatchSize: 0 })).toThrow(/options\.maxBatchSize/);
    expect(() => m.setBatching(42 as never)).toThrow(TypeError);
    m.dispose();
    expect(() => m.setBatching({})).toThrow(DisposedError);
  });
});
