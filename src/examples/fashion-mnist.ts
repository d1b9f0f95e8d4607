/**
 * The main job: train an LSTM(128) classifier on Fashion-MNIST rows (28 steps x 28
 * features, pixels / 255) with Adam 1e-3, batch 128, and print test accuracy.
 *
 *   npm run demo [-- --epochs 2 --data /usr/share/datasets/fashion-mnist --limit 60000]
 *   npm run demo -- --report fashion-mnist.html   also writes the HTML training report, with
 *                                                 the test set evaluated after every epoch
 */
import { parseArgs } from 'node:util';
import { SequenceClassifier, backendInfo, readIdxDataset, type CellType } from '../index';

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
      epochs: { type: 'string', default: '2' },
      limit: { type: 'string' },
      cell: { type: 'string', default: 'lstm' },
      units: { type: 'string', default: '128' },
      report: { type: 'string' },
    },
  });
  const epochs = Number(values.epochs);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  const train = readIdxDataset(values.data!, 'train', limit);
  const test = readIdxDataset(values.data!, 't10k');
  const info = backendInfo();
  console.log(`rnn-node: ${info.simd.split(',')[0]} build, ${info.threads} threads, OpenMP ${info.openmp ? 'on' : 'off'}`);
  console.log(`Fashion-MNIST: ${train.y.length} training and ${test.y.length} test images as 28-step sequences of 28 pixels`);
  const labels = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  const model = new SequenceClassifier({
    input: { type: 'dense', features: 28 },
    layers: [{ cell: values.cell as CellType, units: Number(values.units) }],
    classes: labels,
    seed: 1,
  });
  const started = performance.now();
  // With a report, the test set is evaluated after every epoch (and fills its evaluation
  // panels); nothing is selected on it, so the printed test accuracy means the same.
  const report = values.report === undefined ? {} : { report: { path: values.report, title: `Fashion-MNIST rows, ${values.cell}(${values.units})` }, validationData: test };
  await model.fit(train, { epochs, batchSize: 128, optimizer: { type: 'adam', learningRate: 1e-3 }, verbose: 1, ...report });
  const trainSeconds = (performance.now() - started) / 1000;
  const result = await model.evaluate(test);
  console.log(
    `test accuracy ${result.accuracy.toFixed(4)} (loss ${result.loss.toFixed(4)}) after ${epochs} epochs; ` +
      `training took ${trainSeconds.toFixed(1)} s (${Math.round((train.y.length * epochs) / trainSeconds)} sequences/s)`,
  );
  const sample = await model.predict({ values: test.x.values.subarray(0, 5 * 784), shape: [5, 28, 28] });
  console.log(`first test images: predicted ${sample.join(', ')}; actual ${Array.from(test.y.subarray(0, 5), (k) => labels[k]).join(', ')}`);
  if (values.report !== undefined) console.log(`report: ${values.report}`);
  model.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
