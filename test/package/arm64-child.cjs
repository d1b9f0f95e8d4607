// The arm64 check, run by an arm64 Node under qemu-aarch64-static and, for comparison, by the
// x64 Node, both against the installed package (test/package/arm64.package.test.ts). A plain
// script, because vitest cannot run under qemu here. Prints one JSON object:
//   backend      backendInfo()
//   parity       per PyTorch fixture (test/fixtures/gru-reset-after.json): max |Δp|, |Δloss|,
//                the worst per-tensor relative gradient error
//   outputs      predictions of fixed-seed models of every cell, both GRU forms,
//                bidirectional and token input, then after a few training steps: the test
//                compares arm64 with x64 within 1e-4
//   errors       bad input, each as {name, message} (the same errors on both builds; the
//                work folder's path reads <workdir>)
//   training     held-out accuracy of a short end-to-end training run, and how far the
//                saved-and-loaded model's predictions are from the trained one's
//   node arm64-child.cjs FIXTURE WORKDIR
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { SequenceClassifier, backendInfo } = require('rnn-node');

/** A deterministic generator (LCG), the same numbers on every platform. */
function generator(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function denseSequences(n, maxSteps, features, seed) {
  const next = generator(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: 1 + ((i * 5) % maxSteps) }, () => Array.from({ length: features }, next)));
}

