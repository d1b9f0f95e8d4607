/**
 * Bad input never crashes and never corrupts: each case gets a TypeError, RangeError or a
 * library error whose message names the argument and what was expected.
 */
import { describe, expect, it } from 'vitest';
import { BusyError, DisposedError, SequenceClassifier } from '../src/index';
import { resolveConfig, toNativeConfig } from '../src/model/config';
import { native } from '../src/native/addon';
import { outcome, randomDense } from './helpers';

const denseConfig = { input: { type: 'dense' as const, features: 3 }, layers: [{ cell: 'lstm' as const, units: 4 }], classes: 3 };
const tokenConfig = { input: { type: 'tokens' as const, vocabSize: 10, embeddingDim: 4 }, layers: [{ cell: 'gru' as const, units: 4 }], classes: 2 };

/** A pattern requiring every fragment to appear in the message, in any order. */
function mentions(...fragments: string[]): RegExp {
  return new RegExp(fragments.map((f) => `(?=[\\s\\S]*${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`).join(''));
}

function dense() {
  return new SequenceClassifier(denseConfig);
}

describe('constructor config', () => {
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    ['not an object', 42, TypeError, /Expected an object for config/],
    ['missing input', { layers: [{ cell: 'lstm', units: 2 }], classes: 2 }, TypeError, /config\.input/],
    ['unknown input type', { ...denseConfig, input: { type: 'image', features: 3 } }, RangeError, mentions('config.input.type', "'dense', 'tokens'", "'image'")],
    ['features 0', { ...denseConfig, input: { type: 'dense', features: 0 } }, RangeError, /config\.input\.features/],
    ['no layers', { ...denseConfig, layers: [] }, TypeError, /config\.layers/],
    ['unknown cell', { ...denseConfig, layers: [{ cell: 'transformer', units: 2 }] }, RangeError, /config\.layers\[0\]\.cell.*'transformer'/],
    ['fractional units', { ...denseConfig, layers: [{ cell: 'lstm', units: 1.5 }] }, RangeError, /config\.layers\[0\]\.units.*1\.5/],
    ['units as string', { ...denseConfig, layers: [{ cell: 'lstm', units: '8' }] }, TypeError, /config\.layers\[0\]\.units/],
    ['dropout 1', { ...denseConfig, layers: [{ cell: 'lstm', units: 2, dropout: 1 }] }, RangeError, mentions('config.layers[0].dropout', '[0, 1)')],
    ['bad activation', { ...denseConfig, layers: [{ cell: 'rnn', units: 2, activation: 'gelu' }] }, RangeError, /activation/],
    ['one class', { ...denseConfig, classes: 1 }, RangeError, /config\.classes/],
    ['duplicate labels', { ...denseConfig, classes: ['a', 'a'] }, RangeError, /distinct label names/],
    // eslint-disable-next-line no-sparse-arrays
    ['a hole in the labels', { ...denseConfig, classes: ['a', , 'b'] }, TypeError, mentions('config.classes[1]', 'non-empty string', 'undefined')],
    // eslint-disable-next-line no-sparse-arrays
    ['a hole in the layers', { ...denseConfig, layers: [{ cell: 'lstm', units: 2 }, , { cell: 'gru', units: 2 }] }, TypeError, /config\.layers\[1\]/],
    ['labels that are not a list', { ...denseConfig, labels: 'abc' }, TypeError, mentions('config.labels', 'an array of class names')],
    ['negative seed', { ...denseConfig, seed: -1 }, RangeError, /config\.seed/],
    ['bad pooling', { ...denseConfig, pooling: 'first' }, RangeError, /config\.pooling/],
    ['mergeMode without bidirectional', { ...denseConfig, layers: [{ cell: 'lstm', units: 2, mergeMode: 'sum' }] }, RangeError, mentions('config.layers[0].mergeMode', 'bidirectional: true')],
    ['unknown mergeMode', { ...denseConfig, layers: [{ cell: 'lstm', units: 2, bidirectional: true, mergeMode: 'max' }] }, RangeError, mentions('config.layers[0].mergeMode', "'ave'")],
    ['dropout on a merging top layer read at its last step', { ...denseConfig, layers: [{ cell: 'gru', units: 2, bidirectional: true, mergeMode: 'ave', dropout: 0.2 }] }, RangeError, mentions('config.layers[0].dropout', 'merging bidirectional top layer')],
  ];
  for (const [name, config, type, message] of cases) {
    it(name, () => {
      expect(() => new SequenceClassifier(config as never)).toThrow(type);
      expect(() => new SequenceClassifier(config as never)).toThrow(message);
    });
  }
});

