// Child process of the memory test: trains an LSTM(256) on batches of 256 sequences x 28
// steps x 28 features and reports, as one JSON line, the resident memory it took above a
// baseline taken after the data was loaded (peak over the run, from the kernel's maxRSS and
// samples at every batch end), next to what training has to hold:
//   parameters + gradients + optimizer state (Adam: 2 moments)
//   + saved activations: per packed row (sequence step), the gate pre-activations and their
//     gradients (2 x 4H), h, h_{t-1}, c_{t-1}, act(c) (4 x H), the layer output (H) and the
//     packed input (F)
//   + batch buffers: the gathered batch in JS and its native copy (2 x T x F per sequence).
'use strict';
const { SequenceClassifier, setNumThreads } = require('../../dist/index.js');

const [B, T, F, H, C, N] = [256, 28, 28, 256, 10, 2048];

async function main() {
  setNumThreads(2);
  let s = 1;
  const values = new Float32Array(N * T * F).map(() => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32));
  const labels = Int32Array.from({ length: N }, (_, i) => i % C);
  const x = { values, shape: [N, T, F] };
  const model = new SequenceClassifier({ input: { type: 'dense', features: F }, layers: [{ cell: 'lstm', units: H }], classes: C, seed: 1 });
  global.gc();
  const baseline = process.memoryUsage().rss;
  let sampled = baseline;
  await model.fit({ x, y: labels }, { epochs: 3, batchSize: B, callbacks: { onBatchEnd: () => (sampled = Math.max(sampled, process.memoryUsage().rss)) } });
  const peak = Math.max(sampled, process.resourceUsage().maxRSS * 1024);
  const P = model.paramCount;
  const rows = B * T;
  const expected = 4 * (P + P + 2 * P + rows * (2 * 4 * H + 4 * H + H + F) + 2 * B * T * F);
  process.stdout.write(JSON.stringify({ baselineMB: baseline / 2 ** 20, peakAboveBaselineMB: (peak - baseline) / 2 ** 20, expectedMB: expected / 2 ** 20, params: P }) + '\n');
  model.dispose();
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
