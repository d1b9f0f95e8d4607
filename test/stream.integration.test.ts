/**
 * Streams (`openStream`): a sequence pushed in any chunking gives, after each push, the bits
 * `predictProba` gives on the same prefix; for every cell, both GRU forms, stacked layers,
 * every pooling, masking, tokens, text and int8 models. Saved states continue bit for bit;
 * bad input, foreign states and closed streams get typed errors.
 */
import { describe, expect, it } from 'vitest';

import { BusyError, DisposedError, Preprocessor, SequenceClassifier, StreamClosedError, StreamStateError, UnsupportedModelError } from '../src/index';
import type { SequenceClassifierConfig } from '../src/index';
import { SeededRandom } from '../src/util/random';

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/** Chunk sizes summing to n: 1..maxChunk each, from the seed. */
function chunking(n: number, seed: number, maxChunk = 5): number[] {
  const rng = new SeededRandom(seed);
  const sizes: number[] = [];
  for (let done = 0; done < n; ) {
    const k = Math.min(n - done, 1 + Math.floor(rng.next() * maxChunk));
    sizes.push(k);
    done += k;
  }
  return sizes;
}

interface Case {
  name: string;
  config: SequenceClassifierConfig;
  quantize?: 'int8' | 'bf16';
}

const dense = (features: number, extra: object = {}) => ({ type: 'dense' as const, features, ...extra });
const tokens = (extra: object = {}) => ({ type: 'tokens' as const, vocabSize: 20, embeddingDim: 6, ...extra });

const CASES: Case[] = [
  { name: 'LSTM, last', config: { input: dense(3), layers: [{ cell: 'lstm', units: 12 }], classes: 4 } },
  { name: 'GRU (reset_after), 2 layers, mean', config: { input: dense(3), layers: [{ cell: 'gru', units: 10 }, { cell: 'gru', units: 7 }], pooling: 'mean', classes: 3 } },
  { name: 'GRU (legacy form), max', config: { input: dense(3), layers: [{ cell: 'gru', units: 9, resetAfter: false }], pooling: 'max', classes: 5 } },
  { name: 'RNN, 2 layers, mean', config: { input: dense(2), layers: [{ cell: 'rnn', units: 8 }, { cell: 'rnn', units: 8 }], pooling: 'mean', classes: 2 } },
  { name: 'LSTM with maskValue, mean', config: { input: dense(3, { maskValue: 0 }), layers: [{ cell: 'lstm', units: 8 }], pooling: 'mean', classes: 3 } },
  { name: 'tokens with maskZero, LSTM + GRU, max', config: { input: tokens({ maskZero: true }), layers: [{ cell: 'lstm', units: 8 }, { cell: 'gru', units: 6 }], pooling: 'max', classes: 4 } },
  { name: 'tokens, GRU, last', config: { input: tokens(), layers: [{ cell: 'gru', units: 16 }], classes: 3 } },
  { name: 'int8 LSTM, 2 layers, mean', config: { input: dense(4), layers: [{ cell: 'lstm', units: 16 }, { cell: 'lstm', units: 16 }], pooling: 'mean', classes: 3 }, quantize: 'int8' },
  { name: 'int8 GRU, last', config: { input: dense(4), layers: [{ cell: 'gru', units: 24 }], classes: 6 }, quantize: 'int8' },
  { name: 'bf16 LSTM, max', config: { input: dense(4), layers: [{ cell: 'lstm', units: 16 }], pooling: 'max', classes: 3 }, quantize: 'bf16' },
];

async function build(c: Case): Promise<SequenceClassifier> {
  const model = new SequenceClassifier({ ...c.config, seed: 5 });
  if (!c.quantize) return model;
  const q = await model.quantize({ type: c.quantize });
  model.dispose();
  return q;
}

/** One sequence of n steps as typed rows [n × F] (dense) or ids (tokens), with masked steps. */
function sequence(c: Case, n: number, seed: number): { steps: Float32Array | Int32Array; width: number } {
  const rng = new SeededRandom(seed);
  const input = c.config.input;
  if (input.type === 'tokens') {
    const masked = input.maskZero === true;
    return { steps: Int32Array.from({ length: n }, (_, t) => (masked && t % 4 === 2 ? 0 : 1 + Math.floor(rng.next() * 19))), width: 1 };
  }
  const F = input.features;
  const steps = Float32Array.from({ length: n * F }, () => 2 * rng.next() - 1);
  if (input.maskValue === 0) for (const t of [0, 5, 6, 11]) steps.fill(0, t * F, (t + 1) * F); // masked steps, first one included
  return { steps, width: F };
}

