/**
 * Model files: round trip; truncated, bit-flipped, size-forged, wrong-version and foreign
 * files each rejected with a clear CheckpointError; a mutation fuzz loop of thousands of
 * corrupted files loaded in child processes (no crash, no hang, none accepted); and resumed
 * training that is bit-identical to uninterrupted training.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, SequenceClassifier } from '../src/index';
import { SeededRandom } from '../src/util/random';
import { randomDense } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = {
  input: { type: 'dense' as const, features: 3 },
  layers: [{ cell: 'lstm' as const, units: 5, dropout: 0.2 }, { cell: 'gru' as const, units: 4, bidirectional: true }],
  classes: ['a', 'b', 'c'],
  seed: 4,
};
const data = { x: randomDense(Array.from({ length: 60 }, (_, i) => 2 + (i % 7)), 3, 1), y: Array.from({ length: 60 }, (_, i) => ['a', 'b', 'c'][i % 3]) };

async function trainedFile(name: string): Promise<string> {
  const m = new SequenceClassifier(config);
  await m.fit(data, { epochs: 1, batchSize: 8 });
  const path = join(dir, name);
  await m.save(path);
  m.dispose();
  return path;
}

/** Rewrites the trailing CRC so that only the forged field is wrong. */
function withValidCrc(bytes: Buffer): Buffer {
  bytes.writeUInt32LE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
  return bytes;
}

async function expectRejected(bytes: Uint8Array, message: RegExp) {
  const path = join(dir, `bad-${Math.random().toString(36).slice(2)}.rnn`);
  writeFileSync(path, bytes);
  await expect(SequenceClassifier.load(path)).rejects.toThrow(CheckpointError);
  await expect(SequenceClassifier.load(path)).rejects.toThrow(message);
}

