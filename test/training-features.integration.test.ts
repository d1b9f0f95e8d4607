/** Schedules, early stopping, checkpoint and plateau callbacks, validation splits,
 * bucketing and augmentation. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { augmentBatch, resolveAugment } from '../src/training/augment';
import { earlyStopping, modelCheckpoint, reduceLROnPlateau, SequenceClassifier, type EpochLogs, type FitCallbacks } from '../src/index';
import { SeededRandom } from '../src/util/random';
import { makeSchedule } from '../src/training/schedules';
import { randomDense } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = () => new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 4 }], classes: 2, seed: 3 });
const data = { x: randomDense(Array.from({ length: 40 }, (_, i) => 3 + (i % 5)), 2, 9), y: Array.from({ length: 40 }, (_, i) => i % 2) };

/** Feeds scripted logs to a callback, as fit would. */
function drive(cb: FitCallbacks, values: number[], key: keyof EpochLogs = 'valLoss') {
  const handle = { stopTraining: false, learningRate: 1, getWeights: () => [], setWeights: () => undefined, save: async () => undefined };
  cb.setModel?.(handle);
  cb.onTrainBegin?.();
  const seen: number[] = [];
  for (let e = 0; e < values.length && !handle.stopTraining; e++) {
    cb.onEpochEnd?.(e, { loss: 1, accuracy: 0, learningRate: handle.learningRate, seconds: 0, [key]: values[e] } as EpochLogs);
    seen.push(handle.learningRate);
  }
  return { handle, seen };
}

describe('learning-rate schedules: values per epoch', () => {
  it('step, exponential, cosine with warmup', () => {
    const step = makeSchedule({ type: 'step', stepSize: 2, gamma: 0.5 }, 0.1, 6)!;
    expect([0, 1, 2, 3, 4].map(step)).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    const exp = makeSchedule({ type: 'exponential', gamma: 0.9 }, 1, 6)!;
    expect([0, 1, 2].map(exp).map((v) => +v.toFixed(10))).toEqual([1, 0.9, 0.81]);
    const cos = makeSchedule({ type: 'cosine', warmupEpochs: 2, minLearningRate: 0, totalEpochs: 6 }, 1, 6)!;
    expect([0, 1, 2, 4, 6].map((e) => +cos(e).toFixed(10))).toEqual([0.5, 1, 1, 0.5, 0]);
    expect(() => makeSchedule({ type: 'linear' }, 1, 1)).toThrow(/options\.schedule\.type/);
    expect(() => makeSchedule({ type: 'step' }, 1, 1)).toThrow(/options\.schedule\.stepSize/);
  });
  it('fit uses the schedule and logs the rate of each epoch, continuing across fit calls', async () => {
    const m = small();
    const h = await m.fit(data, { epochs: 3, optimizer: { learningRate: 0.1 }, schedule: { type: 'step', stepSize: 1, gamma: 0.5 } });
    expect(h.history.learningRate).toEqual([0.1, 0.05, 0.025]);
    const more = await m.fit(data, { epochs: 1, optimizer: { learningRate: 0.1 }, schedule: { type: 'step', stepSize: 1, gamma: 0.5 } });
    expect(more.history.learningRate).toEqual([0.0125]);
    m.dispose();
  });
});

