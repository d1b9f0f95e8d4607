/**
 * Numeric parity with @tensorflow/tfjs layers (cpu backend) given identical weights, set
 * through setWeights: class probabilities within 1e-5 absolute, parameter gradients
 * (tfjs variableGrads of the same loss) within 1e-4 relative error per tensor.
 * Shapes are non-square on purpose (features, units, classes, batch and steps differ).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SequenceClassifier, type LayerConfig, type SequenceClassifierConfig } from '../src/index';
import { SeededRandom } from '../src/util/random';
import { maxAbsDiff, randomFloats, relativeError } from './helpers';

const BATCH = 6;
const STEPS = 7;
const FEATURES = 5;
const CLASSES = 4;
const VOCAB = 13;
const EMBEDDING = 6;

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tf.disposeVariables());

/** The tfjs Sequential model equivalent to a rnn-node config. */
function tfjsModel(config: SequenceClassifierConfig): tf.Sequential {
  const model = tf.sequential();
  const input = config.input;
  const layers = config.layers;
  if (input.type === 'tokens') {
    model.add(tf.layers.embedding({ inputDim: input.vocabSize, outputDim: input.embeddingDim, maskZero: true, inputLength: STEPS }));
  }
  layers.forEach((l: LayerConfig, i: number) => {
    const returnSequences = i < layers.length - 1 || (config.pooling ?? 'last') !== 'last';
    const common = {
      units: l.units,
      returnSequences,
      activation: l.activation ?? 'tanh',
      ...(i === 0 && input.type === 'dense' ? { inputShape: [STEPS, input.features] } : {}),
    };
    const cell =
      l.cell === 'lstm'
        ? tf.layers.lstm({ ...common, recurrentActivation: l.recurrentActivation ?? 'sigmoid' })
        : l.cell === 'gru'
          ? tf.layers.gru({ ...common, recurrentActivation: l.recurrentActivation ?? 'sigmoid' })
          : tf.layers.simpleRNN(common);
    model.add(
      l.bidirectional
        ? tf.layers.bidirectional({
            layer: cell as never,
            mergeMode: 'concat',
            ...(i === 0 && input.type === 'dense' ? { inputShape: [STEPS, input.features] } : {}),
          })
        : cell,
    );
  });
  if (config.pooling === 'mean') model.add(tf.layers.globalAveragePooling1d());
  if (config.pooling === 'max') model.add(tf.layers.globalMaxPooling1d({}));
  model.add(tf.layers.dense({ units: CLASSES }));
  return model;
}

interface Inputs {
  rnnNode: { values: Float32Array | Int32Array; shape: number[] };
  tfjs: tf.Tensor;
  labels: Int32Array;
}

function makeInputs(config: SequenceClassifierConfig, seed: number): Inputs {
  const rng = new SeededRandom(seed);
  const labels = Int32Array.from({ length: BATCH }, () => Math.floor(rng.next() * CLASSES));
  if (config.input.type === 'dense') {
    const values = randomFloats(BATCH * STEPS * FEATURES, seed);
    return { rnnNode: { values, shape: [BATCH, STEPS, FEATURES] }, tfjs: tf.tensor3d(values, [BATCH, STEPS, FEATURES]), labels };
  }
  // Ragged token sequences, post-padded with 0 (masked in both libraries).
  const lengths = [7, 3, 5, 1, 6, 2];
  const ids = new Int32Array(BATCH * STEPS);
  lengths.forEach((len, s) => {
    for (let t = 0; t < len; t++) ids[s * STEPS + t] = 1 + Math.floor(rng.next() * (VOCAB - 1));
  });
  return { rnnNode: { values: ids, shape: [BATCH, STEPS] }, tfjs: tf.tensor2d(ids, [BATCH, STEPS], 'float32'), labels };
}

/** Mean class-weighted cross-entropy, as rnn-node defines it (Keras's reduction). */
function tfjsLoss(logits: tf.Tensor, labels: Int32Array, weights: Float32Array): tf.Scalar {
  const logp = tf.logSoftmax(logits as tf.Tensor2D);
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
  const w = tf.tensor1d(Array.from(labels, (k) => weights[k]));
  return tf.neg(tf.mean(tf.mul(w, tf.sum(tf.mul(onehot, logp), 1)))) as tf.Scalar;
}