describe('checkpoints', () => {
  it('round-trips weights, labels, preprocessing and predictions; leaves no temp files', async () => {
    const m = new SequenceClassifier(config);
    await m.fit(data, { epochs: 2, batchSize: 8 });
    m.preprocessing = { note: 'kept', vocabulary: ['x', 'y'] };
    const path = join(dir, 'model.rnn');
    await m.save(path);
    const loaded = await SequenceClassifier.load(path);
    expect(loaded.getWeights()).toEqual(m.getWeights());
    expect(loaded.labels).toEqual(['a', 'b', 'c']);
    expect(loaded.config).toEqual(m.config);
    expect(loaded.preprocessing).toEqual({ note: 'kept', vocabulary: ['x', 'y'] });
    expect(loaded.epochsTrained).toBe(2);
    expect(await loaded.predictProba(data.x)).toEqual(await m.predictProba(data.x));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const small = join(dir, 'weights-only.rnn');
    await m.save(small, { includeTrainingState: false });
    expect(readFileSync(small).length).toBeLessThan(readFileSync(path).length);
    expect((await SequenceClassifier.load(small)).epochsTrained).toBe(0);
    m.dispose();
    loaded.dispose();
  });

  it('resumes bit-identically: 4 epochs == 2 epochs, save, load, 2 epochs (same threads)', async () => {
    const straight = new SequenceClassifier(config);
    await straight.fit(data, { epochs: 4, batchSize: 8, threads: 2 });
    const first = new SequenceClassifier(config);
    await first.fit(data, { epochs: 2, batchSize: 8, threads: 2 });
    const path = join(dir, 'half.rnn');
    await first.save(path);
    first.dispose();
    const resumed = await SequenceClassifier.load(path);
    const history = await resumed.fit(data, { epochs: 2, batchSize: 8, threads: 2 });
    expect(history.epoch).toEqual([2, 3]);
    expect(resumed.getWeights()).toEqual(straight.getWeights());
    straight.dispose();
    resumed.dispose();
  });

  it('rejects truncated files at every kind of cut', async () => {
    const good = readFileSync(await trainedFile('t.rnn'));
    for (const length of [0, 7, 15, 40, good.length / 2, good.length - 5, good.length - 1]) {
      await expectRejected(good.subarray(0, Math.floor(length)), /truncated|corrupt|checksum/);
    }
  });

  it('rejects flipped bits with a checksum error', async () => {
    const good = readFileSync(await trainedFile('f.rnn'));
    for (const at of [20, Math.floor(good.length / 2), good.length - 10]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x10;
      await expectRejected(bad, /checksum mismatch|corrupt/);
    }
  });

  it('rejects forged size fields before allocating anything', async () => {
    const good = readFileSync(await trainedFile('s.rnn'));
    const headerLength = good.readUInt32LE(12);
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0xffffffff, 12);
    await expectRejected(withValidCrc(huge), /header length 4294967295 exceeds the file/);
    const params = Buffer.from(good);
    params.writeBigUInt64LE(2n ** 62n, 16 + headerLength);
    await expectRejected(withValidCrc(params), /weights section of \d+ bytes exceeds the file/);
    // A NaN or infinite weight with a valid checksum (another tool's file, or a crafted one).
    for (const value of [NaN, Infinity]) {
      const poisoned = Buffer.from(good);
      poisoned.writeFloatLE(value, 16 + headerLength + 8 + 4 * 3);
      await expectRejected(withValidCrc(poisoned), new RegExp(`weights value 3 is ${value}, not a finite number`));
    }
    // A consistent file whose header claims a gigantic model: refused by arithmetic, not by running out of memory.
    const header = JSON.parse(good.subarray(16, 16 + headerLength).toString());
    header.config.layers = Array(64).fill({ ...header.config.layers[0], units: 16384 });
    const forgedHeader = Buffer.from(JSON.stringify(header));
    const rest = good.subarray(16 + headerLength);
    const forged = Buffer.concat([good.subarray(0, 12), Buffer.alloc(4), forgedHeader, rest]);
    forged.writeUInt32LE(forgedHeader.length, 12);
    await expectRejected(withValidCrc(forged), /more than the supported|needs \d+ weights/);
  });

  it('rejects other format versions with what to do', async () => {
    const good = readFileSync(await trainedFile('v.rnn'));
    const newer = Buffer.from(good);
    newer.writeUInt32LE(4, 8);
    await expectRejected(withValidCrc(newer), /format 4 by a newer rnn-node.*upgrade/);
    const older = Buffer.from(good);
    older.writeUInt32LE(0, 8);
    await expectRejected(withValidCrc(older), /unknown model format 0; re-save/);
  });

  it('records the kernels\' own gate order, and refuses a file that records another', async () => {
    const { native } = await import('../src/native/addon');
    const { GATE_ORDER } = await import('../src/model/cells');
    expect(native().buildInfo().gateOrder).toEqual(GATE_ORDER);
    const good = readFileSync(await trainedFile('gates.rnn'));
    const headerLength = good.readUInt32LE(12);
    const header = good.subarray(16, 16 + headerLength).toString('utf8');
    expect(header).toContain('"gateOrder":{"lstm":"i,f,g,o","gru":"z,r,h"}');
    const swapped = Buffer.from(good.toString('latin1').replace('"lstm":"i,f,g,o"', '"lstm":"i,o,f,c"'), 'latin1');
    await expectRejected(withValidCrc(swapped), /gate order .*i,o,f,c.* is not this version's/);
  });

  it('rejects foreign and missing files', async () => {
    await expectRejected(Buffer.from('{"not": "a model"}'.padEnd(64)), /not an rnn-node model file/);
    await expect(SequenceClassifier.load(join(dir, 'missing.rnn'))).rejects.toThrow(/cannot read the model file \(ENOENT\)/);
    await expect(SequenceClassifier.load(42 as never)).rejects.toThrow(TypeError);
  });

  it('save() names the path it was given: a folder, a missing folder; a name near the 255-character limit still saves', async () => {
    const m = new SequenceClassifier(config);
    await expect(m.save(dir)).rejects.toThrow(new RegExp(`${dir.replace(/[/.]/g, '\\$&')}: is a folder; give a file path`));
    await expect(m.save(join(dir, 'no', 'such', 'm.rnn'))).rejects.toThrow(/no\/such\/m\.rnn: cannot be written \(ENOENT\)/);
    const long = join(dir, `${'x'.repeat(250)}.rnn`);
    await m.save(long);
    expect((await SequenceClassifier.load(long)).config).toEqual(m.config);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    m.dispose();
  });

  it('refuses what is not a regular file quickly: a directory, /dev/zero (endless), a named pipe (no writer); so do the importers', async () => {
    await expect(SequenceClassifier.load(dir)).rejects.toThrow(/is a directory, not a file/);
    await expect(SequenceClassifier.load('/dev/zero')).rejects.toThrow(CheckpointError);
    await expect(SequenceClassifier.load('/dev/zero')).rejects.toThrow(/\/dev\/zero: is not a regular file/);
    const fifo = join(dir, 'pipe.rnn');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await expect(SequenceClassifier.load(fifo)).rejects.toThrow(/pipe\.rnn: is not a regular file/);
    await expect(SequenceClassifier.fromTfjs(fifo.replace(/rnn$/, 'json'))).rejects.toThrow(/cannot read \(ENOENT\)/);
    expect(spawnSync('mkfifo', [join(dir, 'model.json')]).status).toBe(0);
    await expect(SequenceClassifier.fromTfjs(join(dir, 'model.json'))).rejects.toThrow(/model\.json: is not a regular file/);
    await expect(SequenceClassifier.fromOnnx('/dev/zero')).rejects.toThrow(/\/dev\/zero: (empty file|is not a regular file)/);
    await expect(SequenceClassifier.fromOnnx(dir)).rejects.toThrow(/is a directory, not a file/);
  }, 20_000);

  it('fuzz: 3000 mutated files loaded in child processes: no crash, no hang, none accepted', async () => {
    const good = readFileSync(await trainedFile('fuzz.rnn'));
    const rng = new SeededRandom(2024);
    const pick = (n: number) => Math.floor(rng.next() * n);
    const fuzzDir = join(dir, 'fuzz');
    rmSync(fuzzDir, { recursive: true, force: true });
    require('node:fs').mkdirSync(fuzzDir);
    const paths: string[] = [];
    for (let i = 0; paths.length < 3000; i++) {
      let bad = Buffer.from(good);
      switch (i % 6) {
        case 0: // flip 1..8 random bits
          for (let k = 1 + pick(8); k > 0; k--) bad[pick(bad.length)] ^= 1 << pick(8);
          break;
        case 1: // overwrite a run of random bytes
          for (let at = pick(bad.length), k = 1 + pick(32); k > 0 && at < bad.length; k--, at++) bad[at] = pick(256);
          break;
        case 2: // truncate
          bad = bad.subarray(0, pick(bad.length));
          break;
        case 3: // append junk
          bad = Buffer.concat([bad, Buffer.from(Array.from({ length: 1 + pick(64) }, () => pick(256)))]);
          break;
        case 4: // forge a size field, keep the checksum consistent
          bad.writeUInt32LE(pick(2 ** 32), 12);
          withValidCrc(bad);
          break;
        case 5: // corrupt the header text, keep the checksum consistent
          for (let k = 1 + pick(4); k > 0; k--) bad[16 + pick(bad.readUInt32LE(12))] = pick(256);
          withValidCrc(bad);
          break;
      }
      if (bad.equals(good)) continue;
      const path = join(fuzzDir, `${paths.length}-kind${i % 6}.rnn`);
      writeFileSync(path, bad);
      paths.push(path);
    }
    const children = 3;
    for (let c = 0; c < children; c++) {
      const mine = paths.filter((_, i) => i % children === c);
      const run = spawnSync(process.execPath, [join(__dirname, 'support', 'load-models.cjs')], {
        input: mine.join('\n'),
        timeout: 120_000,
        encoding: 'utf8',
      });
      expect(run.signal, `child ${c} was killed (crash or hang): ${run.stderr}`).toBeNull();
      expect(run.status, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout);
      // Kinds 0-4 are corrupt files and must all be rejected. Kind 5 rewrites the checksum
      // after editing header text, so an edit that leaves valid JSON describing the same
      // model (a digit of the library version, say) is a valid file, rightly accepted.
      for (const accepted of summary.accepted as string[]) {
        expect(accepted, 'only a CRC-consistent header edit may still be a valid file').toMatch(/-kind5\.rnn$/);
      }
      expect(summary.otherErrors, summary.otherErrors.join("\n")).toEqual([]);
      expect(summary.rejected + summary.accepted.length).toBe(mine.length);
    }
  });
});