/** predictProba on the first k steps, as bits. */
async function prefix(model: SequenceClassifier, c: Case, steps: Float32Array | Int32Array, width: number, k: number): Promise<number[]> {
  const x = steps instanceof Int32Array ? { values: steps.slice(0, k), shape: [1, k] } : { values: steps.slice(0, k * width), shape: [1, k, width] };
  return bits((await model.predictProba(x)) as Float32Array);
}

const push = (stream: ReturnType<SequenceClassifier['openStream']>, steps: Float32Array | Int32Array, width: number, from: number, to: number, everyStep = false) =>
  stream.push(steps instanceof Int32Array ? steps.slice(from, to) : { values: steps.slice(from * width, to * width), shape: [to - from, width] }, { everyStep }) as Promise<Float32Array>;

describe('streams equal predictProba on every prefix, bit for bit', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const model = await build(c);
      const n = 17;
      const { steps, width } = sequence(c, n, 11);
      // Masked steps at the very start give no prefix prediction: compare from the first real step.
      const firstReal = c.config.input.type === 'dense' && c.config.input.maskValue === 0 ? 1 : 0;
      for (const [k, sizes] of [[0, Array(n).fill(1)], [1, chunking(n, 1)], [2, chunking(n, 2, 8)], [3, [n]]] as const) {
        const stream = model.openStream();
        let at = 0;
        for (const size of sizes) {
          if (at + size <= firstReal) {
            await expect(push(stream, steps, width, at, at + size)).rejects.toThrow(/at least one unmasked step/);
            at += size;
            continue;
          }
          const got = await push(stream, steps, width, at, at + size);
          at += size;
          expect(bits(got), `chunking ${k}, after step ${at}`).toEqual(await prefix(model, c, steps, width, at));
        }
        stream.close();
      }
      // Every step at once, one row per step given.
      const every = await push(model.openStream(), steps, width, 0, n, true);
      const C = model.config.classes;
      for (let t = firstReal; t < n; t++) expect(bits(every.subarray(t * C, (t + 1) * C)), `everyStep row ${t}`).toEqual(await prefix(model, c, steps, width, t + 1));
      if (firstReal > 0) expect(Number.isNaN(every[0])).toBe(true);
      model.dispose();
    });
  }
});

describe('stream state', () => {
  it('a saved state continues bit for bit, in another stream and after a reset', async () => {
    const model = new SequenceClassifier({ input: dense(3), layers: [{ cell: 'lstm', units: 12 }, { cell: 'gru', units: 6 }], pooling: 'mean', classes: 4, seed: 2 });
    const { steps } = sequence(CASES[0], 20, 3);
    const whole = model.openStream();
    await push(whole, steps, 3, 0, 9);
    const saved = await whole.saveState();
    const expected = await push(whole, steps, 3, 9, 20, true);
    const resumed = model.openStream({ state: saved });
    expect(resumed.steps).toBe(9);
    expect(bits(await push(resumed, steps, 3, 9, 20, true))).toEqual(bits(expected));
    // reset: a new sequence from zero state.
    await resumed.reset();
    expect(bits(await push(resumed, steps, 3, 0, 4))).toEqual(await prefix(model, CASES[0], steps, 3, 4));
    model.dispose();
  });

  it('refuses a state from another model, a corrupt one and a truncated one (StreamStateError)', async () => {
    const a = new SequenceClassifier({ input: dense(3), layers: [{ cell: 'lstm', units: 8 }], classes: 2, seed: 1 });
    const b = new SequenceClassifier({ input: dense(3), layers: [{ cell: 'lstm', units: 8 }], classes: 2, seed: 2 });
    const s = a.openStream();
    await s.push([[1, 2, 3]]);
    const saved = await s.saveState();
    expect(() => b.openStream({ state: saved })).toThrow(StreamStateError);
    expect(() => b.openStream({ state: saved })).toThrow(/another model/);
    const flipped = saved.slice();
    flipped[saved.length - 40] ^= 1;
    expect(() => a.openStream({ state: flipped })).toThrow(/checksum/);
    expect(() => a.openStream({ state: saved.subarray(0, 30) })).toThrow(StreamStateError);
    expect(() => a.openStream({ state: 'abc' as never })).toThrow(StreamStateError);
    // The same model after its weights change is another model.
    a.setWeights(b.getWeights());
    expect(() => a.openStream({ state: saved })).toThrow(/another model/);
    a.dispose();
    b.dispose();
  });
});

