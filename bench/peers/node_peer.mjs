// Node peers for bench/run.mjs: rnn-node, @tensorflow/tfjs (cpu), tfjs-backend-wasm,
// onnxruntime-node (inference only, on the graph `model.toOnnx` writes for the same model) and,
// when installed, @tensorflow/tfjs-node. One measurement per process, printed as JSON.
//
//   node bench/peers/node_peer.mjs --peer rnn-node|tfjs-cpu|tfjs-wasm|tfjs-node|onnxruntime --mode train|infer|latency|concurrent
//        --cell lstm --units 128 --steps 28 --features 28 --classes 10 --batch 128
//        --infer-batch 1024 --threads 2 --seconds 3 [--vocab V --min-length L] [--precision float32|int8|bf16]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { callsPerSecond } from '../measure.mjs';

const require = createRequire(import.meta.url);
const { values: o } = parseArgs({
  options: {
    peer: { type: 'string', default: 'rnn-node' },
    mode: { type: 'string', default: 'train' },
    cell: { type: 'string', default: 'lstm' },
    units: { type: 'string', default: '128' },
    steps: { type: 'string', default: '28' },
    features: { type: 'string', default: '28' },
    classes: { type: 'string', default: '10' },
    batch: { type: 'string', default: '128' },
    'infer-batch': { type: 'string', default: '1024' },
    threads: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '3' },
    vocab: { type: 'string', default: '0' },
    'min-length': { type: 'string', default: '1' },
    precision: { type: 'string', default: 'float32' },
    // The low-precision kernel the peer was asked for (forced through the environment): a
    // CPU without it runs another, which is refused rather than measured under this name.
    kernel: { type: 'string', default: '' },
  },
});
const n = (k) => Number(o[k]);
const [units, steps, features, classes, threads, seconds, vocab] = ['units', 'steps', 'features', 'classes', 'threads', 'seconds', 'vocab'].map(n);
// concurrent: CONCURRENT_CALLS single-sequence calls issued at once (a server's load); the
// value is sequences/s over all of them, with the 99th percentile of the calls' latencies.
const CONCURRENT_CALLS = 2000;
const batchSize = o.mode === 'train' ? n('batch') : o.mode === 'infer' ? n('infer-batch') : o.mode === 'concurrent' ? CONCURRENT_CALLS : 1;

let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

function makeBatch(count) {
  const labels = Int32Array.from({ length: count }, () => Math.floor(random() * classes));
  if (vocab) {
    const lengths = Int32Array.from({ length: count }, () => n('min-length') + Math.floor(random() * (steps - n('min-length') + 1)));
    const ids = new Int32Array(count * steps);
    lengths.forEach((len, s) => {
      for (let t = 0; t < len; t++) ids[s * steps + t] = 1 + Math.floor(random() * (vocab - 1));
    });
    return { x: { values: ids, shape: [count, steps], lengths }, labels };
  }
  return { x: { values: Float32Array.from({ length: count * steps * features }, random), shape: [count, steps, features] }, labels };
}

const rate = (step) => callsPerSecond(step, seconds);

/** Sequence i of a makeBatch() batch, as a batch of one. */
function single(x, i) {
  const per = x.values.length / x.shape[0];
  const values = x.values.subarray(i * per, (i + 1) * per);
  return x.lengths ? { values, shape: [1, ...x.shape.slice(1)], lengths: x.lengths.subarray(i, i + 1) } : { values, shape: [1, ...x.shape.slice(1)] };
}

/**
 * Sequences/s of `call` run on every sequence at once (all calls in flight together), and
 * the 99th percentile latency of the calls in the last round.
 */
async function concurrently(count, call) {
  let latencies = new Float64Array(count);
  const round = async () => {
    latencies = new Float64Array(count);
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const started = performance.now();
        await call(i);
        latencies[i] = performance.now() - started;
      }),
    );
  };
  const value = (await rate(round)) * count;
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return { value, p99Ms: sorted[Math.min(count - 1, Math.floor(0.99 * count))] };
}

async function rnnNode() {
  const { SequenceClassifier, setNumThreads, backendInfo } = require('../../dist/index.js');
  setNumThreads(threads);
  const source = new SequenceClassifier({
    input: vocab ? { type: 'tokens', vocabSize: vocab, embeddingDim: features } : { type: 'dense', features },
    layers: [{ cell: o.cell, units }],
    classes,
  });
  // int8/bf16: the same model quantized (inference only; its fit throws, reported as such).
  const model = o.precision === 'float32' ? source : await source.quantize({ type: o.precision });
  const { x, labels } = makeBatch(batchSize);
  const info = backendInfo();
  const running = o.precision === 'bf16' ? info.bf16Kernel : info.int8Kernel;
  if (o.kernel && running !== o.kernel) throw new Error(`no ${o.kernel} kernel here (the ${o.precision} model would run on ${running})`);
  let value;
  if (o.mode === 'train') value = (await rate(() => model.fit({ x, y: labels }, { epochs: 1, batchSize, shuffle: false }))) * batchSize;
  else if (o.mode === 'infer') value = (await rate(() => model.predictProba(x, { batchSize }))) * batchSize;
  else if (o.mode === 'concurrent') {
    // Dynamic batching, as a server would turn it on (bench/BATCHING.md has the full study).
    if (o.precision !== 'float32') throw new Error('concurrent mode is measured for float32 only');
    model.setBatching({ maxDelayMs: 2, maxBatchSize: 256 });
    const singles = Array.from({ length: batchSize }, (_, i) => single(x, i));
    const r = await concurrently(batchSize, (i) => model.predictProba(singles[i]));
    return { version: require('../../package.json').version, detail: `${info.variant} binary, ${info.simd.split(',')[0]}, OpenMP ${info.openmp}`, value: r.value, p99Ms: r.p99Ms };
  } else value = 1000 / (await rate(() => model.predictProbaSync(x)));
  return { version: require('../../package.json').version, detail: `${info.variant} binary, ${info.simd.split(',')[0]}, OpenMP ${info.openmp}${o.precision === 'int8' ? `, int8 kernel ${info.int8Kernel}` : o.precision === 'bf16' ? `, bf16 kernel ${info.bf16Kernel}` : ''}`, value };
}