describe('callback state in checkpoints', () => {
  it('early stopping resumed from a checkpoint stops at the same epoch as an uninterrupted run', async () => {
    const { earlyStopping } = await import('../src/index');
    const losses = [1.0, 0.8, 0.85, 0.9, 0.95, 0.99];
    const scripted = { onEpochEnd: (e: number, logs: { loss: number }) => void (logs.loss = losses[e]) };
    const straight = new SequenceClassifier(config);
    const s1 = earlyStopping({ monitor: 'loss', patience: 3 });
    const h1 = await straight.fit(data, { epochs: 6, batchSize: 8, callbacks: [scripted, s1] });
    expect(s1.stoppedEpoch).toBe(4);

    const first = new SequenceClassifier(config);
    await first.fit(data, { epochs: 3, batchSize: 8, callbacks: [scripted, earlyStopping({ monitor: 'loss', patience: 3 })] });
    const path = join(dir, 'early.rnn');
    await first.save(path);
    first.dispose();
    const resumed = await SequenceClassifier.load(path);
    const s2 = earlyStopping({ monitor: 'loss', patience: 3 });
    const h2 = await resumed.fit(data, { epochs: 3, batchSize: 8, callbacks: [scripted, s2] });
    expect(s2.stoppedEpoch).toBe(4);
    expect(h2.epoch).toEqual([3, 4]);
    expect(h1.epoch).toEqual([0, 1, 2, 3, 4]);
    expect(resumed.getWeights()).toEqual(straight.getWeights());
    straight.dispose();
    resumed.dispose();
  });

  it('restoreBestWeights restores a best epoch reached before the resume (its weights are in the file)', async () => {
    const { earlyStopping } = await import('../src/index');
    const losses = [1.0, 0.8, 0.85, 0.9, 0.95, 0.99];
    const scripted = { onEpochEnd: (e: number, logs: { loss: number }) => void (logs.loss = losses[e]) };
    const options = { monitor: 'loss' as const, patience: 3, restoreBestWeights: true };
    const straight = new SequenceClassifier(config);
    const s1 = earlyStopping(options);
    await straight.fit(data, { epochs: 6, batchSize: 8, callbacks: [scripted, s1] });
    expect([s1.bestEpoch, s1.stoppedEpoch]).toEqual([1, 4]);

    const first = new SequenceClassifier(config);
    await first.fit(data, { epochs: 3, batchSize: 8, callbacks: [scripted, earlyStopping(options)] });
    const path = join(dir, 'early-best.rnn');
    await first.save(path);
    const withoutCallback = join(dir, 'early-best-plain.rnn');
    await first.save(withoutCallback, { includeTrainingState: false });
    first.dispose();
    // The file carries one more copy of the weights: the best epoch's.
    const paramBytes = 4 * straight.getWeights().reduce((n, w) => n + w.values.length, 0);
    expect(readFileSync(path).length).toBeGreaterThan(readFileSync(withoutCallback).length + 3 * paramBytes);

    // Saved again before any fit, the kept weights are carried over unchanged.
    const reloaded = await SequenceClassifier.load(path);
    const again = join(dir, 'early-best-again.rnn');
    await reloaded.save(again);
    reloaded.dispose();
    const resumed = await SequenceClassifier.load(again);
    const lastEpochWeights = resumed.getWeights();
    const s2 = earlyStopping(options);
    await resumed.fit(data, { epochs: 3, batchSize: 8, callbacks: [scripted, s2] });
    expect([s2.bestEpoch, s2.stoppedEpoch]).toEqual([1, 4]);
    expect(resumed.getWeights()).toEqual(straight.getWeights());
    expect(resumed.getWeights()).not.toEqual(lastEpochWeights);
    straight.dispose();
    resumed.dispose();
  });
});