describe('stream lifetimes', () => {
  it("a closed stream's slot, reused by a new stream, starts from zero; a push made before close() still finishes", async () => {
    const model = new SequenceClassifier({ input: dense(3), layers: [{ cell: 'lstm', units: 8 }], pooling: 'mean', classes: 3, seed: 6 });
    const { steps } = sequence(CASES[0], 6, 21);
    const a = model.openStream();
    const pending = push(a, steps, 3, 0, 4);
    a.close(); // while the push runs: it finishes, then the slot is freed
    expect(bits(await pending)).toEqual(await prefix(model, CASES[0], steps, 3, 4));
    for (let i = 0; i < 3; i++) {
      const b = model.openStream();
      expect(bits(await push(b, steps, 3, 2, 5))).toEqual(await prefix(model, CASES[0], steps.slice(6), 3, 3));
      b.close();
    }
    model.dispose();
  });
});

describe('stream queues and limits', () => {
  it('thousands of operations queued behind a push all settle, in order', async () => {
    const model = new SequenceClassifier({ input: dense(2), layers: [{ cell: 'gru', units: 4 }], classes: 2, seed: 1 });
    const s = model.openStream();
    const first = s.push([[1, 2]]);
    const empties = Array.from({ length: 5000 }, () => s.push([], { everyStep: true }));
    const last = s.push([[2, 1]]);
    await first;
    expect((await Promise.all(empties)).every((r) => Array.isArray(r) && r.length === 0)).toBe(true);
    expect(((await last) as number[]).length).toBe(2);
    expect(s.steps).toBe(2);
    model.dispose();
  });

  it('a restored state near 2^31 steps refuses a push past it, alone (the other streams of its batch go on)', async () => {
    const { encodeStreamState } = await import('../src/classifier/stream-state');
    const model = new SequenceClassifier({ input: dense(2), layers: [{ cell: 'rnn', units: 4 }], classes: 2, seed: 1 });
    const probe = model.openStream();
    await probe.push([[1, 1]]);
    const fingerprint = JSON.parse(Buffer.from(await probe.saveState()).toString('utf8', 16, 16 + Buffer.from(await probe.saveState()).readUInt32LE(12))).model;
    const bytes = encodeStreamState({ model: fingerprint, state: new Float32Array(4), steps: 2 ** 31 - 2, last: new Float32Array(2) }, 2);
    const old = model.openStream({ state: bytes });
    const other = model.openStream();
    const [a, b] = await Promise.allSettled([old.push([[1, 2], [3, 4]]), other.push([[1, 2]])]);
    expect(a.status).toBe('rejected');
    expect(String((a as PromiseRejectedResult).reason)).toMatch(/2\^31 - 1/);
    expect(b.status).toBe('fulfilled');
    expect(((await old.push([[1, 2]])) as number[]).length).toBe(2); // one more step fits
    model.dispose();
  });

  it('one long push does not pad a batch of short ones to its length', async () => {
    const model = new SequenceClassifier({ input: dense(2), layers: [{ cell: 'gru', units: 4 }], classes: 2, seed: 1 });
    const streams = Array.from({ length: 20 }, () => model.openStream());
    const long = Array.from({ length: 400 }, (_, t) => [Math.sin(t), Math.cos(t)]);
    await Promise.all(streams.map((s, i) => s.push(i === 10 ? long : [[1, 2]])));
    // The long push ran apart from the short ones around it: three batches, not one.
    expect(model.streamStats!.batches).toBe(3);
    model.dispose();
  });
});

