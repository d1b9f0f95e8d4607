// The peer of bench/serve.mjs: how Node teams serve a model today, a Fastify server that calls
// onnxruntime-node's session.run once per request, on the ONNX export of the same model. It
// reads the same Open Inference Protocol body ("x" FP32 [1, T, F]) and answers the same JSON.
// GET /eld answers the event-loop delay p99 (ms) since the last call, then resets it.
//
//   node bench/peers/ort-fastify-server.mjs --model model.onnx --port 0 [--threads 2]
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const Fastify = require('fastify');
const ort = require('onnxruntime-node');
const { values: o } = parseArgs({ options: { model: { type: 'string' }, port: { type: 'string', default: '0' }, threads: { type: 'string', default: '2' } } });

const session = await ort.InferenceSession.create(o.model, { intraOpNumThreads: Number(o.threads), interOpNumThreads: 1 });
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const app = Fastify({ logger: false, bodyLimit: 16 << 20 });
app.post('/v2/models/:name/infer', async (request, reply) => {
  const x = request.body?.inputs?.find((t) => t.name === 'x');
  if (!x || !Array.isArray(x.shape) || x.shape.length !== 3) return reply.code(400).send({ error: 'x must be FP32 [N, T, F]' });
  const [n, t] = x.shape;
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x.data.flat(Infinity)), x.shape), lengths: new ort.Tensor('int32', new Int32Array(n).fill(t), [n]) });
  const probs = out.probabilities;
  return { model_name: request.params.name, model_version: '1', outputs: [{ name: 'probabilities', datatype: 'FP32', shape: probs.dims, data: Array.from(probs.data) }] };
});
// The histogram records whole intervals between its 10 ms timer's runs: the delay is the
// interval less those 10 ms, as rnn-node serve's rnn_event_loop_delay_seconds computes it.
app.get('/eld', async () => {
  const p99 = delay.count === 0 ? 0 : Math.max(0, delay.percentile(99) / 1e6 - 10);
  delay.reset();
  return { p99 };
});
await app.listen({ host: '127.0.0.1', port: Number(o.port) });
process.stdout.write(`listening on http://127.0.0.1:${app.server.address().port}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