function checkParity(name: string, config: SequenceClassifierConfig) {
  it(name, () => {
    const ours = new SequenceClassifier({ ...config, classes: CLASSES, seed: 3 });
    // Perturb all weights so that biases are nonzero and every path matters.
    const weights = ours.getWeights().map((t, i) => {
      const noise = randomFloats(t.values.length, 100 + i, 0.3);
      return { ...t, values: t.values.map((v, k) => v + noise[k]) };
    });
    ours.setWeights(weights);
    const theirs = tfjsModel(config);
    const theirWeights = theirs.getWeights();
    expect(theirWeights.map((w) => w.shape)).toEqual(weights.map((w) => w.shape));
    theirs.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));

    const inputs = makeInputs(config, 17);
    const classWeights = new Float32Array([1, 0.5, 2, 1.5]);

    const ourProbs = ours.predictProbaSync(inputs.rnnNode) as Float32Array;
    const theirProbs = tf.tidy(() => tf.softmax(theirs.predict(inputs.tfjs) as tf.Tensor2D).dataSync());
    expect(maxAbsDiff(ourProbs, theirProbs)).toBeLessThan(1e-5);

    const ourGrads = ours.computeGradients({ x: inputs.rnnNode, y: inputs.labels }, { classWeight: classWeights });
    const variables = theirs.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => tfjsLoss(theirs.apply(inputs.tfjs, { training: false }) as tf.Tensor, inputs.labels, classWeights),
      variables,
    );
    expect(Math.abs(ourGrads.loss - value.dataSync()[0])).toBeLessThan(1e-5);
    ourGrads.gradients.forEach((g, i) => {
      const theirGrad = grads[variables[i].name].dataSync();
      const err = relativeError(g.values, theirGrad);
      expect(err, `${g.name}: relative error ${err}`).toBeLessThan(1e-4);
    });
    ours.dispose();
    theirs.dispose();
  });
}

const dense = { type: 'dense' as const, features: FEATURES };
const tokens = { type: 'tokens' as const, vocabSize: VOCAB, embeddingDim: EMBEDDING };

describe('parity with @tensorflow/tfjs layers', () => {
  checkParity('SimpleRNN tanh', { input: dense, layers: [{ cell: 'rnn', units: 8 }], classes: CLASSES });
  checkParity('SimpleRNN relu', { input: dense, layers: [{ cell: 'rnn', units: 8, activation: 'relu' }], classes: CLASSES });
  checkParity('LSTM sigmoid', { input: dense, layers: [{ cell: 'lstm', units: 9 }], classes: CLASSES });
  checkParity('LSTM hardSigmoid', { input: dense, layers: [{ cell: 'lstm', units: 9, recurrentActivation: 'hardSigmoid' }], classes: CLASSES });
  checkParity('GRU (resetAfter false)', { input: dense, layers: [{ cell: 'gru', units: 10, resetAfter: false }], classes: CLASSES });
  checkParity('GRU hardSigmoid (resetAfter false)', {
    input: dense,
    layers: [{ cell: 'gru', units: 10, resetAfter: false, recurrentActivation: 'hardSigmoid' }],
    classes: CLASSES,
  });
  checkParity('stacked LSTM -> GRU -> SimpleRNN', {
    input: dense,
    layers: [{ cell: 'lstm', units: 8 }, { cell: 'gru', units: 6, resetAfter: false }, { cell: 'rnn', units: 3 }],
    classes: CLASSES,
  });
  checkParity('bidirectional LSTM', { input: dense, layers: [{ cell: 'lstm', units: 8, bidirectional: true }], classes: CLASSES });
  checkParity('bidirectional GRU stacked on bidirectional LSTM', {
    input: dense,
    layers: [
      { cell: 'lstm', units: 6, bidirectional: true },
      { cell: 'gru', units: 3, bidirectional: true, resetAfter: false },
    ],
    classes: CLASSES,
  });
  checkParity('mean pooling over a bidirectional LSTM', {
    input: dense,
    layers: [{ cell: 'lstm', units: 6, bidirectional: true }],
    pooling: 'mean',
    classes: CLASSES,
  });
  checkParity('max pooling over a GRU', { input: dense, layers: [{ cell: 'gru', units: 7, resetAfter: false }], pooling: 'max', classes: CLASSES });
  checkParity('masked tokens: embedding + LSTM (ragged)', { input: tokens, layers: [{ cell: 'lstm', units: 8 }], classes: CLASSES });
  checkParity('masked tokens: embedding + bidirectional GRU (ragged)', {
    input: tokens,
    layers: [{ cell: 'gru', units: 5, bidirectional: true, resetAfter: false }],
    classes: CLASSES,
  });
  checkParity('masked tokens: embedding + stacked LSTM -> SimpleRNN (ragged)', {
    input: tokens,
    layers: [{ cell: 'lstm', units: 6 }, { cell: 'rnn', units: 4 }],
    classes: CLASSES,
  });
});
