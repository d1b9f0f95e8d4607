// Child process of the worker_threads test: the addon loaded in Workers, alone, two at once,
// terminated in the middle of native work, and alive at process exit. Prints one JSON line;
// a crash (at teardown included) shows up in the parent as a signal or non-zero exit.
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { SequenceClassifier, setNumThreads } = require('../../dist/index.js');

const config = { input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 16 }], classes: 2, seed: 5 };

function data(n) {
  let s = 42;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Array.from({ length: n }, (_, i) => Array.from({ length: 4 + (i % 9) }, () => [next(), next(), next()]));
  return { x, y: x.map((seq) => (seq[0][0] > 0 ? 1 : 0)) };
}

/** The thread count the addon instance of this thread would use for a call that names none. */
const nativeThreads = () => require('../../dist/native/addon.js').native().getNumThreads();

async function workerMain() {
  if (workerData.job === 'threads') {
    // Set this Worker's default (or let a model install RNN_NODE_THREADS from its env), say so,
    // and report what the addon holds once every thread has set its own.
    if (workerData.set) setNumThreads(workerData.set);
    new SequenceClassifier(config).dispose();
    parentPort.postMessage({ ready: true });
    await new Promise((resolve) => parentPort.once('message', resolve));
    parentPort.postMessage({ threads: nativeThreads() });
    return;
  }
  if (workerData.job === 'busy') {
    // Back-to-back synchronous native calls, so that a terminate() lands inside one: the
    // call then fails to create values or throw into JavaScript.
    const model = new SequenceClassifier(config);
    const { x } = data(8);
    parentPort.postMessage({ started: true });
    for (;;) {
      model.predictProbaSync(x);
      model.getWeights();
    }
  }
  const model = new SequenceClassifier(config);
  const { x, y } = data(workerData.sequences);
  if (workerData.job === 'long') parentPort.postMessage({ started: true });
  await model.fit({ x, y }, { epochs: workerData.epochs, batchSize: 32, threads: workerData.threads });
  const probabilities = await model.predictProba(x.slice(0, 20));
  parentPort.postMessage({ weights: model.getWeights().map((w) => Array.from(w.values)), probabilities: probabilities.flat() });
  model.dispose();
}

function start(job, extra = {}) {
  return new Worker(__filename, { workerData: { job, sequences: 128, epochs: 2, threads: 1, ...extra } });
}

function result(worker) {
  return new Promise((resolve, reject) => {
    let last;
    worker.on('message', (m) => (last = m));
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve(last) : reject(new Error(`worker exited with ${code}`))));
  });
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function main() {
  const scenario = process.argv[2];
  if (scenario === 'one') {
    // A model trained in a Worker, its weights moved to the main thread: same predictions.
    const out = await result(start('train'));
    const model = new SequenceClassifier(config);
    model.setWeights(model.getWeights().map((w, i) => ({ ...w, values: Float32Array.from(out.weights[i]) })));
    const here = (await model.predictProba(data(128).x.slice(0, 20))).flat();
    return { diff: maxDiff(here, out.probabilities) };
  }
  if (scenario === 'two') {
    // Two Workers and the main thread training at once, each with its own addon instance.
    const main = new SequenceClassifier(config);
    const { x, y } = data(128);
    const [a, b] = await Promise.all([result(start('train')), result(start('train')), main.fit({ x, y }, { epochs: 2, batchSize: 32, threads: 1 })]);
    const here = (await main.predictProba(x.slice(0, 20))).flat();
    return { diffWorkers: maxDiff(a.probabilities, b.probabilities), diffMain: maxDiff(a.probabilities, here) };
  }
  if (scenario === 'threads') {
    // Per-environment thread defaults: the main thread, a Worker that calls setNumThreads and
    // one that takes RNN_NODE_THREADS from its own env each keep their own value.
    setNumThreads(1);
    const a = new Worker(__filename, { workerData: { job: 'threads', set: 2 } });
    const b = new Worker(__filename, { workerData: { job: 'threads' }, env: { ...process.env, RNN_NODE_THREADS: '3' } });
    const ready = (w) => new Promise((resolve) => w.once('message', resolve));
    await Promise.all([ready(a), ready(b)]);
    const results = [result(a), result(b)];
    a.postMessage('report');
    b.postMessage('report');
    const [ra, rb] = await Promise.all(results);
    return { main: nativeThreads(), a: ra.threads, b: rb.threads };
  }
  if (scenario === 'terminate') {
    // terminate() while native training runs; then a fresh Worker still works.
    // Far more epochs than the test waits for: it must still be training when terminated.
    const worker = start('long', { sequences: 2000, epochs: 100000, threads: 2 });
    await new Promise((resolve) => worker.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const code = await worker.terminate();
    const after = await result(start('train'));
    return { terminatedCode: code, afterOk: after.probabilities.length === 40 };
  }
  if (scenario === 'terminate-busy') {
    // terminate() in the middle of synchronous native calls, many times over.
    let terminated = 0;
    for (let round = 0; round < 25; round++) {
      const worker = start('busy');
      await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, round % 5));
      if ((await worker.terminate()) === 1) terminated++;
    }
    return { terminated };
  }
  if (scenario === 'exit') {
    // process.exit() with a Worker in the middle of native training.
    const worker = start('long', { sequences: 2000, epochs: 100000, threads: 2 });
    await new Promise((resolve) => worker.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.stdout.write(JSON.stringify({ exiting: true }) + '\n');
    process.exit(0);
  }
  if (scenario === 'exit-main') {
    // process.exit() while the main thread's own training job runs on the thread pool.
    const model = new SequenceClassifier(config);
    const { x, y } = data(2000);
    model.fit({ x, y }, { epochs: 100000, batchSize: 32, threads: 2 }).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.stdout.write(JSON.stringify({ exiting: true }) + '\n');
    process.exit(0);
  }
  throw new Error(`unknown scenario ${scenario}`);
}

if (isMainThread) {
  main().then(
    (out) => process.stdout.write(JSON.stringify(out) + '\n'),
    (error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    },
  );
} else {
  workerMain().catch((error) => {
    parentPort.postMessage({ error: error.message });
    throw error;
  });
}
