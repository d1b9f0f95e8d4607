// The options of bench/run.mjs (`npm run bench`, `rnn-node bench`): one table for the parser
// and for the help text, so the help lists every option the script takes.
'use strict';
const { join } = require('node:path');

/** name -> { value, default, shown, help }; `default` may depend on where bench/ is. */
function table(benchDir) {
  return {
    reps: { value: 'N', default: '3', help: 'interleaved repetitions; medians are reported' },
    seconds: { value: 'F', default: '2', help: 'time box of one measurement, in seconds' },
    workloads: { value: 'LIST', default: 'fmnist-lstm,fmnist-gru,tokens-lstm,fmnist-pixels-lstm', shown: 'all', help: 'fmnist-lstm,fmnist-gru,tokens-lstm,fmnist-pixels-lstm' },
    peers: {
      value: 'LIST',
      default: 'rnn-node,rnn-node-int8,rnn-node-bf16,pytorch,pytorch-padded,onnxruntime,tfjs-cpu,tfjs-wasm,tfjs-node',
      shown: 'all',
      help: 'rnn-node,rnn-node-int8,rnn-node-bf16,pytorch,pytorch-padded,onnxruntime,tfjs-cpu,tfjs-wasm,tfjs-node (and rnn-node[-int8|-bf16]@baseline|avx2|avx512, with :KERNEL forcing an int8/bf16 kernel: portable, avx2, avx-vnni, avx512-vnni, avx512-bf16), or variants: every variant with every int8 kernel, and onnxruntime',
    },
    python: { value: 'PATH', default: process.env.RNN_NODE_BENCH_PYTHON || '/usr/bin/python3', shown: '/usr/bin/python3, or RNN_NODE_BENCH_PYTHON', help: 'Python with torch for the PyTorch peers' },
    out: { value: 'DIR', default: join(benchDir, 'results'), shown: 'bench/results', help: 'where to write latest.json' },
    report: { value: 'PATH', default: join(benchDir, 'RESULTS.md'), shown: 'bench/RESULTS.md', help: 'the markdown report (written only when every rnn-node row was measured)' },
  };
}

/** Options for util.parseArgs. */
function runOptions(benchDir) {
  return Object.fromEntries(Object.entries(table(benchDir)).map(([name, o]) => [name, { type: 'string', default: o.default }]));
}

function runHelp() {
  const rows = Object.entries(table('bench')).map(([name, o]) => [`--${name} ${o.value}`, `${o.help} (default: ${o.shown ?? o.default})`]);
  rows.push(['--help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    'Usage: rnn-node bench [options]',
    '',
    'Benchmark rnn-node against the peers it can find (PyTorch through /usr/bin/python3,',
    '@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm, @tensorflow/tfjs-node) on the same models,',
    'interleaved, medians of several repetitions. Writes bench/RESULTS.md and a JSON file.',
    '',
    'Options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
  ].join('\n');
}

module.exports = { runOptions, runHelp };