it("a resolved config (model.config) keeps its labels when a model is built from it", () => {
  const named = new SequenceClassifier({ ...denseConfig, classes: ['x', 'y', 'z'] });
  const again = new SequenceClassifier(named.config);
  expect(again.labels).toEqual(['x', 'y', 'z']);
  // A copy with other classes means those.
  const renamed = new SequenceClassifier({ ...named.config, classes: ['p', 'q'] });
  expect(renamed.labels).toEqual(['p', 'q']);
  const counted = new SequenceClassifier({ ...named.config, classes: 4 });
  expect([counted.labels, counted.config.classes]).toEqual([null, 4]);
  for (const m of [named, again, renamed, counted]) m.dispose();
});

describe('data for fit / evaluate / predict', () => {
  const m = dense();
  const x = randomDense([3, 2, 4], 3, 1);
  const y = [0, 1, 2];

  it('rejects a missing dataset shape', async () => {
    await expect(m.fit({ x } as never)).rejects.toThrow(/Expected a dataset \{ x, y \} for data/);
  });
  it('rejects a step with the wrong number of features', async () => {
    const bad = randomDense([3, 2], 3, 2);
    bad[1][1] = [1, 2];
    await expect(m.fit({ x: bad, y: [0, 1] })).rejects.toThrow(RangeError);
    await expect(m.fit({ x: bad, y: [0, 1] })).rejects.toThrow(mentions('data.x[1][1]', '3 features'));
  });
  it('rejects NaN and Infinity, naming the position', async () => {
    const bad = randomDense([3, 2], 3, 2);
    bad[1][0][2] = NaN;
    await expect(m.fit({ x: bad, y: [0, 1] })).rejects.toThrow(mentions('data.x[1][0][2]', 'finite', 'NaN'));
    const values = new Float32Array(2 * 4 * 3);
    values[13] = Infinity;
    await expect(m.predictProba({ values, shape: [2, 4, 3] })).rejects.toThrow(mentions('x[1][0][1]', 'finite', 'Infinity'));
    // Finite in JavaScript but Infinity in float32: refused, not stored as Infinity.
    const big = randomDense([2], 3, 2);
    big[0][1][0] = -1e39;
    await expect(m.predictProba(big)).rejects.toThrow(mentions('x[0][1][0]', 'float32 holds', '-1e+39'));
  });

  it('a typed buffer changed while its call runs: the native copy is checked, so NaN rejects instead of predicting NaN', async () => {
    const values = new Float32Array(2 * 1 * 3).fill(0.5);
    const running = m.predictProba({ values, shape: [2, 1, 3] }, { batchSize: 1 });
    values[4] = NaN; // the second batch is gathered after this
    await expect(running).rejects.toThrow(/Invalid batch: value nan at sequence 0, step 0, feature 1 is not finite/);
  });

  it('refuses a ragged batch whose padding would not fit in memory, before allocating it', async () => {
    const one = [[0, 0, 0]];
    const x = Array.from({ length: 40_000 }, () => one);
    x.push(Array.from({ length: 60_000 }, () => [0, 0, 0])); // 40,001 x 60,000 x 3 > 2^31
    await expect(m.predictProba(x)).rejects.toThrow(mentions('x', 'padded to the longest (60000 steps)'));
  });
  it('ignores non-finite values in padding beyond a sequence length', async () => {
    const values = new Float32Array(2 * 4 * 3);
    values[2 * 12 - 1] = NaN; // last step of sequence 1, which is padding
    const probs = (await m.predictProba({ values, shape: [2, 4, 3], lengths: new Int32Array([4, 3]) })) as Float32Array;
    expect(probs.every(Number.isFinite)).toBe(true);
  });
  it('rejects labels out of range, of the wrong count, or unknown names', async () => {
    await expect(m.fit({ x, y: [0, 3, 1] })).rejects.toThrow(mentions('data.y[1]', '[0, 3)', 'received 3'));
    await expect(m.fit({ x, y: [0, -1, 1] })).rejects.toThrow(RangeError);
    await expect(m.fit({ x, y: [0, 1] })).rejects.toThrow(mentions('data.y.length', '3 labels'));
    await expect(m.fit({ x, y: [0, 'cat', 1] })).rejects.toThrow(mentions('data.y[1]', 'no label names'));
    await expect(m.fit({ x, y: [0, 1.5, 1] })).rejects.toThrow(RangeError);
  });
  it('rejects empty sequences and empty datasets', async () => {
    await expect(m.fit({ x: [x[0], [], x[2]], y })).rejects.toThrow(mentions('data.x[1]', 'non-empty sequence'));
    await expect(m.predict([])).rejects.toThrow(/at least one sequence/);
    await expect(
      m.predictProba({ values: new Float32Array(2 * 4 * 3), shape: [2, 4, 3], lengths: new Int32Array([4, 0]) }),
    ).rejects.toThrow(mentions('x.lengths[1]', '[1, 4]', 'empty'));
  });
  it('rejects wrong typed array types and shapes', async () => {
    await expect(m.predictProba({ values: new Float64Array(24) as never, shape: [2, 4, 3] })).rejects.toThrow(TypeError);
    await expect(m.predictProba({ values: new Int32Array(24), shape: [2, 4, 3] })).rejects.toThrow(mentions('x.values', 'Float32Array'));
    await expect(m.predictProba({ values: new Float32Array(23), shape: [2, 4, 3] })).rejects.toThrow(mentions('x.values', '24 values'));
    await expect(m.predictProba({ values: new Float32Array(16), shape: [2, 4, 2] })).rejects.toThrow(mentions('x.shape[2]', '3 features'));
    await expect(m.predictProba({ values: new Float32Array(24), shape: [2, 12] })).rejects.toThrow(mentions('x.shape', '3 integers'));
    await expect(m.predictProba({ values: new Float32Array(24), shape: [2, 4, 3], lengths: [4, 4] as never })).rejects.toThrow(mentions('x.lengths', 'Int32Array'));
    await expect(m.predictProba('sequences' as never)).rejects.toThrow(TypeError);
  });
  it('rejects bad fit options', async () => {
    await expect(m.fit({ x, y }, { epochs: 0 })).rejects.toThrow(/options\.epochs/);
    await expect(m.fit({ x, y }, { batchSize: -1 })).rejects.toThrow(/options\.batchSize/);
    await expect(m.fit({ x, y }, { optimizer: { type: 'adagrad' as never } })).rejects.toThrow(mentions('options.optimizer.type', "'adagrad'"));
    await expect(m.fit({ x, y }, { optimizer: { learningRate: NaN } })).rejects.toThrow(/options\.optimizer\.learningRate/);
    await expect(m.fit({ x, y }, { optimizer: { type: 'adam', beta2: 1 } })).rejects.toThrow(/beta2/);
    await expect(m.fit({ x, y }, { classWeight: [1, 2] })).rejects.toThrow(mentions('options.classWeight', '3 weights'));
    for (const key of ['', ' 1', '0x1', '1.0'])
      await expect(m.fit({ x, y }, { classWeight: { [key]: 2 } })).rejects.toThrow(mentions('options.classWeight', 'class names or indices'));
    await expect(m.fit({ x, y }, { threads: 0 })).rejects.toThrow(/options\.threads/);
    await expect(m.fit({ x, y }, { validationData: { x: [[[1, 2]]], y: [0] } })).rejects.toThrow(mentions('options.validationData.x[0][0]'));
    // A report path that is a folder is refused before training, not after an epoch.
    const { tmpdir } = await import('node:os');
    await expect(m.fit({ x, y }, { report: tmpdir() })).rejects.toThrow(mentions('options.report', 'not a folder'));
    const same = `${tmpdir()}/rnn-node-same-${process.pid}.out`;
    await expect(m.fit({ x, y }, { report: same, metricsLog: same })).rejects.toThrow(mentions('options.metricsLog', 'other than options.report'));
    // One sequence cannot be split into training and validation.
    await expect(m.fit({ x: x.slice(0, 1), y: y.slice(0, 1) }, { validationSplit: 0.5 })).rejects.toThrow(mentions('validationSplit', 'at least 2 sequences'));
  });
  it('still works after all those rejections', async () => {
    const history = await m.fit({ x, y }, { epochs: 2 });
    expect(history.epoch).toEqual([0, 1]);
    expect(Number.isFinite(history.history.loss[1])).toBe(true);
  });
});

