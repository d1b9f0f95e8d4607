/**
 * `fromOnnx` on graphs written by PyTorch's own exporter (torch.onnx.export, PyTorch 1.13;
 * fixtures and the script that wrote them: scripts/fixtures/torch_onnx_models.py): every
 * supported read-out predicts within 1e-5 of softmax(PyTorch's output) on the same input;
 * what rnn-node cannot express is refused naming the node and the reason; an imported model
 * trains, saves and loads like any other; bad files and options get typed errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';

import { ModelFileError, SequenceClassifier, UnsupportedModelError } from '../src/index';
import { maxAbsDiff } from './helpers';

const FIXTURES = join(__dirname, 'fixtures', 'torch-onnx');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-onnx-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Fixture {
  name: string;
  tokens: boolean;
  input: { shape: number[]; values: number[] };
  output: { shape: number[]; values: number[] };
  ends: 'linear' | 'softmax' | 'log_softmax';
  refuse?: string;
}

const index: { writer: string; cases: string[] } = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8'));
const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));
const onnxPath = (name: string) => join(FIXTURES, `${name}.onnx`);

/** What rnn-node's probabilities must equal: softmax of logits, exp of log-probabilities. */
function expectedProbabilities(f: Fixture): Float32Array {
  const [n, classes] = f.output.shape;
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const row = f.output.values.slice(i * classes, (i + 1) * classes);
    if (f.ends === 'softmax') out.set(row, i * classes);
    else if (f.ends === 'log_softmax') out.set(row.map(Math.exp), i * classes);
    else {
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      out.set(e.map((v) => v / sum), i * classes);
    }
  }
  return out;
}

function inputOf(f: Fixture) {
  return f.tokens ? { values: Int32Array.from(f.input.values), shape: f.input.shape } : { values: Float32Array.from(f.input.values), shape: f.input.shape };
}

const supported = index.cases.filter((c) => !c.startsWith('refuse_'));
const refused = index.cases.filter((c) => c.startsWith('refuse_'));

/** What each fixture's module is, as rnn-node must read it. */
const EXPECTED: Record<string, { layers: [string, number, boolean][]; pooling: string; input: string }> = {
  lstm_hn_last: { layers: [['lstm', 8, false]], pooling: 'last', input: 'dense' },
  lstm_out_last: { layers: [['lstm', 8, false]], pooling: 'last', input: 'dense' },
  lstm_stacked_hn_last: { layers: [['lstm', 7, false], ['lstm', 7, false]], pooling: 'last', input: 'dense' },
  lstm_bidirectional_cat: { layers: [['lstm', 6, true]], pooling: 'last', input: 'dense' },
  lstm_bidirectional_stacked_cat: { layers: [['lstm', 5, true], ['lstm', 5, true]], pooling: 'last', input: 'dense' },
  lstm_time_major_hn_last: { layers: [['lstm', 8, false]], pooling: 'last', input: 'dense' },
  gru_hn_last: { layers: [['gru', 8, false]], pooling: 'last', input: 'dense' },
  gru_out_last_softmax: { layers: [['gru', 8, false]], pooling: 'last', input: 'dense' },
  gru_bidirectional_mean: { layers: [['gru', 6, true]], pooling: 'mean', input: 'dense' },
  gru_stacked_max: { layers: [['gru', 6, false], ['gru', 6, false]], pooling: 'max', input: 'dense' },
  rnn_tanh_mean: { layers: [['rnn', 8, false]], pooling: 'mean', input: 'dense' },
  rnn_relu_hn_last_log_softmax: { layers: [['rnn', 8, false]], pooling: 'last', input: 'dense' },
  embedding_lstm_out_last: { layers: [['lstm', 8, false]], pooling: 'last', input: 'tokens' },
  embedding_gru_bidirectional_cat: { layers: [['gru', 6, true]], pooling: 'last', input: 'tokens' },
};