async function tfjs(backend) {
  let tf;
  if (backend === 'tensorflow') tf = require('@tensorflow/tfjs-node');
  else {
    tf = require('@tensorflow/tfjs');
    if (backend === 'wasm') {
      const wasm = require('@tensorflow/tfjs-backend-wasm');
      wasm.setThreadsCount?.(1);
    }
  }
  await tf.setBackend(backend);
  await tf.ready();
  const model = tf.sequential();
  if (vocab) model.add(tf.layers.embedding({ inputDim: vocab, outputDim: features, maskZero: true, inputLength: steps }));
  const layer = { units, ...(vocab ? {} : { inputShape: [steps, features] }) };
  // tfjs has only the reset-before GRU (Keras reset_after=false): the closest equivalent.
  model.add(o.cell === 'gru' ? tf.layers.gru(layer) : o.cell === 'rnn' ? tf.layers.simpleRNN(layer) : tf.layers.lstm(layer));
  model.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  const { x, labels } = makeBatch(batchSize);
  const xt = vocab ? tf.tensor2d(x.values, x.shape, 'float32') : tf.tensor3d(x.values, x.shape);
  const yt = tf.tensor1d(Float32Array.from(labels));
  let value;
  if (o.mode === 'train') value = (await rate(() => model.trainOnBatch(xt, yt))) * batchSize;
  else if (o.mode === 'infer') value = (await rate(() => tf.tidy(() => model.predict(xt).dataSync()))) * batchSize;
  else value = 1000 / (await rate(() => tf.tidy(() => model.predict(xt).dataSync())));
  return { version: tf.version.tfjs, detail: `backend ${tf.getBackend()}`, value };
}

/** onnxruntime-node running the ONNX graph of the same model (intra-op threads = --threads). */
async function onnxruntime() {
  if (o.mode === 'train') throw new Error('onnxruntime-node does not train (inference only)');
  const ort = require('onnxruntime-node');
  const { SequenceClassifier } = require('../../dist/index.js');
  const { tmpdir } = require('node:os');
  const { join } = require('node:path');
  const { rmSync } = require('node:fs');
  const source = new SequenceClassifier({
    input: vocab ? { type: 'tokens', vocabSize: vocab, embeddingDim: features } : { type: 'dense', features },
    layers: [{ cell: o.cell, units }],
    classes,
  });
  // int8/bf16: the same model quantized (inference only; its fit throws, reported as such).
  const model = o.precision === 'float32' ? source : await source.quantize({ type: o.precision });
  const path = join(tmpdir(), `rnn-node-bench-${process.pid}.onnx`);
  await model.toOnnx(path);
  model.dispose();
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  rmSync(path, { force: true });
  const { x } = makeBatch(batchSize);
  const count = x.shape[0];
  const lengths = x.lengths ?? new Int32Array(count).fill(steps);
  const feeds = {
    x: vocab ? new ort.Tensor('int64', BigInt64Array.from(x.values, (v) => BigInt(v)), x.shape) : new ort.Tensor('float32', x.values, x.shape),
    lengths: new ort.Tensor('int32', lengths, [count]),
  };
  let value, p99Ms;
  if (o.mode === 'concurrent') {
    // Every call a batch of one, all in flight at once (onnxruntime has no request batching).
    const feedsOf = (i) => {
      const one = single({ ...x, lengths }, i);
      return {
        x: vocab ? new ort.Tensor('int64', BigInt64Array.from(one.values, (v) => BigInt(v)), one.shape) : new ort.Tensor('float32', one.values, one.shape),
        lengths: new ort.Tensor('int32', one.lengths, [1]),
      };
    };
    const singles = Array.from({ length: count }, (_, i) => feedsOf(i));
    ({ value, p99Ms } = await concurrently(count, (i) => session.run(singles[i])));
  } else value = o.mode === 'infer' ? (await rate(() => session.run(feeds))) * batchSize : 1000 / (await rate(() => session.run(feeds)));
  await session.release();
  return { version: require('onnxruntime-node/package.json').version, detail: `the graph model.toOnnx writes, intra-op threads as each row says, interOp 1, sequential`, value, p99Ms };
}

const run = { 'rnn-node': rnnNode, 'tfjs-cpu': () => tfjs('cpu'), 'tfjs-wasm': () => tfjs('wasm'), 'tfjs-node': () => tfjs('tensorflow'), onnxruntime }[o.peer];
if (!run) {
  console.error(`unknown peer ${o.peer}`);
  process.exit(2);
}
const originalWarn = console.warn;
console.warn = () => {}; // tfjs prints backend advice on stdout/stderr; keep the JSON line clean
console.log = ((log) => (...args) => (typeof args[0] === 'string' && args[0].startsWith('{') ? log(...args) : undefined))(console.log);
const result = await run();
console.warn = originalWarn;
// Peak resident set of this process (resourceUsage reports kilobytes).
console.log(JSON.stringify({ peer: o.peer, mode: o.mode, threads, ...result, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
