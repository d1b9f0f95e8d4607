// Child process of test/memory.test.ts (run with --expose-gc): trains and predicts for
// many epochs and prints the resident set size after warm-up and at the end, as JSON.
const { SequenceClassifier } = require('../../dist/index.js');

(async () => {
  const N = 512, F = 8, T = 20;
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = { values: Float32Array.from({ length: N * T * F }, random), shape: [N, T, F], lengths: Int32Array.from({ length: N }, (_, i) => 1 + (i % T)) };
  const y = Int32Array.from({ length: N }, (_, i) => i % 4);
  const model = new SequenceClassifier({ input: { type: 'dense', features: F }, layers: [{ cell: 'lstm', units: 64, bidirectional: true }], classes: 4 });
  const rss = () => {
    global.gc();
    return process.memoryUsage().rss / 2 ** 20;
  };
  const samples = {};
  for (let epoch = 1; epoch <= 250; epoch++) {
    await model.fit({ x, y }, { epochs: 1, batchSize: 64 });
    await model.predictProba(x);
    if (epoch === 150 || epoch === 250) samples[epoch] = rss();
  }
  model.dispose();
  process.stdout.write(JSON.stringify(samples));
})();