describe('earlyStopping', () => {
  it('stops after `patience` epochs without improvement, at the right epoch', () => {
    const cb = earlyStopping({ patience: 2 });
    const { seen } = drive(cb, [1.0, 0.8, 0.85, 0.9, 0.7, 0.6]);
    expect(seen.length).toBe(4); // best at epoch 1, then 2 epochs without improvement: stop after epoch 3
    expect(cb.stoppedEpoch).toBe(3);
    expect(cb.bestEpoch).toBe(1);
  });
  it('honours minDelta and mode max for accuracies', () => {
    const cb = earlyStopping({ monitor: 'valAccuracy', patience: 0, minDelta: 0.05 });
    drive(cb, [0.5, 0.53, 0.6], 'valAccuracy');
    expect(cb.stoppedEpoch).toBe(1);
  });
  it('restores the best weights in a real fit', async () => {
    const m = small();
    const losses = [0.9, 0.5, 0.7, 0.8, 0.95];
    const stopper = earlyStopping({ monitor: 'loss', patience: 1, restoreBestWeights: true });
    // Script the monitored value through a callback that runs first and rewrites the logs.
    const script: FitCallbacks = {
      onEpochEnd: (e, logs) => {
        logs.loss = losses[e];
      },
    };
    let weightsAtBest: Float32Array | null = null;
    const capture: FitCallbacks = {
      setModel: (h) => (capture as { h?: unknown }).h = h,
      onEpochEnd: (e) => {
        if (e === 1) weightsAtBest = ((capture as { h?: { getWeights(): { values: Float32Array }[] } }).h!.getWeights()[0].values);
      },
    };
    const h = await m.fit(data, { epochs: 5, callbacks: [script, stopper, capture] });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(stopper.stoppedEpoch).toBe(2);
    expect(m.getWeights()[0].values).toEqual(weightsAtBest);
    m.dispose();
  });
  it('says what is wrong when the monitored value is not logged, before training', async () => {
    const m = small();
    for (const cb of [earlyStopping(), reduceLROnPlateau({ monitor: 'valAccuracy' }), modelCheckpoint({ path: join(dir, 'never.rnn'), saveBestOnly: true })])
      await expect(m.fit(data, { epochs: 2, callbacks: cb })).rejects.toThrow(/validationData or validationSplit for a callback that monitors 'val(Loss|Accuracy)'.*options\.callbacks/);
    expect(m.epochsTrained).toBe(0); // nothing was trained
    expect((await m.fit(data, { epochs: 1, callbacks: earlyStopping({ monitor: 'loss' }) })).epoch).toEqual([0]);
    m.dispose();
  });
});

describe('modelCheckpoint and reduceLROnPlateau', () => {
  it('saves every epoch, or only improvements with saveBestOnly', async () => {
    const m = small();
    await m.fit(data, { epochs: 2, callbacks: modelCheckpoint({ path: join(dir, 'every-{epoch}.rnn'), monitor: 'loss' }) });
    expect(existsSync(join(dir, 'every-1.rnn')) && existsSync(join(dir, 'every-2.rnn'))).toBe(true);
    const saved: number[] = [];
    const cb = modelCheckpoint({ path: join(dir, 'best.rnn'), saveBestOnly: true });
    const handle = { stopTraining: false, learningRate: 1, getWeights: () => [], setWeights: () => undefined, save: async () => void saved.push(saved.length) };
    cb.setModel!(handle);
    for (const [e, v] of [0.5, 0.6, 0.4, 0.45].entries()) {
      const logs = { loss: 0, accuracy: 0, learningRate: 1, seconds: 0, valLoss: v };
      await cb.onEpochEnd!(e, logs);
      await cb.afterEpochEnd!(e, logs); // where fit has it write, after every callback's onEpochEnd
    }
    expect(saved.length).toBe(2); // epochs 0 and 2
    expect((await SequenceClassifier.load(join(dir, 'every-2.rnn'))).epochsTrained).toBe(2);
    m.dispose();
  });
  it('reduces the rate by `factor` after `patience` flat epochs, not below the floor', () => {
    const { seen } = drive(reduceLROnPlateau({ factor: 0.5, patience: 1, minLearningRate: 0.3 }), [1, 1, 1, 1, 1, 1]);
    expect(seen).toEqual([1, 0.5, 0.3, 0.3, 0.3, 0.3]);
  });
});

