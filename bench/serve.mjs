#!/usr/bin/env node
// `npm run bench:serve`: `rnn-node serve` against the way Node teams serve a model today, a
// Fastify server calling onnxruntime-node's session.run per request (bench/peers/
// ort-fastify-server.mjs) on the ONNX export of the same model. Same machine, same run, same
// request body (one Open Inference Protocol infer body: "x" FP32 [1, 28, 28]), same
// connection counts, on loopback; every load run is bounded in time (autocannon --duration).
// Interleaved repetitions, medians. Reports requests/s, p50 and p99 latency, each server's
// event-loop delay p99 over the run, and the CPU autocannon itself used (it shares the cores).
// Writes bench/SERVE.md.
//
//   node bench/serve.mjs [--model trained.rnn] [--seconds 10] [--reps 3] [--connections 16,64]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';
import { startServer } from './support/start-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const script = 'bench/serve.mjs';
const opt = parseOptions(script, {
  model: { type: 'string', default: '' },
  seconds: { type: 'string', default: '10' },
  reps: { type: 'string', default: '3' },
  connections: { type: 'string', default: '16,64' },
  'serve-args': { type: 'string', default: '' },
  report: { type: 'string', default: join(here, 'SERVE.md') },
});
const [seconds, reps] = ['seconds', 'reps'].map((k) => positiveIntegers(script, k, opt[k])[0]);
const connectionCounts = positiveIntegers(script, 'connections', opt.connections);
const autocannon = require('autocannon');
const { SequenceClassifier, backendInfo } = require(join(here, '..', 'dist', 'index.js'));

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-serve-bench-'));
const model = opt.model
  ? await SequenceClassifier.load(opt.model)
  : new SequenceClassifier({ input: { type: 'dense', features: 28 }, layers: [{ cell: 'lstm', units: 128 }], classes: 10, seed: 1 });
if (model.config.input.type !== 'dense' || model.config.input.features !== 28) throw new Error(`${script}: --model must be a Fashion-MNIST model (28 features per step)`);
const rnnPath = join(dir, 'fashion.rnn');
const onnxPath = join(dir, 'fashion.onnx');
await model.save(rnnPath, { includeTrainingState: false });
await model.toOnnx(onnxPath);
const describe = `${model.config.layers.map((l) => `${l.cell.toUpperCase()}(${l.units})`).join(' → ')}, ${model.config.precision}`;
model.dispose();

let s = 1;
const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 28, 28], datatype: 'FP32', data: Array.from({ length: 784 }, () => Number(rand().toFixed(4))) }] });

const servers = {
  'rnn-node serve': await startServer([join(here, '..', 'dist', 'cli.js'), 'serve', '--model', `fashion=${rnnPath}`, '--port', '0', '--log-level', 'info', ...opt['serve-args'].split(' ').filter(Boolean)]),
  'onnxruntime-node behind Fastify': await startServer([join(here, 'peers', 'ort-fastify-server.mjs'), '--model', onnxPath, '--port', '0', '--threads', String(backendInfo().threads)]),
};

/** The server's event-loop delay p99 (ms) since the last call. */
async function eventLoopP99(name, url) {
  if (name === 'rnn-node serve') {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^rnn_event_loop_delay_seconds\{quantile="0.99"\} (\S+)/m.exec(text)[1]) * 1000;
  }
  return (await (await fetch(`${url}/eld`)).json()).p99;
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

async function measure(name, url, connections) {
  await eventLoopP99(name, url); // resets it
  const pid = servers[name].child.pid;
  const server0 = cpuSeconds(pid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await autocannon({ url: `${url}/v2/models/fashion/infer`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds, timeout: 30 });
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) * 1000;
  return {
    serverCpuMs: ((cpuSeconds(pid) - server0) * 1000) / Math.max(1, r.requests.total),
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    eld: await eventLoopP99(name, url),
    autocannonCpu: (cpu.user + cpu.system) / wall,
    failed: r.errors + r.timeouts + r.non2xx,
  };
}