describe('early stopping reused across models', () => {
  it('never restores another run\'s best weights', async () => {
    const { earlyStopping } = await import('../src/index');
    const es = earlyStopping({ monitor: 'loss', patience: 2, restoreBestWeights: true });
    const falling = [1.0, 0.9, 0.8];
    const a = new SequenceClassifier(config);
    await a.fit(data, { epochs: 3, batchSize: 8, callbacks: [{ onEpochEnd: (e: number, l: { loss: number }) => void (l.loss = falling[e]) }, es] });
    // B resumes from a file whose callback state has no kept weights, then stalls.
    const b = new SequenceClassifier({ ...config, seed: 9 });
    await b.fit(data, { epochs: 1, batchSize: 8, callbacks: [earlyStopping({ monitor: 'loss' })] });
    const path = join(dir, 'b.rnn');
    await b.save(path);
    const resumed = await SequenceClassifier.load(path);
    const before = resumed.getWeights();
    const flat = [5, 5, 5];
    await resumed.fit(data, { epochs: 3, batchSize: 8, callbacks: [{ onEpochEnd: (e: number, l: { loss: number }) => void (l.loss = flat[e - 1] ?? 5) }, es] });
    expect(es.stoppedEpoch).not.toBeNull();
    expect(resumed.getWeights()).not.toEqual(a.getWeights());
    expect(resumed.getWeights()).not.toEqual(before); // it trained; nothing foreign was put back
    a.dispose();
    b.dispose();
    resumed.dispose();
  });
});