describe(`ONNX written by torch.onnx.export (${index.writer})`, () => {
  it('has the fixtures the script writes', () => {
    expect(supported.sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(refused).toContain('refuse_packed_sequence');
  });

  for (const name of supported) {
    it(`${name}: within 1e-5 of PyTorch`, async () => {
      const f = fixture(name);
      const model = await SequenceClassifier.fromOnnx(onnxPath(name));
      const want = EXPECTED[name];
      expect(model.config.input.type).toBe(want.input);
      expect(model.config.layers.map((l) => [l.cell, l.units, l.bidirectional])).toEqual(want.layers);
      expect(model.config.pooling).toBe(want.pooling);
      if (name.startsWith('gru')) expect(model.config.layers[0].resetAfter).toBe(true); // PyTorch's GRU is the reset-after form
      if (name.startsWith('rnn_relu')) expect(model.config.layers[0].activation).toBe('relu');
      const ours = model.predictProbaSync(inputOf(f)) as Float32Array;
      const diff = maxAbsDiff(ours, expectedProbabilities(f));
      console.log(`onnx import | torch ${name} | ${diff.toExponential(1)}`);
      expect(diff).toBeLessThan(1e-5);
      // Without labels in the file, the classes are indices; the command line's inputs are raw sequences or ids.
      expect(model.config.labels).toBeNull();
      expect(model.preprocessing).toMatchObject({ kind: f.tokens ? 'ids' : 'sequence' });
      model.dispose();
    });
  }

  for (const name of refused) {
    it(`${name}: UnsupportedModelError naming why`, async () => {
      const f = fixture(name);
      const error = await SequenceClassifier.fromOnnx(onnxPath(name)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsupportedModelError);
      expect((error as Error).message).toContain(f.refuse);
      expect((error as Error).message).toContain(onnxPath(name));
    });
  }

  it('a ragged batch: each sequence as if alone (rnn-node reads every sequence at its own length)', async () => {
    const f = fixture('lstm_bidirectional_cat');
    const model = await SequenceClassifier.fromOnnx(onnxPath('lstm_bidirectional_cat'));
    const [n, t, features] = f.input.shape;
    const lengths = Int32Array.from({ length: n }, (_, i) => t - i);
    const batch = model.predictProbaSync({ values: Float32Array.from(f.input.values), shape: f.input.shape, lengths }) as Float32Array;
    for (let i = 0; i < n; i++) {
      const alone = Float32Array.from(f.input.values.slice(i * t * features, i * t * features + lengths[i] * features));
      const one = model.predictProbaSync({ values: alone, shape: [1, lengths[i], features] }) as Float32Array;
      expect(maxAbsDiff(one, batch.subarray(i * 3, i * 3 + 3))).toBe(0);
    }
    model.dispose();
  });
});

describe('an imported model is a full SequenceClassifier', () => {
  it('fine-tunes with fit, saves and loads, keeps labels given at import', async () => {
    const model = await SequenceClassifier.fromOnnx(onnxPath('gru_hn_last'), { labels: ['up', 'down', 'flat'] });
    expect(model.config.labels).toEqual(['up', 'down', 'flat']);
    // A task the random PyTorch weights do not know: the class is the sign pattern of feature 0's mean.
    const x: number[][][] = [];
    const y: string[] = [];
    for (let i = 0; i < 240; i++) {
      const shift = i % 3 === 0 ? 1 : i % 3 === 1 ? -1 : 0;
      x.push(Array.from({ length: 6 }, (_, t) => Array.from({ length: 5 }, (_, k) => (k === 0 ? shift : 0) + 0.3 * Math.sin(i * 7 + t * 3 + k))));
      y.push(['up', 'down', 'flat'][i % 3]);
    }
    const before = (await model.evaluate({ x, y })).accuracy;
    await model.fit({ x, y }, { epochs: 30, batchSize: 16, optimizer: { learningRate: 0.02 }, seed: 3 });
    const after = (await model.evaluate({ x, y })).accuracy;
    expect(after).toBeGreaterThanOrEqual(0.95);
    expect(after).toBeGreaterThan(before);
    const path = join(dir, 'fine-tuned.rnn');
    await model.save(path);
    const loaded = await SequenceClassifier.load(path);
    expect(loaded.predictProbaSync(x.slice(0, 9))).toEqual(model.predictProbaSync(x.slice(0, 9)));
    expect(loaded.predictSync(x.slice(0, 3))).toEqual(['up', 'down', 'flat']);
    loaded.dispose();
    model.dispose();
  });

  it('a token model takes a vocabulary at import (what the command line reads text with)', async () => {
    const vocabulary = ['<pad>', ...'abcdefghijklmnopqrstuvwxyz ,.'.split('')];
    expect(vocabulary).toHaveLength(30);
    const model = await SequenceClassifier.fromOnnx(onnxPath('embedding_lstm_out_last'), { vocabulary, labels: ['a', 'b', 'c'] });
    expect(model.preprocessing).toMatchObject({ kind: 'text', tokenizer: { kind: 'char', vocabulary } });
    await expect(SequenceClassifier.fromOnnx(onnxPath('embedding_lstm_out_last'), { vocabulary: ['a'] })).rejects.toThrow(/Expected 30 tokens .* for options.vocabulary/);
    await expect(SequenceClassifier.fromOnnx(onnxPath('lstm_hn_last'), { vocabulary })).rejects.toThrow(/options.vocabulary/);
    model.dispose();
  });
});

describe('bad ONNX files and options', () => {
  const edited = (name: string, edit: (m: onnx.ModelProto) => void): string => {
    const model = onnx.ModelProto.decode(readFileSync(onnxPath(name)));
    edit(model);
    const path = join(dir, `${name}-${Math.random().toString(36).slice(2)}.onnx`);
    writeFileSync(path, onnx.ModelProto.encode(model).finish());
    return path;
  };

  it('not protobuf, empty, truncated, missing: ModelFileError naming the file', async () => {
    const text = join(dir, 'text.onnx');
    writeFileSync(text, 'this is not a model\n'.repeat(20));
    const empty = join(dir, 'empty.onnx');
    writeFileSync(empty, '');
    const bytes = readFileSync(onnxPath('lstm_hn_last'));
    const truncated = join(dir, 'truncated.onnx');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    for (const path of [text, empty, truncated, join(dir, 'missing.onnx')]) {
      const error = await SequenceClassifier.fromOnnx(path).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(ModelFileError);
      expect((error as Error).message).toContain(path);
    }
  });

  it('an unknown operator: UnsupportedModelError naming the op and its node', async () => {
    const path = edited('gru_hn_last', (m) => {
      const gemm = m.graph!.node.find((n) => n.opType === 'Gemm')!;
      gemm.opType = 'Gelu';
    });
    await expect(SequenceClassifier.fromOnnx(path)).rejects.toThrow(/node "\/fc\/Gemm" \(Gelu\): ONNX operator Gelu is not one rnn-node imports/);
    const custom = edited('gru_hn_last', (m) => {
      m.graph!.node.find((n) => n.opType === 'GRU')!.domain = 'com.microsoft';
    });
    await expect(SequenceClassifier.fromOnnx(custom)).rejects.toThrow(/domain "com.microsoft"/);
  });

  it('shapes that do not fit: a short initializer, a dense layer of the wrong width, a non-zero initial state', async () => {
    const short = edited('lstm_hn_last', (m) => {
      const w = m.graph!.initializer.find((t) => t.dims.length === 3)!;
      w.rawData = w.rawData!.subarray(0, w.rawData!.length - 4);
    });
    await expect(SequenceClassifier.fromOnnx(short)).rejects.toThrow(ModelFileError);
    // A few bytes declaring a huge tensor: refused before anything is allocated.
    const huge = edited('lstm_hn_last', (m) => {
      const w = m.graph!.initializer.find((t) => t.dims.length === 3)!;
      w.dims = [1, 2 ** 30, 2];
    });
    await expect(SequenceClassifier.fromOnnx(huge)).rejects.toThrow(/raw data of \d+ bytes; its dims need 8589934592/);
    const wide = edited('lstm_hn_last', (m) => {
      const fc = m.graph!.initializer.find((t) => t.name === 'fc.weight')!;
      fc.dims = [3, 4];
      fc.rawData = fc.rawData!.subarray(0, 48);
    });
    await expect(SequenceClassifier.fromOnnx(wide)).rejects.toThrow(/the dense layer takes 4 features; the last recurrent layer gives 8/);
    const hidden = edited('gru_hn_last', (m) => {
      const fill = m.graph!.node.find((n) => n.opType === 'ConstantOfShape')!;
      fill.attribute[0].t!.rawData = Buffer.from(new Float32Array([0.5]).buffer);
    });
    await expect(SequenceClassifier.fromOnnx(hidden)).rejects.toThrow(/initial_h .* zero state/);
    const clipped = edited('lstm_hn_last', (m) => {
      m.graph!.node.find((n) => n.opType === 'LSTM')!.attribute.push(onnx.AttributeProto.create({ name: 'clip', type: onnx.AttributeProto.AttributeType.FLOAT, f: 3 }));
    });
    await expect(SequenceClassifier.fromOnnx(clipped)).rejects.toThrow(/clip/);
  });

  it("rnn-node's own file with a missing initializer or broken metadata: ModelFileError", async () => {
    const model = new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 4 }], pooling: 'mean', classes: ['x', 'y'] });
    const path = join(dir, 'own.onnx');
    await model.toOnnx(path);
    const own = onnx.ModelProto.decode(readFileSync(path));
    own.graph!.initializer = own.graph!.initializer.filter((t) => t.name !== 'layer0_R');
    const missing = join(dir, 'own-missing.onnx');
    writeFileSync(missing, onnx.ModelProto.encode(own).finish());
    await expect(SequenceClassifier.fromOnnx(missing)).rejects.toThrow(/initializer layer0_R is missing/);
    const broken = onnx.ModelProto.decode(readFileSync(path));
    broken.metadataProps[0].value = '{"config": ';
    const brokenPath = join(dir, 'own-broken.onnx');
    writeFileSync(brokenPath, onnx.ModelProto.encode(broken).finish());
    await expect(SequenceClassifier.fromOnnx(brokenPath)).rejects.toThrow(/metadata_props "rnn-node"/);
    model.dispose();
  });

  it('options are checked', async () => {
    await expect(SequenceClassifier.fromOnnx('')).rejects.toThrow(TypeError);
    await expect(SequenceClassifier.fromOnnx(onnxPath('lstm_hn_last'), null as never)).rejects.toThrow(/options/);
    await expect(SequenceClassifier.fromOnnx(onnxPath('lstm_hn_last'), { labels: ['a', 'b'] })).rejects.toThrow(/Expected 3 labels/);
    await expect(SequenceClassifier.fromOnnx(onnxPath('lstm_hn_last'), { labels: ['a', '', 'c'] })).rejects.toThrow(/options.labels/);
  });
});
