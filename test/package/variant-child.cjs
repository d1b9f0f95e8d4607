// Runs inside the temporary project the package install test creates, against the installed
// `rnn-node` (copied there so that `require('rnn-node')` resolves the installed package).
//   node variant-child.cjs train MODEL INPUTS   trains a small model, saves it and the inputs
//   node variant-child.cjs predict MODEL INPUTS  prints {backend, probabilities, trained} as JSON:
//     the saved model's predictions, then its predictions after one more epoch of training
//     (so every variant's training kernels run too)
'use strict';
const { writeFileSync, readFileSync } = require('node:fs');
const { SequenceClassifier, backendInfo } = require('rnn-node');

function sequences(n, steps, features, seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: n }, (_, i) => Array.from({ length: 3 + ((i * 7) % steps) }, () => Array.from({ length: features }, next)));
}

async function main() {
  const [mode, modelPath, inputsPath] = process.argv.slice(2);
  if (mode === 'train') {
    const x = sequences(256, 20, 4, 7);
    const y = x.map((seq) => (seq.reduce((a, step) => a + step[0], 0) > 0 ? 1 : 0) + (seq.length > 12 ? 1 : 0));
    const model = new SequenceClassifier({ input: { type: 'dense', features: 4 }, layers: [{ cell: 'lstm', units: 24 }, { cell: 'gru', units: 16 }], classes: 3, seed: 3 });
    await model.fit({ x, y }, { epochs: 2, batchSize: 32 });
    await model.save(modelPath);
    writeFileSync(inputsPath, JSON.stringify(sequences(200, 30, 4, 11)));
  }
  const model = await SequenceClassifier.load(modelPath);
  const inputs = JSON.parse(readFileSync(inputsPath, 'utf8'));
  const probabilities = (await model.predictProba(inputs)).flat();
  const x = sequences(128, 20, 4, 13);
  await model.fit({ x, y: x.map((seq) => (seq[0][0] > 0 ? 1 : 0)) }, { epochs: 1, batchSize: 64, shuffle: false });
  const trained = (await model.predictProba(inputs)).flat();
  process.stdout.write(JSON.stringify({ backend: backendInfo(), probabilities, trained }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
