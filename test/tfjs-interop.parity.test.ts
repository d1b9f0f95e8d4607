/**
 * tfjs/Keras models in and out, against @tensorflow/tfjs itself (cpu backend):
 *   - import: models built with tfjs-layers and saved by tfjs's own `model.save` (its HTTP
 *     handler, to a local server that stores what tfjs sends: model.json and the weights, as
 *     tfjs wrote them), across cells, activations, bidirectional, stacking, pooling, masked
 *     tokens, dropout and both head forms; rnn-node predicts within 1e-5 of tfjs;
 *   - export: `toTfjs` output loaded by tfjs's `loadLayersModel` (over HTTP, as a browser
 *     would) predicts within 1e-5 of rnn-node; rnn → tfjs → rnn is exact;
 *   - formats tfjs cannot write here, from documented transforms of a tfjs-written file: the
 *     Keras 2 converter's nesting with a reset-after GRU (checked against PyTorch's numbers,
 *     test/fixtures/gru-reset-after.json), and uint8-quantized shards (which tfjs itself loads);
 *   - bad files and unsupported models: clear errors, nothing half-built.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelFileError, SequenceClassifier, UnsupportedModelError, type SequenceClassifierConfig } from '../src/index';
import { maxAbsDiff, randomFloats } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-tfjs-'));
let server: http.Server;
let base = '';
/** Where the next upload goes (the save handler posts model.json and model.weights.bin). */
let uploadDir = '';

beforeAll(async () => {
  await tf.setBackend('cpu');
  server = http.createServer(async (req, res) => {
    try {
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
        mkdirSync(uploadDir, { recursive: true });
        for (const [, value] of form.entries()) {
          const file = value as File;
          writeFileSync(join(uploadDir, file.name), Buffer.from(await file.arrayBuffer()));
        }
        res.end('{}');
      } else {
        // GET /<path under dir>: what tfjs's loadLayersModel fetches.
        res.end(readFileSync(join(dir, decodeURIComponent(req.url!.slice(1)))));
      }
    } catch (e) {
      res.statusCode = 404;
      res.end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
  tf.disposeVariables();
  rmSync(dir, { recursive: true, force: true });
});

/** Saves a tfjs model with tfjs's own HTTP save handler into dir/name. */
async function saveWithTfjs(model: tf.LayersModel, name: string): Promise<string> {
  uploadDir = join(dir, name);
  await model.save(`${base}/upload`);
  return join(uploadDir, 'model.json');
}

function randomize(model: tf.LayersModel, seed: number) {
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(randomFloats(w.size, seed + i, 0.6), w.shape)));
}

const B = 5, T = 6, F = 3, V = 11, C = 4;

function denseInput(seed: number, maskValue: number | null = null) {
  const values = randomFloats(B * T * F, seed);
  if (maskValue !== null) {
    // Padding steps: trailing in some rows, leading in others, one between.
    const pad = (s: number, t: number) => values.fill(maskValue, (s * T + t) * F, (s * T + t + 1) * F);
    pad(0, 5); pad(0, 4); pad(1, 0); pad(1, 1); pad(2, 3); pad(4, 0); pad(4, 5);
  }
  return { ours: { values, shape: [B, T, F] }, theirs: tf.tensor3d(values, [B, T, F]) };
}

/** Ragged token sequences padded with 0: at the end, or (Keras's pad_sequences default) at the front. */
function tokenInput(pre = false) {
  const lengths = [6, 2, 4, 1, 5];
  const ids = new Int32Array(B * T);
  lengths.forEach((len, s) => {
    for (let t = 0; t < len; t++) ids[s * T + (pre ? T - len : 0) + t] = 1 + ((s * 7 + t * 3) % (V - 1));
  });
  return { ours: { values: ids, shape: [B, T] }, theirs: tf.tensor2d(ids, [B, T], 'float32') };
}