describe('streams together', () => {
  it('pushes from many streams run as one native call; pushes on one stream apply in call order', async () => {
    const model = new SequenceClassifier({ input: dense(3), layers: [{ cell: 'gru', units: 16 }], pooling: 'max', classes: 3, seed: 4 });
    const seqs = Array.from({ length: 40 }, (_, i) => sequence(CASES[0], 6, 100 + i).steps as Float32Array);
    const streams = seqs.map(() => model.openStream());
    // Three pushes per stream, none awaited before the next is made.
    const results = await Promise.all(streams.map((s, i) => Promise.all([push(s, seqs[i], 3, 0, 2), push(s, seqs[i], 3, 2, 3), push(s, seqs[i], 3, 3, 6)])));
    for (let i = 0; i < seqs.length; i++)
      for (const [j, k] of [[0, 2], [1, 3], [2, 6]]) expect(bits(results[i][j])).toEqual(await prefix(model, CASES[0], seqs[i], 3, k));
    const stats = model.streamStats!;
    expect(stats.calls).toBe(120);
    expect(stats.batches).toBeLessThanOrEqual(6); // one per round of pushes, not one per push
    model.dispose();
  });
});

describe('text streams', () => {
  const texts = ['the cat sat on the mat', 'a dog ran in the park', 'cats and dogs'];
  const records = texts.map((text, i) => ({ kind: 'text' as const, text, label: i % 2, line: i + 1 }));
  for (const kind of ['char', 'word'] as const) {
    it(`${kind} tokenizer: text pushed in pieces equals predictProba on the ids of those pieces`, async () => {
      const pre = Preprocessor.fit(records, { tokenizer: { kind } });
      const model = new SequenceClassifier({ input: pre.inputConfig(8), layers: [{ cell: 'lstm', units: 8 }], classes: 2, seed: 3 });
      model.preprocessing = pre.toJSON() as unknown as Record<string, unknown>;
      const pieces = kind === 'char' ? ['the c', 'at s', 'at'] : ['the cat ', 'sat on', ' the mat'];
      const stream = model.openStream();
      const ids: number[] = [];
      for (const piece of pieces) {
        const got = (await stream.push(piece)) as number[];
        ids.push(...pre.tokenizer!.encode(piece));
        expect(bits(got)).toEqual(bits((await model.predictProba({ values: Int32Array.from(ids), shape: [1, ids.length] })) as Float32Array));
      }
      model.dispose();
    });
  }
});

describe('stream errors', () => {
  it('bad steps, a bidirectional model, a closed stream, a disposed model and fit in progress', async () => {
    const model = new SequenceClassifier({ input: dense(2), layers: [{ cell: 'lstm', units: 4 }], classes: 2, seed: 1 });
    const s = model.openStream();
    await expect(s.push([[1, 2, 3]])).rejects.toThrow(/steps\[0\]/);
    await expect(s.push([[1, NaN]])).rejects.toThrow(/finite number.*steps\[0\]\[1\]/);
    await expect(s.push({ values: new Float32Array(3), shape: [1, 2] })).rejects.toThrow(/steps\.values/);
    await expect(s.push('text')).rejects.toThrow(TypeError);
    await expect(s.push([[1, 2]], { everyStep: 'yes' } as never)).rejects.toThrow(/options\.everyStep/);
    await expect(s.push([])).rejects.toThrow(/at least one unmasked step/);
    expect(await s.push([], { everyStep: true })).toEqual([]);
    // An error leaves the stream as it was.
    expect(s.steps).toBe(0);
    expect(((await s.push([[0.5, 0.5]])) as number[]).length).toBe(2);
    s.close();
    await expect(s.push([[1, 2]])).rejects.toThrow(StreamClosedError);
    expect(() => new SequenceClassifier({ input: dense(2), layers: [{ cell: 'gru', units: 4, bidirectional: true }], classes: 2 }).openStream()).toThrow(UnsupportedModelError);

    const tok = new SequenceClassifier({ input: tokens(), layers: [{ cell: 'gru', units: 4 }], classes: 2 });
    await expect(tok.openStream().push([1, 20])).rejects.toThrow(/\[0, 20\) for steps\[1\]/);
    await expect(tok.openStream().push([1.5])).rejects.toThrow(/steps\[0\]/);
    tok.dispose();

    const busy = model.openStream();
    const fitting = model.fit({ x: [[[1, 2]], [[2, 1]]], y: [0, 1] }, { epochs: 3, batchSize: 1 });
    await expect(busy.push([[1, 2]])).rejects.toThrow(BusyError);
    await fitting;
    model.dispose();
    await expect(busy.push([[1, 2]])).rejects.toThrow(DisposedError);
  });
});