describe('older model formats', () => {
  const fixtures = join(__dirname, 'fixtures', 'checkpoints');

  it('a format-1 file (rnn-node 0.1.0) loads, with the Keras initialisers it was made with, and predicts as it did', async () => {
    const model = await SequenceClassifier.load(join(fixtures, 'format1-tokens-lstm.rnn'));
    expect(model.config.input).toMatchObject({ type: 'tokens', embeddingInitializer: 'uniform' });
    expect(model.config.layers[0]).toMatchObject({ cell: 'lstm', units: 6, kernelInitializer: 'glorotUniform', recurrentInitializer: 'orthogonal', biasInitializer: 'zeros' });
    expect(model.epochsTrained).toBe(3);
    const { Preprocessor, parseJsonlRecord } = await import('../src/index');
    const pre = Preprocessor.fromJSON(model.preprocessing as never);
    const records = readFileSync(join(fixtures, 'format1-tokens-lstm.input.jsonl'), 'utf8').trim().split('\n').map((l, i) => parseJsonlRecord(l, 'input', i + 1));
    const expected = readFileSync(join(fixtures, 'format1-tokens-lstm.predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const probs = await model.predictProba(pre.encode(records).x);
    const labels = model.labels!;
    expect(probs).toHaveLength(expected.length * labels.length); // typed input: flat [N, classes]
    expected.forEach((line, i) => {
      labels.forEach((label, k) => expect(Math.abs(probs[i * labels.length + k] - line.probabilities[label])).toBeLessThan(1e-6));
    });
    // Saved again, it is format 3 and keeps its configuration and training state.
    const path = join(dir, 'upgraded.rnn');
    await model.save(path);
    expect(readFileSync(path).readUInt32LE(8)).toBe(3);
    const upgraded = await SequenceClassifier.load(path);
    expect(upgraded.config).toEqual(model.config);
    expect(upgraded.epochsTrained).toBe(3);
    model.dispose();
    upgraded.dispose();
  });

  it('a format-2 file (before precision) loads as a float32 model, predicts as it did and trains on', async () => {
    const model = await SequenceClassifier.load(join(fixtures, 'format2-dense-bigru.rnn'));
    expect(model.config.precision).toBe('float32');
    expect(model.config.layers[0]).toMatchObject({ cell: 'gru', bidirectional: true, mergeMode: 'sum' });
    const x = JSON.parse(readFileSync(join(fixtures, 'format2-dense-bigru.input.json'), 'utf8')) as number[][][];
    const expected = JSON.parse(readFileSync(join(fixtures, 'format2-dense-bigru.probabilities.json'), 'utf8')) as number[][];
    expect(model.predictProbaSync(x)).toEqual(expected);
    await model.fit({ x, y: x.map((_, i) => ['low', 'mid', 'high'][i % 3]) }, { epochs: 1, batchSize: 4 });
    model.dispose();
  });

  it('a format-2 header that claims a low precision is refused', async () => {
    const bytes = readFileSync(join(fixtures, 'format2-dense-bigru.rnn'));
    const length = bytes.readUInt32LE(12);
    const header = JSON.parse(bytes.subarray(16, 16 + length).toString('utf8'));
    header.config.precision = 'int8';
    const text = Buffer.from(JSON.stringify(header));
    const out = Buffer.concat([bytes.subarray(0, 12), Buffer.alloc(4), text, bytes.subarray(16 + length)]);
    out.writeUInt32LE(text.length, 12);
    out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
    const path = join(dir, 'format2-int8.rnn');
    writeFileSync(path, out);
    await expect(SequenceClassifier.load(path)).rejects.toThrow(/format 2 .* float32/);
  });
});