type Builder = () => tf.LayersModel;
const rnnCases: [string, Builder, 'dense' | 'tokens' | 'pre-padded tokens' | 'masked dense 0' | 'masked dense -1', boolean][] = [
  ['Masking(0) + LSTM: padding steps at the end, the front and between', () => seq([tf.layers.masking({ maskValue: 0, inputShape: [null, F] }), tf.layers.lstm({ units: 6 }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'masked dense 0', false],
  ['Masking(-1) + bidirectional GRU', () => seq([tf.layers.masking({ maskValue: -1, inputShape: [null, F] }), tf.layers.bidirectional({ layer: tf.layers.gru({ units: 4 }) as never }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'masked dense -1', false],
  ['SimpleRNN tanh', () => seq([tf.layers.simpleRNN({ units: 7, inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['SimpleRNN relu', () => seq([tf.layers.simpleRNN({ units: 7, activation: 'relu', inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['LSTM (tfjs default hard_sigmoid)', () => seq([tf.layers.lstm({ units: 8, inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['LSTM sigmoid', () => seq([tf.layers.lstm({ units: 8, recurrentActivation: 'sigmoid', inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['GRU', () => seq([tf.layers.gru({ units: 6, recurrentActivation: 'sigmoid', inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['stacked LSTM -> GRU -> SimpleRNN, dropout between', () => seq([
    tf.layers.lstm({ units: 6, returnSequences: true, inputShape: [null, F] }), tf.layers.dropout({ rate: 0.3 }),
    tf.layers.gru({ units: 5, returnSequences: true }), tf.layers.simpleRNN({ units: 4 }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['bidirectional LSTM (concat)', () => seq([tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 5 }) as never, inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['bidirectional GRU over bidirectional LSTM', () => seq([
    tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4, returnSequences: true }) as never, inputShape: [null, F] }),
    tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3 }) as never }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['bidirectional LSTM, merge_mode sum', () => seq([tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 5 }) as never, mergeMode: 'sum', inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['bidirectional GRU (ave) under bidirectional SimpleRNN (mul), stacked', () => seq([
    tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 4, returnSequences: true }) as never, mergeMode: 'mul', inputShape: [null, F] }),
    tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3 }) as never, mergeMode: 'ave' }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['GlobalMaxPooling1D over a bidirectional LSTM (sum)', () => seq([tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4, returnSequences: true }) as never, mergeMode: 'sum', inputShape: [null, F] }), tf.layers.globalMaxPooling1d({}), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['masked tokens: Embedding + bidirectional LSTM (mul)', () => seq([tf.layers.embedding({ inputDim: V, outputDim: 4, maskZero: true, inputLength: T }), tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3 }) as never, mergeMode: 'mul' }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'tokens', false],
  ['GlobalAveragePooling1D over an LSTM', () => seq([tf.layers.lstm({ units: 6, returnSequences: true, inputShape: [null, F] }), tf.layers.globalAveragePooling1d(), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['GlobalMaxPooling1D over a bidirectional GRU', () => seq([tf.layers.bidirectional({ layer: tf.layers.gru({ units: 4, returnSequences: true }) as never, inputShape: [null, F] }), tf.layers.globalMaxPooling1d({}), tf.layers.dense({ units: C, activation: 'softmax' })]), 'dense', false],
  ['Dense linear + Activation(softmax)', () => seq([tf.layers.gru({ units: 6, inputShape: [null, F] }), tf.layers.dense({ units: C }), tf.layers.activation({ activation: 'softmax' })]), 'dense', false],
  ['Dense linear (logits: softmax of them compared)', () => seq([tf.layers.lstm({ units: 6, inputShape: [null, F] }), tf.layers.dense({ units: C })]), 'dense', true],
  ['masked tokens: Embedding(mask_zero) + LSTM, ragged', () => seq([tf.layers.embedding({ inputDim: V, outputDim: 4, maskZero: true, inputLength: T }), tf.layers.lstm({ units: 6 }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'tokens', false],
  ['masked tokens: Embedding + bidirectional GRU, ragged', () => seq([tf.layers.embedding({ inputDim: V, outputDim: 4, maskZero: true, inputLength: T }), tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3 }) as never }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'tokens', false],
  ['masked tokens padded at the front (pad_sequences): Embedding + bidirectional LSTM', () => seq([tf.layers.embedding({ inputDim: V, outputDim: 4, maskZero: true, inputLength: T }), tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3 }) as never }), tf.layers.dense({ units: C, activation: 'softmax' })]), 'pre-padded tokens', false],
  ['Functional (tf.model) chain with an InputLayer', () => {
    const input = tf.input({ shape: [null, F] });
    const h = tf.layers.lstm({ units: 5 }).apply(input) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: tf.layers.dense({ units: C, activation: 'softmax' }).apply(h) as tf.SymbolicTensor });
  }, 'dense', false],
];

function seq(layers: tf.layers.Layer[]): tf.Sequential {
  const model = tf.sequential();
  for (const l of layers) model.add(l);
  return model;
}

describe('importing tfjs models (written by tfjs)', () => {
  rnnCases.forEach(([name, build, input, logits], i) => {
    it(`${name}: within 1e-5 of tfjs`, async () => {
      const theirs = build();
      randomize(theirs, 10 * i);
      const path = await saveWithTfjs(theirs, `import-${i}`);
      const ours = await SequenceClassifier.fromTfjs(path);
      const x = input === 'dense' ? denseInput(i) : input.startsWith('masked dense') ? denseInput(i, Number(input.split(' ').pop())) : tokenInput(input === 'pre-padded tokens');
      const expected = tf.tidy(() => {
        const out = theirs.predict(x.theirs) as tf.Tensor2D;
        return (logits ? tf.softmax(out) : out).dataSync();
      });
      const got = ours.predictProbaSync(x.ours as never) as Float32Array;
      const diff = maxAbsDiff(got, expected);
      console.log(`parity import | ${name} | ${diff.toExponential(1)}`);
      expect(diff, `max |Δp| ${diff}`).toBeLessThan(1e-5);
      ours.dispose();
      theirs.dispose();
    });
  });
});

async function loadWithTfjs(exportDir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(`${base}/${exportDir}/model.json`);
}

const exportCases: [string, SequenceClassifierConfig][] = [
  ['LSTM sigmoid', { input: { type: 'dense', features: F }, layers: [{ cell: 'lstm', units: 7 }], classes: C }],
  ['LSTM hardSigmoid', { input: { type: 'dense', features: F }, layers: [{ cell: 'lstm', units: 5, recurrentActivation: 'hardSigmoid' }], classes: C }],
  ['GRU reset before', { input: { type: 'dense', features: F }, layers: [{ cell: 'gru', units: 6, resetAfter: false }], classes: C }],
  ['SimpleRNN relu stacked on bidirectional LSTM', { input: { type: 'dense', features: F }, layers: [{ cell: 'lstm', units: 4, bidirectional: true }, { cell: 'rnn', units: 5, activation: 'relu' }], classes: C }],
  ['mean pooling over a bidirectional GRU', { input: { type: 'dense', features: F }, layers: [{ cell: 'gru', units: 4, bidirectional: true, resetAfter: false }], pooling: 'mean', classes: C }],
  ['max pooling over an LSTM', { input: { type: 'dense', features: F }, layers: [{ cell: 'lstm', units: 4 }], pooling: 'max', classes: C }],
  ['masked tokens: Embedding + LSTM, last step', { input: { type: 'tokens', vocabSize: V, embeddingDim: 4 }, layers: [{ cell: 'lstm', units: 6 }], classes: ['a', 'b', 'c', 'd'] }],
  ['Masking(0) + GRU on padded dense input', { input: { type: 'dense', features: F, maskValue: 0 }, layers: [{ cell: 'gru', units: 5, resetAfter: false }], classes: C }],
  ['bidirectional merges: mul under ave, mean pooling', { input: { type: 'dense', features: F }, layers: [{ cell: 'lstm', units: 4, bidirectional: true, mergeMode: 'mul' }, { cell: 'rnn', units: 3, bidirectional: true, mergeMode: 'ave' }], pooling: 'mean', classes: C }],
  ['bidirectional GRU, merge sum, last step', { input: { type: 'dense', features: F }, layers: [{ cell: 'gru', units: 4, bidirectional: true, mergeMode: 'sum', resetAfter: false }], classes: C }],
];

describe('exporting to tfjs (read by tfjs)', () => {
  exportCases.forEach(([name, config], i) => {
    it(`${name}: tfjs's loadLayersModel predicts within 1e-5; back in rnn-node, exactly the same`, async () => {
      const ours = new SequenceClassifier({ ...config, seed: 7 + i });
      ours.setWeights(ours.getWeights().map((w, k) => ({ ...w, values: w.values.map((v, j) => v + randomFloats(w.values.length, 50 + k, 0.3)[j]) })));
      ours.preprocessing = { kind: 'marker', note: `case ${i}` };
      const out = `export-${i}`;
      await ours.toTfjs(join(dir, out));
      const theirs = await loadWithTfjs(out);
      const x = config.input.type === 'dense' ? denseInput(100 + i, config.input.maskValue ?? null) : tokenInput();
      const expected = ours.predictProbaSync(x.ours as never) as Float32Array;
      const got = tf.tidy(() => (theirs.predict(x.theirs) as tf.Tensor).dataSync());
      console.log(`parity export | ${name} | ${maxAbsDiff(got, expected).toExponential(1)}`);
      expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
      const back = await SequenceClassifier.fromTfjs(join(dir, out, 'model.json'));
      expect(back.config).toEqual(ours.config);
      expect(back.preprocessing).toEqual(ours.preprocessing);
      back.getWeights().forEach((w, k) => expect(Buffer.from(w.values.buffer).equals(Buffer.from(ours.getWeights()[k].values.buffer)), w.name).toBe(true));
      expect(back.predictProbaSync(x.ours as never)).toEqual(expected);
      theirs.dispose();
      ours.dispose();
      back.dispose();
    });
  });

  it('refuses what tfjs-layers would compute differently, naming why', async () => {
    const gru = new SequenceClassifier({ input: { type: 'dense', features: F }, layers: [{ cell: 'gru', units: 4, resetAfter: true }], classes: 2 });
    await expect(gru.toTfjs(join(dir, 'refused-gru'))).rejects.toThrow(UnsupportedModelError);
    await expect(gru.toTfjs(join(dir, 'refused-gru'))).rejects.toThrow(/resetAfter: true.*reset_after/);
    const pooled = new SequenceClassifier({ input: { type: 'tokens', vocabSize: V, embeddingDim: 3 }, layers: [{ cell: 'lstm', units: 4 }], pooling: 'mean', classes: 2 });
    await expect(pooled.toTfjs(join(dir, 'refused-pool'))).rejects.toThrow(/ignores the mask/);
    gru.dispose();
    pooled.dispose();
  });
});

/**
 * Saves `theirs` with tfjs, re-encodes each float32 weight of the shard with `encode` (which
 * returns the new bytes and the manifest's quantization entry), then checks that tfjs's own
 * loader and rnn-node read the same model (predictions within 1e-5).
 */
async function checkReencoded(theirs: tf.LayersModel, name: string, encode: (values: Float32Array) => { bytes: Buffer; quantization: Record<string, unknown> }) {
  const path = await saveWithTfjs(theirs, name);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  const data = readFileSync(join(dir, name, 'model.weights.bin'));
  let offset = 0;
  const parts: Buffer[] = [];
  for (const spec of json.weightsManifest[0].weights) {
    const n = spec.shape.reduce((a: number, b: number) => a * b, 1);
    const { bytes, quantization } = encode(new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + 4 * n)));
    offset += 4 * n;
    parts.push(bytes);
    spec.quantization = { ...quantization, original_dtype: 'float32' };
  }
  writeFileSync(path, JSON.stringify(json));
  writeFileSync(join(dir, name, 'model.weights.bin'), Buffer.concat(parts));
  const reloaded = await loadWithTfjs(name);
  const ours = await SequenceClassifier.fromTfjs(path);
  const x = denseInput(5);
  const expected = tf.tidy(() => (reloaded.predict(x.theirs) as tf.Tensor).dataSync());
  expect(maxAbsDiff(ours.predictProbaSync(x.ours as never) as Float32Array, expected)).toBeLessThan(1e-5);
  ours.dispose();
  reloaded.dispose();
}

/** Affine quantization per tensor, as the converter does: q = round((w - min) / scale). */
function affine(values: Float32Array, levels: number, write: (out: Buffer, q: number, i: number) => void, bytesPer: number, dtype: string) {
  const min = Math.min(...values);
  const scale = (Math.max(...values) - min) / levels || 1;
  const bytes = Buffer.alloc(bytesPer * values.length);
  values.forEach((v, i) => write(bytes, Math.round((v - min) / scale), i));
  return { bytes, quantization: { dtype, min, scale } };
}

describe('formats tfjs cannot write here (documented transforms of a tfjs-written file)', () => {
  it('Keras 2 converter nesting (model_config) with a reset-after GRU matches PyTorch', async () => {
    // Transform: a GRU model saved by tfjs (reset-before) gets the Keras 2 converter's
    // topology nesting and keras_version, reset_after=true and Keras's sigmoid recurrent
    // activation (tfjs defaults to hard_sigmoid), a linear head, and the weights of the
    // PyTorch fixture's first case (Keras layout, bias [2, 3u]).
    const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gru-reset-after.json'), 'utf8')).cases[0];
    const features = fixture.config.input.features;
    const units = fixture.config.layers[0].units;
    const theirs = seq([tf.layers.gru({ units, inputShape: [null, features] }), tf.layers.dense({ units: fixture.config.classes })]);
    const path = await saveWithTfjs(theirs, 'keras2-source');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    const topology = json.modelTopology;
    topology.config.layers[0].config.reset_after = true;
    topology.config.layers[0].config.recurrent_activation = 'sigmoid';
    const manifest = json.weightsManifest[0];
    manifest.weights[2].shape = [2, 3 * units];
    const keras2 = { ...json, modelTopology: { keras_version: '2.15.0', backend: 'tensorflow', model_config: { class_name: topology.class_name, config: topology.config } } };
    const out = join(dir, 'keras2');
    mkdirSync(out);
    writeFileSync(join(out, 'model.json'), JSON.stringify(keras2));
    writeFileSync(join(out, 'model.weights.bin'), Buffer.concat(fixture.weights.map((w: { values: number[] }) => Buffer.from(Float32Array.from(w.values).buffer))));
    const ours = await SequenceClassifier.fromTfjs(join(out, 'model.json'));
    expect(ours.config.layers[0]).toMatchObject({ cell: 'gru', resetAfter: true });
    const x = { values: Float32Array.from(fixture.x.values), shape: fixture.x.shape, lengths: Int32Array.from(fixture.x.lengths) };
    expect(maxAbsDiff(ours.predictProbaSync(x) as Float32Array, fixture.probabilities)).toBeLessThan(1e-5);
    ours.dispose();
    theirs.dispose();
  });

  it('uint8-quantized shards: tfjs and rnn-node read the same dequantized weights', async () => {
    // Transform: a tfjs-written LSTM's float32 weights quantized to uint8 per tensor.
    const theirs = seq([tf.layers.lstm({ units: 6, inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]);
    randomize(theirs, 77);
    await checkReencoded(theirs, 'quantized', (values) => affine(values, 255, (out, q, i) => out.writeUInt8(q, i), 1, 'uint8'));
    theirs.dispose();
  });
});

/**
 * Keras 3 topologies. Nothing here writes them (tfjs-layers cannot even read them), so each
 * test is a documented transform: the weights are a real writer's (tfjs's save, or the PyTorch
 * fixture), the topology is Keras 3's own form, taken from public files:
 *   - danielhyuncoder/PolitiSenseAPI, main.py: a Keras 3 `model.to_json()` of Sequential
 *     [InputLayer(batch_shape), Embedding, LSTM(relu), Dense, Dense(sigmoid)], every layer with
 *     `module`/`registered_name`/`build_config`, initialisers as objects;
 *   - the tfjs converter's Keras 3 output (`keras_version` 3.x, `model_config` nesting,
 *     DTypePolicy objects as dtypes), e.g. a converted model.json embedded in public code;
 *   - keras/src/layers/rnn/bidirectional.py `get_config`: Keras 3 always writes the
 *     Bidirectional's `backward_layer` (the forward layer's copy with go_backwards=true);
 *   - keras/src/saving/serialization_lib.py: Functional inbound nodes as
 *     `{args: [{class_name: "__keras_tensor__", config: {keras_history: [layer, 0, 0]}}]}`.
 * Sizes are shrunk to the test's, and the source's second Dense (sigmoid) is left out (a
 * one-unit sigmoid head is refused, as any non-softmax activation).
 */
describe('Keras 3 topologies (documented transforms)', () => {
  const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const init = (class_name: string, config: Record<string, unknown> = { seed: null }) => ({ module: 'keras.initializers', class_name, config, registered_name: null });
  const layer = (class_name: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    module: 'keras.layers', class_name, config: { trainable: true, dtype: policy, ...config }, registered_name: null, ...extra,
  });
  const rnn = (class_name: string, name: string, units: number, more: Record<string, unknown> = {}) => ({
    name, units, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, return_sequences: false, return_state: false, go_backwards: false, stateful: false, unroll: false,
    kernel_initializer: init('GlorotUniform'), recurrent_initializer: init('OrthogonalInitializer', { gain: 1.0, seed: null }), bias_initializer: init('Zeros', {}),
    dropout: 0.0, recurrent_dropout: 0.0, seed: null, ...(class_name === 'LSTM' ? { unit_forget_bias: true } : {}), ...more,
  });
  /** Bidirectional as Keras 3 writes it: the forward layer and its mirror. */
  const bidirectional = (name: string, inner: string, config: Record<string, unknown>, merge_mode: string, extra: Record<string, unknown> = {}) =>
    layer('Bidirectional', {
      name, merge_mode,
      layer: layer(inner, { ...config, name: `forward_${config.name}` }),
      backward_layer: layer(inner, { ...config, name: `backward_${config.name}`, go_backwards: true }),
    }, extra);
  /** A converter-style model.json (Keras 3.10 → TensorFlow.js Converter 4.22). */
  const modelJson = (modelConfig: Record<string, unknown>, weights: { name: string; shape: number[] }[]) => ({
    format: 'layers-model', generatedBy: 'keras v3.10.0', convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: { keras_version: '3.10.0', backend: 'tensorflow', model_config: modelConfig },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: weights.map((w) => ({ ...w, dtype: 'float32' })) }],
  });
  /** Writes model.json and one shard; returns the model.json path. */
  function write(name: string, json: unknown, shard: Buffer): string {
    const out = join(dir, name);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'model.json'), JSON.stringify(json));
    writeFileSync(join(out, 'group1-shard1of1.bin'), shard);
    return join(out, 'model.json');
  }
  /** The weights tfjs saved for `theirs`, under Keras 3's names. */
  async function tfjsWeights(theirs: tf.LayersModel, name: string, names: string[]) {
    const saved = JSON.parse(readFileSync(await saveWithTfjs(theirs, name), 'utf8'));
    const specs = saved.weightsManifest[0].weights as { shape: number[] }[];
    expect(specs.length).toBe(names.length);
    return { shard: readFileSync(join(dir, name, 'model.weights.bin')), weights: specs.map((w, i) => ({ name: names[i], shape: w.shape })) };
  }
  const keras3Tensor = (history: string, shape: (number | null)[]) => ({ class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [history, 0, 0] } });

  it('Sequential (after PolitiSenseAPI): InputLayer batch_shape, Embedding, LSTM relu, Dense logits; within 1e-5 of tfjs', async () => {
    const theirs = seq([tf.layers.embedding({ inputDim: V, outputDim: 4, inputLength: T }), tf.layers.lstm({ units: 5, activation: 'relu', recurrentActivation: 'sigmoid' }), tf.layers.dense({ units: C })]);
    randomize(theirs, 301);
    const { shard, weights } = await tfjsWeights(theirs, 'keras3-seq-source', ['sequential/embedding/embeddings', 'sequential/lstm/lstm_cell/kernel', 'sequential/lstm/lstm_cell/recurrent_kernel', 'sequential/lstm/lstm_cell/bias', 'sequential/dense/kernel', 'sequential/dense/bias']);
    const topology = {
      module: 'keras', class_name: 'Sequential', registered_name: null, build_config: { input_shape: [null, T] },
      config: {
        name: 'sequential', trainable: true, dtype: policy, build_input_shape: [null, T],
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, T], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null },
          layer('Embedding', { name: 'embedding', input_dim: V, output_dim: 4, embeddings_initializer: init('RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }), embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null, mask_zero: false }, { build_config: { input_shape: [null, T] } }),
          layer('LSTM', rnn('LSTM', 'lstm', 5, { activation: 'relu', zero_output_for_mask: false }), { build_config: { input_shape: [null, T, 4] } }),
          layer('Dense', { name: 'dense', units: C, activation: 'linear', use_bias: true, kernel_initializer: init('GlorotUniform'), bias_initializer: init('Zeros', {}) }, { build_config: { input_shape: [null, 5] } }),
        ],
      },
    };
    const ours = await SequenceClassifier.fromTfjs(write('keras3-seq', modelJson(topology, weights), shard));
    expect(ours.config).toMatchObject({ input: { type: 'tokens', vocabSize: V, embeddingDim: 4, maskZero: false }, layers: [{ cell: 'lstm', units: 5, activation: 'relu', recurrentActivation: 'sigmoid' }] });
    const ids = Int32Array.from({ length: B * T }, (_, k) => (k * 5) % V);
    const expected = tf.tidy(() => tf.softmax(theirs.predict(tf.tensor2d(ids, [B, T], 'float32')) as tf.Tensor2D).dataSync());
    const diff = maxAbsDiff(ours.predictProbaSync({ values: ids, shape: [B, T] }) as Float32Array, expected);
    console.log(`parity import | Keras 3 Sequential: Embedding + LSTM relu, logits | ${diff.toExponential(1)}`);
    expect(diff).toBeLessThan(1e-5);
    ours.dispose();
    theirs.dispose();
  });

  it('Functional with __keras_tensor__ inbound nodes and a Bidirectional(LSTM, sum) that has its backward_layer; within 1e-5 of tfjs', async () => {
    const theirs = seq([tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 5, recurrentActivation: 'sigmoid' }) as never, mergeMode: 'sum', inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]);
    randomize(theirs, 302);
    const names = ['kernel', 'recurrent_kernel', 'bias'];
    const { shard, weights } = await tfjsWeights(theirs, 'keras3-fn-source', [
      ...names.map((n) => `bidirectional/forward_lstm/lstm_cell/${n}`), ...names.map((n) => `bidirectional/backward_lstm/lstm_cell/${n}`), 'dense/kernel', 'dense/bias']);
    const topology = {
      module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
      config: {
        name: 'functional', trainable: true,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, null, F], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null, name: 'input_layer', inbound_nodes: [] },
          { ...bidirectional('bidirectional', 'LSTM', rnn('LSTM', 'lstm', 5), 'sum', { build_config: { input_shape: [null, null, F] } }), name: 'bidirectional', inbound_nodes: [{ args: [keras3Tensor('input_layer', [null, null, F])], kwargs: { mask: null } }] },
          { ...layer('Dense', { name: 'dense', units: C, activation: 'softmax', use_bias: true }), name: 'dense', inbound_nodes: [{ args: [keras3Tensor('bidirectional', [null, 5])], kwargs: {} }] },
        ],
        input_layers: [['input_layer', 0, 0]],
        output_layers: [['dense', 0, 0]],
      },
    };
    const path = write('keras3-fn', modelJson(topology, weights), shard);
    const ours = await SequenceClassifier.fromTfjs(path);
    expect(ours.config.layers).toMatchObject([{ cell: 'lstm', bidirectional: true, mergeMode: 'sum' }]);
    const x = denseInput(303);
    const expected = tf.tidy(() => (theirs.predict(x.theirs) as tf.Tensor).dataSync());
    const diff = maxAbsDiff(ours.predictProbaSync(x.ours as never) as Float32Array, expected);
    console.log(`parity import | Keras 3 Functional: bidirectional LSTM sum with backward_layer | ${diff.toExponential(1)}`);
    expect(diff).toBeLessThan(1e-5);
    ours.dispose();
    theirs.dispose();

    // A backward_layer that is not the forward layer's mirror is refused, naming what differs.
    const edited = (edit: (backward: Record<string, unknown>) => void) => {
      const json = JSON.parse(readFileSync(path, 'utf8'));
      edit(json.modelTopology.model_config.config.layers[1].config.backward_layer);
      return write(`keras3-fn-${Math.random().toString(36).slice(2)}`, json, shard);
    };
    await expect(SequenceClassifier.fromTfjs(edited((b) => ((b.config as Record<string, unknown>).units = 6)))).rejects.toThrow(/layer "bidirectional" \(Bidirectional\): backward_layer's units 6 differs from the forward layer's 5/);
    await expect(SequenceClassifier.fromTfjs(edited((b) => ((b.config as Record<string, unknown>).go_backwards = false)))).rejects.toThrow(/backward_layer does not have go_backwards=true/);
    await expect(SequenceClassifier.fromTfjs(edited((b) => (b.class_name = 'GRU')))).rejects.toThrow(UnsupportedModelError);
  });

  it("Keras 3's default reset-after GRU, stacked Bidirectional with backward_layers, ragged: matches PyTorch", async () => {
    // Weights and expected probabilities: the PyTorch fixture (Keras layout, bias [2, 3u]).
    const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'gru-reset-after.json'), 'utf8')).cases[2];
    const features = fixture.config.input.features;
    const units = fixture.config.layers[0].units;
    const gru = (name: string, returnSequences: boolean) => rnn('GRU', name, units, { reset_after: true, return_sequences: returnSequences });
    const topology = {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: {
        name: 'sequential', trainable: true, dtype: policy,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, null, features], dtype: 'float32', sparse: false, ragged: false, name: 'input_layer' }, registered_name: null },
          bidirectional('bidirectional', 'GRU', gru('gru', true), 'concat'),
          bidirectional('bidirectional_1', 'GRU', gru('gru_1', false), 'concat'),
          layer('Dense', { name: 'dense', units: fixture.config.classes, activation: 'linear', use_bias: true }),
        ],
      },
    };
    const weights = (fixture.weights as { shape: number[] }[]).map((w, i) => ({ name: `w${i}`, shape: w.shape }));
    const shard = Buffer.concat(fixture.weights.map((w: { values: number[] }) => Buffer.from(Float32Array.from(w.values).buffer)));
    const ours = await SequenceClassifier.fromTfjs(write('keras3-gru', modelJson(topology, weights), shard));
    expect(ours.config.layers).toMatchObject([{ cell: 'gru', resetAfter: true, bidirectional: true }, { cell: 'gru', resetAfter: true, bidirectional: true }]);
    const x = { values: Float32Array.from(fixture.x.values), shape: fixture.x.shape, lengths: Int32Array.from(fixture.x.lengths) };
    const diff = maxAbsDiff(ours.predictProbaSync(x) as Float32Array, fixture.probabilities);
    console.log(`parity import | Keras 3 stacked bidirectional reset-after GRU vs PyTorch | ${diff.toExponential(1)}`);
    expect(diff).toBeLessThan(1e-5);
    ours.dispose();
  });
});

describe('float16 and uint16 shards (documented transforms of a tfjs-written file)', () => {
  /** Half-precision bits of a float (round to nearest even), as the converter writes them. */
  function toHalf(value: number): number {
    const f32 = new Float32Array([value]);
    const bits = new Uint32Array(f32.buffer)[0];
    const sign = (bits >>> 16) & 0x8000;
    let exponent = ((bits >>> 23) & 0xff) - 127 + 15;
    let mantissa = bits & 0x7fffff;
    if (exponent <= 0) return sign; // tiny weights flush to zero here
    if (exponent >= 31) return sign | 0x7c00;
    const round = mantissa & 0x1fff;
    mantissa >>>= 13;
    if (round > 0x1000 || (round === 0x1000 && mantissa & 1)) {
      mantissa++;
      if (mantissa === 0x400) {
        mantissa = 0;
        exponent++;
      }
    }
    return sign | (exponent << 10) | mantissa;
  }

  for (const kind of ['float16', 'uint16'] as const) {
    it(`${kind}: tfjs and rnn-node read the same weights`, async () => {
      const theirs = seq([tf.layers.gru({ units: 5, inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]);
      randomize(theirs, kind === 'float16' ? 91 : 92);
      await checkReencoded(theirs, `q-${kind}`, (values) => {
        if (kind === 'uint16') return affine(values, 65535, (out, q, i) => out.writeUInt16LE(q, 2 * i), 2, 'uint16');
        const bytes = Buffer.alloc(2 * values.length);
        values.forEach((v, i) => bytes.writeUInt16LE(toHalf(v), 2 * i));
        return { bytes, quantization: { dtype: 'float16' } };
      });
      theirs.dispose();
    });
  }
});

describe('bad files and unsupported models', () => {
  let good = '';
  beforeAll(async () => {
    const m = seq([tf.layers.lstm({ units: 4, inputShape: [null, F] }), tf.layers.dense({ units: C, activation: 'softmax' })]);
    good = await saveWithTfjs(m, 'good');
    m.dispose();
  });

  function variant(name: string, edit: (json: Record<string, unknown>) => void, weights?: Buffer): string {
    const out = join(dir, name);
    mkdirSync(out, { recursive: true });
    const json = JSON.parse(readFileSync(good, 'utf8'));
    edit(json);
    writeFileSync(join(out, 'model.json'), JSON.stringify(json));
    writeFileSync(join(out, 'model.weights.bin'), weights ?? readFileSync(join(dir, 'good', 'model.weights.bin')));
    return join(out, 'model.json');
  }

  it('a truncated model.json, a missing or short shard, a shape mismatch: ModelFileError naming it', async () => {
    const truncated = join(dir, 'truncated.json');
    writeFileSync(truncated, readFileSync(good, 'utf8').slice(0, 200));
    await expect(SequenceClassifier.fromTfjs(truncated)).rejects.toThrow(ModelFileError);
    await expect(SequenceClassifier.fromTfjs(truncated)).rejects.toThrow(/truncated\.json: not valid JSON/);
    const missing = variant('missing-shard', (j) => ((j.weightsManifest as { paths: string[] }[])[0].paths = ['./nope.bin']));
    await expect(SequenceClassifier.fromTfjs(missing)).rejects.toThrow(/weight shard \.\/nope\.bin is missing/);
    const short = variant('short-shard', () => undefined, readFileSync(join(dir, 'good', 'model.weights.bin')).subarray(0, 100));
    await expect(SequenceClassifier.fromTfjs(short)).rejects.toThrow(/hold 100 bytes; weight .* needs bytes/);
    // The same number of values in another shape: the shards add up, the shape does not fit.
    const shape = variant('bad-shape', (j) => ((j.weightsManifest as { weights: { shape: number[] }[] }[])[0].weights[3].shape = [2, 8]));
    await expect(SequenceClassifier.fromTfjs(shape)).rejects.toThrow(/has shape \[2, 8\]; dense\/kernel needs \[4, 4\]/);
    const escape = variant('escape', (j) => ((j.weightsManifest as { paths: string[] }[])[0].paths = ['../../etc/passwd']));
    await expect(SequenceClassifier.fromTfjs(escape)).rejects.toThrow(/leaves the model's folder/);
    // A sibling folder whose name starts like this one's is outside it too.
    mkdirSync(join(dir, 'sibling x'), { recursive: true });
    writeFileSync(join(dir, 'sibling x', 'w.bin'), readFileSync(join(dir, 'good', 'model.weights.bin')));
    const prefix = variant('sibling', (j) => ((j.weightsManifest as { paths: string[] }[])[0].paths = ['../sibling x/w.bin']));
    await expect(SequenceClassifier.fromTfjs(prefix)).rejects.toThrow(/leaves the model's folder/);
    await expect(SequenceClassifier.fromTfjs(join(dir, 'nothing.json'))).rejects.toThrow(/cannot read \(ENOENT\)/);
  });

  it('an unsupported layer or option: UnsupportedModelError naming the layer, its class and why', async () => {
    const conv = seq([tf.layers.conv1d({ filters: 2, kernelSize: 2, inputShape: [T, F] }), tf.layers.flatten(), tf.layers.dense({ units: 2, activation: 'softmax' })]);
    const convPath = await saveWithTfjs(conv, 'conv');
    await expect(SequenceClassifier.fromTfjs(convPath)).rejects.toThrow(UnsupportedModelError);
    await expect(SequenceClassifier.fromTfjs(convPath)).rejects.toThrow(/layer "conv1d.*" \(Conv1D\): this layer is not supported/);
    conv.dispose();
    const stateful = variant('return-state', (j) => (((j.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } }).config.layers[0].config.return_state = true)));
    await expect(SequenceClassifier.fromTfjs(stateful)).rejects.toThrow(/\(LSTM\): return_state=true is not supported/);
    const tanhHead = variant('tanh-head', (j) => (((j.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } }).config.layers[1].config.activation = 'tanh')));
    await expect(SequenceClassifier.fromTfjs(tanhHead)).rejects.toThrow(/\(Dense\): activation "tanh"/);
    const keras3 = variant('keras3-hard-sigmoid', (j) => ((j.modelTopology as Record<string, unknown>).keras_version = '3.4.1'));
    await expect(SequenceClassifier.fromTfjs(keras3)).rejects.toThrow(/Keras 3's hard_sigmoid is x\/6 \+ 0\.5/);
    const masked = seq([tf.layers.embedding({ inputDim: V, outputDim: 3, maskZero: true, inputLength: T }), tf.layers.lstm({ units: 3, returnSequences: true }), tf.layers.globalAveragePooling1d(), tf.layers.dense({ units: 2, activation: 'softmax' })]);
    const maskedPath = await saveWithTfjs(masked, 'masked-pooling');
    await expect(SequenceClassifier.fromTfjs(maskedPath)).rejects.toThrow(/global pooling ignores the mask/);
    masked.dispose();
    type Topology = { keras_version?: string; config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    const layersOf = (j: Record<string, unknown>) => (j.modelTopology as Topology).config.layers;
    const rnn = variant('stateful', (j) => (layersOf(j)[0].config.stateful = true));
    await expect(SequenceClassifier.fromTfjs(rnn)).rejects.toThrow(/\(LSTM\): stateful=true is not supported/);
    const timeMajor = variant('time-major', (j) => (layersOf(j)[0].config.time_major = true));
    await expect(SequenceClassifier.fromTfjs(timeMajor)).rejects.toThrow(/\(LSTM\): time_major=true is not supported/);
    // Softmax twice (a softmax Dense, then Activation('softmax')) is not what rnn-node computes.
    const twice = variant('softmax-twice', (j) => layersOf(j).push({ class_name: 'Activation', config: { name: 'activation', activation: 'softmax' } }));
    await expect(SequenceClassifier.fromTfjs(twice)).rejects.toThrow(/\(Activation\): Activation\("softmax"\) after a Dense that already applies softmax/);
  });

  it('what Keras computes differently is refused too: masked GlobalMaxPooling1D, merge_mode None, a graph read out before its last layer, a non-linear graph', async () => {
    // Keras's GlobalMaxPooling1D (2 and 3) has no mask argument: it pools the padded steps.
    const pooled = seq([tf.layers.embedding({ inputDim: V, outputDim: 3, maskZero: true, inputLength: T }), tf.layers.lstm({ units: 3, returnSequences: true }), tf.layers.globalMaxPooling1d({}), tf.layers.dense({ units: 2, activation: 'softmax' })]);
    const json = JSON.parse(readFileSync(await saveWithTfjs(pooled, 'keras-max-pool'), 'utf8'));
    pooled.dispose();
    json.modelTopology.keras_version = '2.15.0';
    writeFileSync(join(dir, 'keras-max-pool', 'model.json'), JSON.stringify(json));
    await expect(SequenceClassifier.fromTfjs(join(dir, 'keras-max-pool', 'model.json'))).rejects.toThrow(/\(GlobalMaxPooling1D\): GlobalMaxPooling1D ignores the mask \(in Keras and tfjs\)/);
    // The same layers unmasked are imported.
    json.modelTopology.config.layers[0].config.mask_zero = false;
    writeFileSync(join(dir, 'keras-max-pool', 'model.json'), JSON.stringify(json));
    (await SequenceClassifier.fromTfjs(join(dir, 'keras-max-pool', 'model.json'))).dispose();

    const bi = seq([tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3 }) as never, inputShape: [null, F] }), tf.layers.dense({ units: 2, activation: 'softmax' })]);
    const biJson = JSON.parse(readFileSync(await saveWithTfjs(bi, 'merge-none'), 'utf8'));
    bi.dispose();
    biJson.modelTopology.config.layers[0].config.merge_mode = null;
    writeFileSync(join(dir, 'merge-none', 'model.json'), JSON.stringify(biJson));
    await expect(SequenceClassifier.fromTfjs(join(dir, 'merge-none', 'model.json'))).rejects.toThrow(/\(Bidirectional\): merge_mode None/);

    // Functional graphs: the output must be the chain's last layer, and each layer's input the one before.
    const input = tf.input({ shape: [null, F] });
    const h = tf.layers.lstm({ units: 4, name: 'lstm_a' }).apply(input) as tf.SymbolicTensor;
    const fn = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'softmax', name: 'head' }).apply(h) as tf.SymbolicTensor });
    const fnJson = JSON.parse(readFileSync(await saveWithTfjs(fn, 'fn-outputs'), 'utf8'));
    fn.dispose();
    const write = (name: string, edit: (config: { output_layers: unknown[]; layers: { name: string; inbound_nodes: unknown[] }[] }) => void) => {
      const copy = JSON.parse(JSON.stringify(fnJson));
      edit(copy.modelTopology.config);
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, 'model.json'), JSON.stringify(copy));
      writeFileSync(join(dir, name, 'model.weights.bin'), readFileSync(join(dir, 'fn-outputs', 'model.weights.bin')));
      return join(dir, name, 'model.json');
    };
    await expect(SequenceClassifier.fromTfjs(write('fn-out-lstm', (c) => (c.output_layers = [['lstm_a', 0, 0]])))).rejects.toThrow(/the model's output is \[\["lstm_a",0,0\]\], not its last layer "head"/);
    await expect(SequenceClassifier.fromTfjs(write('fn-two-outputs', (c) => (c.output_layers = [['lstm_a', 0, 0], ['head', 0, 0]])))).rejects.toThrow(/2 outputs/);
    // The head reading the input and the LSTM: two inputs, not a chain.
    await expect(SequenceClassifier.fromTfjs(write('fn-nonlinear', (c) => (c.layers[2].inbound_nodes = [[[c.layers[0].name, 0, 0, {}], ['lstm_a', 0, 0, {}]]])))).rejects.toThrow(/layer "head" \(Dense\): not a linear graph: it has several inputs/);
    (await SequenceClassifier.fromTfjs(write('fn-ok', () => undefined))).dispose();
  });

  it('labels and a vocabulary given at import, checked', async () => {
    await expect(SequenceClassifier.fromTfjs(good, { labels: ['a', 'b'] })).rejects.toThrow(/Expected 4 labels/);
    const named = await SequenceClassifier.fromTfjs(good, { labels: ['w', 'x', 'y', 'z'] });
    expect(named.labels).toEqual(['w', 'x', 'y', 'z']);
    await expect(SequenceClassifier.fromTfjs(good, { vocabulary: ['<pad>', '<unk>'] })).rejects.toThrow(/no vocabulary for a model of dense input/);
    named.dispose();
  });

  it("a vocabulary's unknown token is found wherever it is; without one, tokens outside it are refused", async () => {
    const text = seq([tf.layers.embedding({ inputDim: 5, outputDim: 3, inputLength: T }), tf.layers.lstm({ units: 3 }), tf.layers.dense({ units: 2, activation: 'softmax' })]);
    const path = await saveWithTfjs(text, 'vocab');
    text.dispose();
    const { Preprocessor } = await import('../src/data/preprocessing');
    const encode = (model: SequenceClassifier, words: string) => Array.from(Preprocessor.fromJSON(model.preprocessing).encode([{ kind: 'text', text: words, line: 1 } as never]).x.values);
    // torchtext's order: <unk> at 0, <pad> at 1.
    const torchtext = await SequenceClassifier.fromTfjs(path, { vocabulary: ['<unk>', '<pad>', 'a', 'b', 'c'] });
    expect(encode(torchtext, 'abz')).toEqual([2, 3, 0]);
    const keras = await SequenceClassifier.fromTfjs(path, { vocabulary: ['', '[UNK]', 'a', 'b', 'c'] });
    expect(encode(keras, 'abz')).toEqual([2, 3, 1]);
    // None: 'z' is not silently read as id 1 ('a').
    const none = await SequenceClassifier.fromTfjs(path, { vocabulary: ['<pad>', 'a', 'b', 'c', 'd'] });
    expect(encode(none, 'abd')).toEqual([1, 2, 4]);
    expect(() => encode(none, 'abz')).toThrow(/token "z" is not in the model's vocabulary, which has no unknown token/);
    // Fine-tuning with token dropout needs an unknown token to drop tokens to.
    await expect(none.fit({ x: [[1, 2, 3]], y: [0] }, { augment: { tokenDropout: 0.2 } })).rejects.toThrow(/no unknown token to drop tokens to for options\.augment\.tokenDropout/);
    // It survives a save and load.
    const saved = join(dir, 'vocab-none.rnn');
    await none.save(saved);
    const loaded = await SequenceClassifier.load(saved);
    expect(() => encode(loaded, 'z')).toThrow(/no unknown token/);
    await expect(SequenceClassifier.fromTfjs(path, { vocabulary: ['<pad>', '<unk>', 'a', 'a', 'b'] })).rejects.toThrow(/Expected distinct tokens \(index = id\); "a" is there twice for options.vocabulary/);
    for (const m of [torchtext, keras, none, loaded]) m.dispose();
  });
});