describe('token input', () => {
  const m = new SequenceClassifier(tokenConfig);
  it('rejects ids outside the vocabulary, naming the position', async () => {
    await expect(m.predict([[1, 2, 3], [4, 10]])).rejects.toThrow(mentions('x[1][1]', '[0, 10)', 'received 10'));
    await expect(m.predict([[1, -2]])).rejects.toThrow(RangeError);
    await expect(m.predict([[1, 2.5]])).rejects.toThrow(mentions('x[0][1]', 'integer'));
    // Past int32: refused as given, not wrapped around (2^32 + 3 would read as 3).
    await expect(m.predict([[2 ** 32 + 3, 1]])).rejects.toThrow(mentions('x[0][0]', '[0, 10)', String(2 ** 32 + 3)));
  });
  it('skips padding id 0 wherever it is (as Keras masks it), rejects it within given lengths, and rejects all-padding rows', async () => {
    const plain = (await m.predictProba([[1, 3]])) as number[][];
    expect(await m.predictProba([[1, 0, 3]])).toEqual(plain);
    expect(await m.predictProba([[0, 0, 1, 3]])).toEqual(plain); // Keras's pad_sequences pads at the front
    const typed = (await m.predictProba({ values: new Int32Array([0, 1, 0, 3, 1, 3, 0, 0]), shape: [2, 4] })) as Float32Array;
    expect(Array.from(typed)).toEqual([...plain[0], ...plain[0]].map(Math.fround));
    await expect(m.predictProba({ values: new Int32Array([1, 0, 3]), shape: [1, 3], lengths: new Int32Array([3]) })).rejects.toThrow(mentions('x[0][1]', 'padding id'));
    await expect(m.predictProba({ values: new Int32Array([1, 2, 0, 0, 0, 0]), shape: [2, 3] })).rejects.toThrow(mentions('x[1]', 'nonzero'));
    await expect(m.predict([[0, 0]])).rejects.toThrow(mentions('x[0]', 'nonzero'));
  });
  it('treats trailing zeros of typed input as padding', async () => {
    const typed = (await m.predictProba({ values: new Int32Array([1, 2, 0, 0, 5, 6, 7, 8]), shape: [2, 4] })) as Float32Array;
    const nested = (await m.predictProba([[1, 2], [5, 6, 7, 8]])) as number[][];
    expect(Array.from(typed)).toEqual(nested.flat().map(Math.fround));
  });
});