// Warm-up: each server answers a few seconds of load first.
for (const [name, { url }] of Object.entries(servers)) await autocannon({ url: `${url}/v2/models/fashion/infer`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 16, duration: 3 });
const results = {};
for (let rep = 0; rep < reps; rep++)
  for (const connections of connectionCounts)
    for (const [name, { url }] of Object.entries(servers)) ((results[connections] ??= {})[name] ??= []).push(await measure(name, url, connections));
for (const { child } of Object.values(servers)) child.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const info = backendInfo();
let failed = 0;
const rows = [];
const verdicts = [];
for (const connections of connectionCounts) {
  const by = {};
  for (const [name, runs] of Object.entries(results[connections])) {
    failed += runs.reduce((a, r) => a + r.failed, 0);
    by[name] = Object.fromEntries(['rps', 'p50', 'p99', 'eld', 'autocannonCpu', 'serverCpuMs'].map((k) => [k, median(runs.map((r) => r[k]))]));
    const m = by[name];
    rows.push(`| ${connections} | ${name} | ${Math.round(m.rps).toLocaleString('en')} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${m.eld.toFixed(1)} | ${(m.serverCpuMs * 1000).toFixed(0)} | ${(m.autocannonCpu * 100).toFixed(0)}% |`);
  }
  const ours = by['rnn-node serve'];
  const peer = by['onnxruntime-node behind Fastify'];
  const ratio = ours.rps / peer.rps;
  verdicts.push(
    `- ${connections} connections: ${ratio.toFixed(2)}x the throughput at p99 ${ours.p99.toFixed(1)} ms against ${peer.p99.toFixed(1)} ms (goal ≥ 2x at equal or better p99: **${ratio >= 2 && ours.p99 <= peer.p99 ? 'met' : 'not met'}**); event-loop delay p99 ${ours.eld.toFixed(1)} ms (goal ≤ 5 ms: **${ours.eld <= 5 ? 'met' : 'not met'}**).`,
  );
}
const text = `# Serving: rnn-node serve against onnxruntime-node behind Fastify

Generated by \`npm run bench:serve\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}, rnn-node ${info.version} (${info.variant} binary, ${info.threads} threads).
The Fashion-MNIST model: ${describe}, 28 steps of 28 features, 10 classes${opt.model ? ` (${opt.model})` : ' (weights as initialised: the work per request does not depend on their values)'}. One sequence per request, the same Open Inference Protocol body for both servers (\`x\` FP32 [1, 28, 28]). autocannon in this process, ${seconds} s per run, on loopback; medians of ${reps} interleaved repetitions. rnn-node serve with ${opt['serve-args'] ? `\`${opt['serve-args']}\`` : 'its defaults (\`--max-batch-size 256 --max-delay 0\`)'}; onnxruntime with ${info.threads} intra-op threads, one \`session.run\` per request.

| connections | server | requests/s | p50 (ms) | p99 (ms) | server event-loop delay p99 (ms) | server CPU per request (µs) | CPU used by autocannon |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${verdicts.join('\n')}
- Failed requests (errors, timeouts, non-2xx) over every run: ${failed}.
- autocannon shares the machine's ${cpus().length} cores with the server it loads: the CPU share above is taken from both servers alike.
- The event-loop delay: how late a 10 ms timer ran, Node's histogram less those 10 ms, which it counts in (rnn-node: \`rnn_event_loop_delay_seconds\`; the peer computes it the same way; earlier reports of this bench quoted the histogram with the 10 ms in). autocannon keeps every connection's next request waiting, so both servers run saturated, and a saturated loop runs each turn as long as the requests that arrived during the last one take to parse, batch and answer, plus any garbage collection: a timer waits that long. rnn-node parses JSON bodies on later turns, about 1 ms of them per turn (docs/SERVE.md). The server CPU per request (JavaScript and native together, from /proc) is what a request costs; the Open Inference Protocol body of 784 numbers costs both servers the same to parse (Fastify's JSON parser) and is most of rnn-node's JavaScript time per request. rnn-node leaves a core to the event loop (\`--threads\` CPUs − 1); below saturation the delay is the native batch's, not the loop's.
`;
writeReportIfComplete(script, opt.report, text, failed > 0 ? ['some requests failed'] : []);
console.log(text);