describe('validation split, bucketing and augmentation', () => {
  it('validationSplit holds data out and logs validation metrics; stratify keeps classes', async () => {
    const m = small();
    const h = await m.fit(data, { epochs: 1, validationSplit: 0.25, stratify: true });
    expect(h.history.valLoss).toHaveLength(1);
    await expect(m.fit(data, { validationSplit: 1 })).rejects.toThrow(/options\.validationSplit/);
    m.dispose();
  });
  it('bucketing trains on every sequence once per epoch and is deterministic', async () => {
    const seen: number[] = [];
    const run = async () => {
      const m = small();
      await m.fit(data, { epochs: 2, batchSize: 8, bucketing: true, callbacks: { onBatchEnd: (_b, l) => void seen.push(l.size) } });
      const w = m.getWeights();
      m.dispose();
      return w;
    };
    const a = await run();
    expect(seen.slice(0, 5).reduce((s, n) => s + n, 0)).toBe(40);
    expect(await run()).toEqual(a);
  });
  it('augmentation changes training batches only as configured', () => {
    const rng = new SeededRandom(1);
    const dense = () => ({ batch: 2, steps: 4, lengths: Int32Array.from([4, 2]), dense: Float32Array.from({ length: 16 }, (_, i) => (i % 8 < (i < 8 ? 8 : 4) ? i + 1 : 0)) });
    const noisy = augmentBatch(dense(), resolveAugment({ noise: 0.1 })!, rng);
    const base = dense();
    const moved = Array.from(noisy.dense!).map((v, i) => v !== base.dense[i]);
    expect(moved.slice(0, 8).every(Boolean)).toBe(true); // all valid values of sequence 0
    expect(moved.slice(12)).toEqual([false, false, false, false]); // padding untouched
    const cropped = augmentBatch(dense(), resolveAugment({ crop: 0.5 })!, rng);
    expect(cropped.lengths[0]).toBeGreaterThanOrEqual(2);
    expect(cropped.lengths[0]).toBeLessThanOrEqual(4);
    const shifted = augmentBatch(dense(), resolveAugment({ shift: 3 })!, new SeededRandom(5));
    expect(Array.from(shifted.dense!.subarray(0, 8)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const tokens = { batch: 1, steps: 1000, lengths: Int32Array.from([1000]), tokens: new Int32Array(1000).fill(7) };
    const dropped = augmentBatch(tokens, resolveAugment({ tokenDropout: 0.2 })!, rng).tokens!.filter((t) => t === 1).length;
    expect(dropped).toBeGreaterThan(150);
    expect(dropped).toBeLessThan(250);
    expect(resolveAugment({})).toBeNull();
    expect(() => resolveAugment({ tokenDropout: 1 })).toThrow(/options\.augment\.tokenDropout/);
  });
  it('fit with augmentation never alters the caller data, and evaluation ignores it', async () => {
    const m = small();
    const x = { values: Float32Array.from({ length: 40 * 6 * 2 }, (_, i) => Math.sin(i)), shape: [40, 6, 2] };
    const copy = x.values.slice();
    const before = await m.evaluate({ x, y: data.y });
    await m.fit({ x, y: data.y }, { epochs: 1, augment: { noise: 0.5, crop: 0.5, shift: 2 }, optimizer: { learningRate: 0 } });
    expect(x.values).toEqual(copy);
    expect((await m.evaluate({ x, y: data.y })).loss).toBe(before.loss); // lr 0: weights and evaluation unchanged
    m.dispose();
  });
});

describe('resuming with callbacks is the same run', () => {
  const val = { x: randomDense(Array.from({ length: 12 }, (_, i) => 3 + (i % 4)), 2, 19), y: Array.from({ length: 12 }, (_, i) => i % 2) };
  const base = { batchSize: 5, validationData: val, optimizer: { type: 'sgd' as const, learningRate: 3 } };
  const flat = (m: SequenceClassifier) => Buffer.concat(m.getWeights().map((w) => Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength)));

  it('reduceLROnPlateau: 4 epochs, save, load, 4 more = 8 straight (its reduced rate and counters travel in the checkpoint)', async () => {
    const straight = small();
    const all = await straight.fit(data, { ...base, epochs: 8, callbacks: [reduceLROnPlateau({ patience: 1, factor: 0.5 })] });
    expect(new Set(all.history.learningRate).size).toBeGreaterThan(1); // it did reduce
    const first = small();
    await first.fit(data, { ...base, epochs: 4, callbacks: [reduceLROnPlateau({ patience: 1, factor: 0.5 })] });
    await first.save(join(dir, 'rlr.rnn'));
    const resumed = await SequenceClassifier.load(join(dir, 'rlr.rnn'));
    const rest = await resumed.fit(data, { ...base, epochs: 4, callbacks: [reduceLROnPlateau({ patience: 1, factor: 0.5 })] });
    expect(rest.history.learningRate).toEqual(all.history.learningRate.slice(4));
    expect(flat(resumed).equals(flat(straight))).toBe(true);
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('a modelCheckpoint listed before earlyStopping saves the early-stopping state after the epoch', async () => {
    const run = async (m: SequenceClassifier, epochs: number, checkpoint: boolean) =>
      m.fit(data, { ...base, epochs, callbacks: [...(checkpoint ? [modelCheckpoint({ path: join(dir, 'ck{epoch}.rnn') })] : []), earlyStopping({ patience: 2 })] });
    const straight = small();
    const all = await run(straight, 12, true);
    const stopped = all.epoch[all.epoch.length - 1];
    expect(stopped).toBeLessThan(11); // early stopping ended it
    // Resume from the checkpoint of the epoch before the stop: it stops at the same epoch.
    const resumed = await SequenceClassifier.load(join(dir, `ck${stopped}.rnn`));
    const rest = await run(resumed, 12, false);
    expect(rest.epoch[rest.epoch.length - 1]).toBe(stopped);
    expect(flat(resumed).equals(flat(straight))).toBe(true);
    straight.dispose();
    resumed.dispose();
  });
});

describe('divergence and progress', () => {
  it('a non-finite loss stops fit with NonFiniteLossError naming epoch and batch', async () => {
    const { NonFiniteLossError } = await import('../src/index');
    // Huge positive weights on positive inputs: every sum overflows to +Infinity whatever the
    // summation order, relu keeps it, and the softmax of [Inf, Inf] is NaN.
    const m = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'rnn', units: 4, activation: 'relu' }], classes: 2, seed: 3 });
    m.setWeights(m.getWeights().map((t) => ({ ...t, values: t.values.map(() => 3e38) })));
    const positive = { x: data.x.map((seq) => seq.map((step) => step.map((v) => Math.abs(v) + 0.01))), y: data.y };
    await expect(m.fit(positive, { epochs: 1 })).rejects.toThrow(NonFiniteLossError);
    await expect(m.fit(positive, { epochs: 1 })).rejects.toThrow(/loss became (NaN|Infinity) at epoch \d+, batch 0/);
    // The failed step took nothing: the weights are those before it, not NaN.
    expect(m.getWeights().every((t) => t.values.every((v) => v === 3e38 || v === Math.fround(3e38)))).toBe(true);
    m.dispose();
  });
  it('an update that overflows float32 with a finite loss and gradient norm is not taken either (Adam at lr 1e5)', async () => {
    const { NonFiniteLossError } = await import('../src/index');
    const m = new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'rnn', units: 4, activation: 'relu' }], classes: 3, seed: 7 });
    const x = Array.from({ length: 20 }, (_, i) => Array.from({ length: 2 + (i % 5) }, (_, t) => [((i + t) % 3) - 1, 0.5 * (i % 2), (t % 2) - 0.5]));
    const y = x.map((_, i) => i % 3);
    await expect(m.fit({ x, y }, { epochs: 1, batchSize: 2, shuffle: false, optimizer: { type: 'adam', learningRate: 1e5 } })).rejects.toThrow(NonFiniteLossError);
    expect(m.getWeights().every((t) => t.values.every(Number.isFinite))).toBe(true);
    // What it saves loads again.
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const path = join(mkdtempSync(join(tmpdir(), 'rnn-node-diverge-')), 'm.rnn');
    await m.save(path);
    (await SequenceClassifier.load(path)).dispose();
    m.dispose();
  });
  it('the progress reporter draws a bar with rate and ETA on a TTY, plain lines otherwise', async () => {
    const { progressReporter } = await import('../src/cli/progress');
    const capture = (isTTY: boolean) => {
      const chunks: string[] = [];
      const out = { isTTY, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream;
      const p = progressReporter(2, 4, 40, out);
      p.onEpochBegin!(0);
      for (let b = 0; b < 4; b++) p.onBatchEnd!(b, { loss: 0.5, accuracy: 0.5, size: 10 });
      p.onEpochEnd!(0, { loss: 0.5, accuracy: 0.5, learningRate: 0.001, seconds: 1.5 });
      return chunks.join('');
    };
    const tty = capture(true);
    expect(tty).toMatch(/\rEpoch 1\/2 \[=+>? *\] +\d+% \d+ seq\/s ETA \d+:\d\d loss 0\.5000/);
    const plain = capture(false);
    expect(plain).toBe('Epoch 1/2 1.5s 27 seq/s loss 0.5000 accuracy 0.5000 lr 0.00100\n');
  });
});