describe('unknown options are refused, not ignored', () => {
  it('names the key and suggests the right one', async () => {
    const m = dense();
    const x = randomDense([4, 2, 4], 3, 5);
    await expect(m.fit({ x, y: [0, 1, 2, 0] }, { learningRate: 0.01 } as never)).rejects.toThrow(/options\.learningRate is not an option \(did you mean optimizer: \{ learningRate \}\?\)/);
    await expect(m.fit({ x, y: [0, 1, 2, 0] }, { epoch: 2 } as never)).rejects.toThrow(/options\.epoch is not an option \(did you mean epochs\?\)/);
    await expect(m.predictProba(x, { batchsize: 8 } as never)).rejects.toThrow(/options\.batchsize is not an option \(did you mean batchSize\?\)/);
    await expect(m.evaluate({ x, y: [0, 1, 2, 0] }, { topk: 2 } as never)).rejects.toThrow(/did you mean topK/);
    await expect(m.predictProba(x, { topK: 2 } as never)).rejects.toThrow(/options\.topK is not an option/);
    // Nested options too (a typo trained at the default rate).
    await expect(m.fit({ x, y: [0, 1, 2, 0] }, { optimizer: { type: 'sgd', lr: 0.5 } as never })).rejects.toThrow(/options\.optimizer\.lr is not an option \(did you mean learningRate\?\)/);
    await expect(m.fit({ x, y: [0, 1, 2, 0] }, { schedule: { type: 'exponential', gamma: 0.9, stepSize: 2 } as never })).rejects.toThrow(/options\.schedule\.stepSize is not an option/);
    await expect(m.fit({ x, y: [0, 1, 2, 0] }, { augment: { nosie: 0.5 } as never })).rejects.toThrow(/options\.augment\.nosie is not an option \(did you mean noise\?\)/);
    await expect(m.fit({ x, y: [0, 1, 2, 0] }, { report: { path: '/tmp/r.html', titel: 'x' } as never })).rejects.toThrow(/options\.report\.titel is not an option/);
    const { earlyStopping, reduceLROnPlateau } = await import('../src/index');
    expect(() => earlyStopping({ patiance: 3 } as never)).toThrow(/earlyStopping\.patiance is not an option \(did you mean patience\?\)/);
    expect(() => earlyStopping({ restoreBestWeights: 'yes' } as never)).toThrow(/earlyStopping\.restoreBestWeights/);
    expect(() => reduceLROnPlateau({ factr: 0.5 } as never)).toThrow(/reduceLROnPlateau\.factr is not an option/);
    // The other methods' options too (a typo silently gave unweighted gradients).
    expect(() => m.computeGradients({ x, y: [0, 1, 2, 0] }, { classweight: [1, 1, 1] } as never)).toThrow(/options\.classweight is not an option \(did you mean classWeight\?\)/);
    expect(() => m.predictProbaSync(x, { batchSize: 2 } as never)).toThrow(/options\.batchSize is not an option/);
    expect(() => m.predictProbaSync(x, null as never)).toThrow(TypeError);
    expect(() => m.setBatching({ maxbatchsize: 4 } as never)).toThrow(/options\.maxbatchsize is not an option/);
    expect(() => m.setBatching([] as never)).toThrow(TypeError);
    await expect(m.save('/tmp/never.rnn', { includeTrainingState: 'no' } as never)).rejects.toThrow(/options\.includeTrainingState/);
    await expect(m.save('/tmp/never.rnn', null as never)).rejects.toThrow(TypeError);
    await expect(m.quantize([] as never)).rejects.toThrow(TypeError);
    expect(m.epochsTrained).toBe(0);
  });
  it('in a config: top level, input and layers', () => {
    expect(() => new SequenceClassifier({ ...denseConfig, pooling: 'last', pool: 'mean' } as never)).toThrow(/config\.pool is not an option \(did you mean pooling\?\)/);
    expect(() => new SequenceClassifier({ ...denseConfig, input: { type: 'dense', features: 3, maskZero: true } } as never)).toThrow(/config\.input\.maskZero is not an option \(did you mean maskZero \(token input only\)\?\)/);
    expect(() => new SequenceClassifier({ ...denseConfig, layers: [{ cell: 'lstm', units: 4, returnSequences: true }] } as never)).toThrow(/config\.layers\[0\]\.returnSequences is not an option \(did you mean pooling/);
  });
});

describe('masked dense input (maskValue)', () => {
  const m = new SequenceClassifier({ input: { type: 'dense', features: 2, maskValue: 0 }, layers: [{ cell: 'lstm', units: 4 }], classes: 2, seed: 1 });
  it('skips steps that are all maskValue, wherever they are, and rejects all-masked rows', async () => {
    const plain = await m.predictProba([[[1, 2], [3, 4]]]);
    expect(await m.predictProba([[[0, 0], [1, 2], [0, 0], [3, 4], [0, 0]]])).toEqual(plain);
    expect(await m.predictProba([[[0, 1], [1, 2]]])).not.toEqual(await m.predictProba([[[1, 2]]])); // not every feature is 0: a real step
    await expect(m.predictProba([[[0, 0], [0, 0]]])).rejects.toThrow(mentions('x[0]', 'maskValue'));
  });
  it('checks maskValue', () => {
    expect(() => new SequenceClassifier({ input: { type: 'dense', features: 2, maskValue: Number.NaN }, layers: [{ cell: 'lstm', units: 2 }], classes: 2 })).toThrow(/config\.input\.maskValue/);
    expect(() => new SequenceClassifier({ input: { type: 'dense', features: 2, maskValue: '0' as never }, layers: [{ cell: 'lstm', units: 2 }], classes: 2 })).toThrow(/config\.input\.maskValue/);
  });
});

describe('weights', () => {
  const m = dense();
  it('rejects the wrong number of tensors, shapes, lengths and non-finite values', () => {
    const w = m.getWeights();
    expect(() => m.setWeights(w.slice(1))).toThrow(mentions('for weights', '5 tensors (lstm_0/kernel'));
    expect(() => m.setWeights(w.map((t, i) => (i === 0 ? { ...t, shape: [16, 3] } : t)))).toThrow(mentions('weights[0] (lstm_0/kernel).shape', '[3, 16]'));
    expect(() => m.setWeights(w.map((t, i) => (i === 2 ? { values: new Float32Array(3) } : t)))).toThrow(mentions('weights[2] (lstm_0/bias).values', '16 values'));
    const nan = w.map((t) => ({ ...t, values: t.values.slice() }));
    nan[3].values[5] = NaN;
    expect(() => m.setWeights(nan)).toThrow(mentions('weights[3] (dense/kernel).values[5]', 'finite'));
    const huge = w.map((t, i) => ({ ...t, values: i === 1 ? Array.from(t.values, (v, k) => (k === 2 ? 1e39 : v)) : t.values }));
    expect(() => m.setWeights(huge)).toThrow(mentions('weights[1] (lstm_0/recurrent_kernel).values[2]', 'float32 holds'));
    expect(() => m.setWeights('weights' as never)).toThrow(TypeError);
    expect(() => m.setWeights(w.map((t, i) => (i === 0 ? { ...t, shape: 'abc' as never } : t)))).toThrow(mentions('weights[0] (lstm_0/kernel).shape', 'an array'));
    expect(() => m.setWeights(w.map((t, i) => (i === 0 ? { ...t, shape: null as never } : t)))).toThrow(TypeError);
    expect(m.getWeights()).toEqual(w); // nothing was half-applied
  });
});

describe('lifetime and concurrency', () => {
  it("every call after dispose() throws DisposedError (SequenceClassifier's own check, before any native call); dispose is idempotent", async () => {
    const m = dense();
    m.dispose();
    m.dispose();
    expect(m.disposed).toBe(true);
    const x = randomDense([2], 3, 1);
    expect(() => m.getWeights()).toThrow(DisposedError);
    expect(() => m.setWeights([])).toThrow(DisposedError);
    expect(() => m.predictSync(x)).toThrow(DisposedError);
    expect(() => m.paramCount).toThrow(DisposedError);
    await expect(m.predict(x)).rejects.toThrow(DisposedError);
    await expect(m.fit({ x, y: [0] })).rejects.toThrow(DisposedError);
    await expect(m.evaluate({ x, y: [0] })).rejects.toThrow(/disposed/);
    expect(() => m.getWeights()).toThrow(expect.objectContaining({ code: 'ERR_RNN_DISPOSED' }));
  });

  it("the addon's own check: a disposed native model throws ERR_RNN_DISPOSED (as DisposedError) before it reads any argument, bad ones included", async () => {
    // Through the raw addon handle: the facade above never lets a call reach this check.
    const raw = new (native().NativeModel)(toNativeConfig(resolveConfig(denseConfig)));
    const batch = { batch: 1, steps: 2, lengths: new Int32Array([2]), dense: new Float32Array(6) };
    const calls: [string, () => unknown][] = [
      ['getParams()', () => raw.getParams()],
      ['setParams(too short)', () => raw.setParams(new Float32Array(3))],
      ['predictSync(batch)', () => raw.predictSync(batch, 0)],
      ['predictSync(null)', () => raw.predictSync(null as never, 0)],
      ['predict(not a batch)', () => raw.predict({ batch: -1 } as never, 0)],
      ['trainStep(wrong labels)', () => raw.trainStep(batch, new Int32Array([7, 7]), null, 0.1, 1, 0)],
      ['gradients(bad threads)', () => raw.gradients(batch, new Int32Array([0]), null, -1)],
    ];
    // Alive, the addon refuses every bad argument here (and runs the good calls): what these
    // calls would give after dispose() were the disposed check missing or after the arguments.
    for (const [name, call] of calls) {
      const error = await outcome(call);
      if (name.includes('(batch)') || name.endsWith('()')) expect(error, name).toBeNull();
      else expect(error?.constructor, name).toSatisfy((c) => c === TypeError || c === RangeError);
    }
    raw.dispose();
    raw.dispose();
    expect(raw.disposed).toBe(true);
    for (const [name, call] of calls) {
      const error = await outcome(call);
      expect(error, name).toBeInstanceOf(DisposedError);
      expect(error?.code, name).toBe('ERR_RNN_DISPOSED');
    }
  });

  it('predict, setWeights and a second fit during fit get a BusyError; fit still completes', async () => {
    const m = dense();
    const x = randomDense(Array(400).fill(20), 3, 5);
    const y = Array.from({ length: 400 }, (_, i) => i % 3);
    const fit = m.fit({ x, y }, { epochs: 2, batchSize: 16 });
    await expect(m.predict(x.slice(0, 2))).rejects.toThrow(BusyError);
    expect(() => m.predictSync(x.slice(0, 2))).toThrow(/while fit\(\) is running/);
    expect(() => m.setWeights(m.config as never)).toThrow(BusyError);
    await expect(m.fit({ x, y })).rejects.toThrow(BusyError);
    const history = await fit;
    expect(history.epoch).toEqual([0, 1]);
    expect((await m.predict(x.slice(0, 2))).length).toBe(2);
    m.dispose();
  });

  it('dispose() during fit: the running step finishes safely, fit rejects with DisposedError', async () => {
    const m = dense();
    const x = randomDense(Array(200).fill(10), 3, 5);
    const fit = m.fit({ x, y: Array(200).fill(1) }, { epochs: 3, batchSize: 8 });
    m.dispose();
    await expect(fit).rejects.toThrow(DisposedError);
  });

  it('a trained model saves while its predictions run (they never touch the optimizer state)', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const m = dense();
    const x = randomDense(Array(64).fill(10), 3, 5);
    await m.fit({ x, y: Array(64).fill(1) }, { epochs: 1, batchSize: 16 });
    const big = randomDense(Array(4000).fill(30), 3, 6);
    const running = m.predictProba(big, { batchSize: 256 });
    const dir = mkdtempSync(join(tmpdir(), 'rnn-node-save-'));
    await m.save(join(dir, 'm.rnn'));
    const loaded = await SequenceClassifier.load(join(dir, 'm.rnn'));
    expect(loaded.getWeights()).toEqual(m.getWeights());
    expect(((await running) as number[][]).length).toBe(4000);
    loaded.dispose();
    m.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent predictions on one model all resolve, with the same answers as one at a time', async () => {
    const m = dense();
    const inputs = Array.from({ length: 8 }, (_, i) => randomDense([5, 9, 2, 7], 3, 100 + i));
    const together = await Promise.all(inputs.map((x) => m.predictProba(x)));
    for (let i = 0; i < inputs.length; i++) expect(await m.predictProba(inputs[i])).toEqual(together[i]);
    m.dispose();
  });

  it('the synchronous path refuses large inputs', () => {
    const m = dense();
    expect(() => m.predictProbaSync({ values: new Float32Array(2000 * 3), shape: [2000, 1, 3] })).toThrow(/at most 1024 sequences/);
    m.dispose();
  });

  it('an aborted fit rejects with the abort reason and leaves the model usable', async () => {
    const m = dense();
    const x = randomDense(Array(300).fill(10), 3, 5);
    const controller = new AbortController();
    let batches = 0;
    const fit = m.fit(
      { x, y: Array(300).fill(2) },
      { epochs: 5, batchSize: 10, signal: controller.signal, callbacks: { onBatchEnd: () => void (++batches === 3 && controller.abort()) } },
    );
    await expect(fit).rejects.toThrow(/aborted/i);
    expect(batches).toBe(3);
    expect((await m.predict(x.slice(0, 1))).length).toBe(1);
    m.dispose();
  });
});