function tokenSequences(n, maxSteps, vocab, seed) {
  const next = generator(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: 1 + ((i * 3) % maxSteps) }, () => 1 + Math.floor(((next() + 1) / 2) * (vocab - 1))));
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
function relativeError(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

function parity(fixturePath) {
  const { cases } = JSON.parse(readFileSync(fixturePath, 'utf8'));
  return cases.map((c) => {
    const model = new SequenceClassifier(c.config);
    model.setWeights(c.weights);
    const x = { values: Float32Array.from(c.x.values), shape: c.x.shape, lengths: Int32Array.from(c.x.lengths) };
    const probabilities = model.predictProbaSync(x);
    const { loss, gradients } = model.computeGradients({ x, y: c.y }, { classWeight: c.classWeights });
    return {
      name: c.name,
      maxProbabilityDiff: maxAbsDiff(probabilities, c.probabilities),
      lossDiff: Math.abs(loss - c.loss),
      worstGradientError: Math.max(...gradients.map((g, i) => relativeError(g.values, c.gradients[i]))),
    };
  });
}

/** Fixed-seed models, one per kernel family an arm64 build compiles differently. */
const MODELS = [
  ['lstm', { input: { type: 'dense', features: 4 }, layers: [{ cell: 'lstm', units: 24 }], classes: 3, seed: 3 }],
  ['gru (reset before)', { input: { type: 'dense', features: 4 }, layers: [{ cell: 'gru', units: 16 }], classes: 3, seed: 4 }],
  ['gru (reset after)', { input: { type: 'dense', features: 4 }, layers: [{ cell: 'gru', units: 16, resetAfter: true }], classes: 3, seed: 5 }],
  ['rnn, stacked on lstm', { input: { type: 'dense', features: 4 }, layers: [{ cell: 'lstm', units: 12 }, { cell: 'rnn', units: 10 }], classes: 3, seed: 6 }],
  ['bidirectional lstm', { input: { type: 'dense', features: 4 }, layers: [{ cell: 'lstm', units: 8, bidirectional: true }], classes: 3, seed: 7 }],
  ['tokens, gru', { input: { type: 'tokens', vocabSize: 50, embeddingDim: 8 }, layers: [{ cell: 'gru', units: 12 }], classes: 3, seed: 8 }],
];

async function outputs() {
  const out = {};
  for (const [name, config] of MODELS) {
    const tokens = config.input.type === 'tokens';
    const x = tokens ? tokenSequences(96, 12, 50, 21) : denseSequences(96, 12, 4, 21);
    const y = x.map((seq, i) => (tokens ? seq[0] % 3 : (seq[0][0] > 0 ? 1 : 0) + (i % 2)));
    const model = new SequenceClassifier(config);
    const before = (await model.predictProba(x)).flat();
    // The batch invariant (NEON kernels too): one sequence at a time gives the same bits.
    const alone = (await model.predictProba(x, { batchSize: 1 })).flat();
    if (alone.some((p, i) => !Object.is(p, before[i]))) throw new Error(`${name}: predictions change with the batch size`);
    // A few optimizer steps (batches of 32, no shuffling): the training kernels too.
    await model.fit({ x, y }, { epochs: 1, batchSize: 32, shuffle: false });
    const after = (await model.predictProba(x)).flat();
    out[name] = { before, after };
  }
  return out;
}

/** Runs `fn`; returns the error it throws as {name, message}, or null when it does not throw. */
async function caught(fn) {
  try {
    await fn();
    return null;
  } catch (error) {
    return { name: error.constructor.name, message: error.message.split(workdirPath).join('<workdir>') };
  }
}

let workdirPath = '\0';

async function errors(workdir) {
  const config = { input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 4 }], classes: 3, seed: 1 };
  const model = new SequenceClassifier(config);
  const good = [[[1, 2, 3], [4, 5, 6]], [[0, 1, 0]]];
  const saved = join(workdir, 'model.rnn');
  await model.save(saved);
  const bytes = readFileSync(saved);
  const corrupt = join(workdir, 'corrupt.rnn');
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 5] ^= 0xff;
  writeFileSync(corrupt, flipped);
  const truncated = join(workdir, 'truncated.rnn');
  writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
  return {
    'wrong feature count': await caught(() => model.predictProba([[[1, 2]]])),
    'NaN in a sequence': await caught(() => model.predictProba([[[1, NaN, 3]]])),
    'empty sequence': await caught(() => model.predictProba([[]])),
    'label out of range': await caught(() => model.fit({ x: good, y: [0, 3] }, { epochs: 1 })),
    'typed input, shape and values disagree': await caught(() => model.predictProbaSync({ values: new Float32Array(5), shape: [1, 2, 3] })),
    'typed input, length beyond the steps': await caught(() => model.predictProbaSync({ values: new Float32Array(6), shape: [1, 2, 3], lengths: Int32Array.from([3]) })),
    'weights of the wrong size': await caught(() => model.setWeights(model.getWeights().map((w) => ({ ...w, values: new Float32Array(1) })))),
    'corrupt checkpoint': await caught(() => SequenceClassifier.load(corrupt)),
    'truncated checkpoint': await caught(() => SequenceClassifier.load(truncated)),
    'the model still works': await caught(async () => {
      const p = await model.predictProba(good);
      if (p.length !== 2 || p.some((row) => row.length !== 3 || row.some((v) => !Number.isFinite(v)))) throw new Error('bad predictions after bad input');
    }),
  };
}

/**
 * Class = sign of the sum of the first feature over the sequence: learnable in a few epochs.
 * The trained model is saved, loaded back, and must predict exactly as before.
 */
async function training(workdir) {
  const x = denseSequences(640, 10, 3, 31);
  const y = x.map((seq) => (seq.reduce((a, step) => a + step[0], 0) > 0 ? 1 : 0));
  const model = new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 16 }], classes: 2, seed: 2 });
  await model.fit({ x: x.slice(0, 512), y: y.slice(0, 512) }, { epochs: 6, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.01 } });
  const held = await model.evaluate({ x: x.slice(512), y: y.slice(512) });
  const file = join(workdir, 'trained.rnn');
  await model.save(file);
  const loaded = await SequenceClassifier.load(file);
  const mine = (await model.predictProba(x.slice(512))).flat();
  const reloaded = (await loaded.predictProba(x.slice(512))).flat();
  return { heldOutAccuracy: held.accuracy, heldOut: x.length - 512, reloadedMaxDiff: maxAbsDiff(reloaded, mine) };
}

async function main() {
  const [fixturePath, workdir] = process.argv.slice(2);
  workdirPath = workdir;
  const result = { backend: backendInfo(), parity: parity(fixturePath), outputs: await outputs(), errors: await errors(workdir), training: await training(workdir) };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