describe('native boundary (bypassing the TypeScript checks)', () => {
  const addon = native();
  const model = new addon.NativeModel({
    input: 'dense',
    features: 3,
    layers: [{ cell: 'lstm', units: 4, bidirectional: false, activation: 'tanh', recurrentActivation: 'sigmoid', resetAfter: true, unitForgetBias: true, dropout: 0 }],
    pooling: 'last',
    classes: 2,
  });
  const batch = { batch: 2, steps: 4, lengths: new Int32Array([4, 2]), dense: new Float32Array(24) };

  it('checks every buffer type and length before use', async () => {
    expect(() => model.predictSync({ ...batch, dense: new Float32Array(23) }, 0)).toThrow(/batch\.dense to hold 24 values, got 23/);
    expect(() => model.predictSync({ ...batch, dense: new Float64Array(24) as never }, 0)).toThrow(TypeError);
    expect(() => model.predictSync({ ...batch, lengths: new Int32Array([4]) }, 0)).toThrow(/batch\.lengths to hold 2 values/);
    expect(() => model.predictSync({ ...batch, lengths: new Int32Array([5, 2]) }, 0)).toThrow(/Invalid batch: sequence 0 has length 5, expected 1\.\.4/);
    expect(() => model.predictSync({ ...batch, batch: 2 ** 40 }, 0)).toThrow(RangeError);
    expect(() => model.predictSync({ ...batch, steps: -1 }, 0)).toThrow(RangeError);
    expect(() => model.setParams(new Float32Array(3))).toThrow(/params to hold/);
    // Label values index memory in the core, which checks them (the promise rejects).
    await expect(model.trainStep(batch, new Int32Array([0, 2]), null, 0.1, 1, 0)).rejects.toThrow(/label 2 at index 1 is outside \[0, 2\)/);
    expect(() => model.trainStep(batch, new Int32Array([0]), null, 0.1, 1, 0)).toThrow(/labels to hold 2 values/);
    expect(() => model.trainStep(batch, new Int32Array([0, 1]), new Float32Array(5), 0.1, 1, 0)).toThrow(/classWeights to hold 2/);
    expect(() => model.predictSync(null as never, 0)).toThrow(TypeError);
    expect(() => new addon.NativeModel({ input: 'dense', features: 3, layers: [], pooling: 'last', classes: 2 })).toThrow(RangeError);
  });
  it('gathers a batch named by member indices, checking each index, and copies it during the call', async () => {
    const source = { steps: 4, lengths: new Int32Array([4, 2, 3]), dense: Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)) };
    const picked = model.predictSync({ ...source, batch: 2, sequences: new Int32Array([2, 0]) }, 0);
    const direct = model.predictSync({ batch: 2, steps: 4, lengths: new Int32Array([3, 4]), dense: Float32Array.from([...source.dense.subarray(24, 36), ...source.dense.subarray(0, 12)]) }, 0);
    expect(Array.from(picked)).toEqual(Array.from(direct));
    expect(() => model.predictSync({ ...source, batch: 2, sequences: new Int32Array([2, 3]) }, 0)).toThrow(/Invalid batch: batch entry 1 names sequence 3, outside \[0, 3\)/);
    expect(() => model.predictSync({ ...source, batch: 2, sequences: new Int32Array([-1, 0]) }, 0)).toThrow(RangeError);
    expect(() => model.predictSync({ ...source, batch: 3, sequences: new Int32Array([0, 1]) }, 0)).toThrow(/batch\.sequences to hold 3 values/);
    expect(() => model.predictSync({ ...source, batch: 2, sequences: new Float32Array([0, 1]) as never }, 0)).toThrow(TypeError);
    // The source may change as soon as the call returns: the job reads its own copy.
    const pending = model.predict({ ...source, batch: 2, sequences: new Int32Array([2, 0]) }, 0);
    source.dense.fill(NaN);
    source.lengths.fill(99);
    expect(Array.from(await pending)).toEqual(Array.from(picked));
  });

  it('reads every property before it points into JavaScript memory: a getter that detaches a buffer is refused, not read', () => {
    const lengths = new Int32Array([4, 2]);
    const hostile = {
      batch: 2,
      steps: 4,
      lengths,
      get dense() {
        structuredClone(lengths.buffer, { transfer: [lengths.buffer] }); // detaches lengths
        return new Float32Array(24);
      },
    };
    expect(() => model.predictSync(hostile, 0)).toThrow(/batch\.lengths to hold 2 values, got 0/);
  });

  it('carries the same stable error codes as the TypeScript layer', () => {
    expect(() => model.predictSync({ ...batch, dense: new Float32Array(1) }, 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', name: 'RangeError' }));
    expect(() => model.predictSync({ ...batch, dense: new Int32Array(1) } as never, 0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
  });
});
