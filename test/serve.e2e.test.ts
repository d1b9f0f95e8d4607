/**
 * `rnn-node serve` as a user runs it (a child process on loopback): the Open Inference
 * Protocol with request bodies as Triton's and KServe's clients write them, records, sessions,
 * metrics, bad input (fuzzed), and under bounded load (autocannon): a hot reload with no
 * failed request and both versions in order, a SIGTERM drain that fails nothing and exits 0,
 * and 429s past the queue bound without RSS growth.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Preprocessor, SequenceClassifier } from '../src/index';
import { SeededRandom } from '../src/util/random';
import { startServe, type ServeProcess } from './support/serve-process';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-serve-'));
const modelPath = join(dir, 'dense.rnn');
const textPath = join(dir, 'text.rnn');
let dense: SequenceClassifier;

function sequences(n: number, seed: number): number[][][] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: 2 + (i % 6) }, () => [rng.next() * 4, rng.next() - 0.5, rng.next() * 2]));
}

async function denseModel(seed: number): Promise<SequenceClassifier> {
  const records = sequences(40, 1).map((sequence, i) => ({ kind: 'sequence' as const, sequence, label: i % 3 === 0 ? 'up' : i % 3 === 1 ? 'down' : 'flat', line: i + 1 }));
  const pre = Preprocessor.fit(records);
  const model = new SequenceClassifier({ input: pre.inputConfig(), layers: [{ cell: 'lstm', units: 16 }], pooling: 'mean', classes: ['down', 'flat', 'up'], seed });
  model.preprocessing = pre.toJSON() as unknown as Record<string, unknown>;
  return model;
}

beforeAll(async () => {
  dense = await denseModel(1);
  await dense.save(modelPath);
  const texts = ['the cat sat', 'a dog ran', 'cats nap', 'dogs bark'].map((text, i) => ({ kind: 'text' as const, text, label: i % 2 ? 'dog' : 'cat', line: i + 1 }));
  const pre = Preprocessor.fit(texts, { tokenizer: { kind: 'char' } });
  const text = new SequenceClassifier({ input: pre.inputConfig(8), layers: [{ cell: 'gru', units: 8 }], classes: ['cat', 'dog'], seed: 2 });
  text.preprocessing = pre.toJSON() as unknown as Record<string, unknown>;
  await text.save(textPath);
  text.dispose();
});
afterAll(() => {
  dense.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, body: unknown, type = 'application/json') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** The normalised rows of a sequence, as the model's records are fed. */
function normalised(seq: number[][]): number[][] {
  const n = (dense.preprocessing as { normalization: { mean: number[]; std: number[] } }).normalization;
  return seq.map((step) => step.map((x, f) => (x - n.mean[f]) / n.std[f]));
}

describe('rnn-node serve: bad flags and files', () => {
  const cli = join(__dirname, '..', 'dist', 'cli.js');
  const run = (args: string[]) => spawnSync(process.execPath, [cli, 'serve', '--log-level', 'silent', ...args], { encoding: 'utf8', timeout: 30_000 });

  it('a wrong --model, --port or a missing or unreadable file: one stderr line naming it, exit 2 (usage) or 1, nothing on stdout', async () => {
    for (const [args, code, message] of [
      [[], 2, /--model is required/],
      [['--model', 'bad'], 2, /--model must be NAME=path/],
      [['--model', `m=${modelPath}`, '--model', `m=${modelPath}`], 2, /names 'm' twice/],
      [['--model', `m=${modelPath}`, '--port', '70000'], 2, /--port/],
      [['--model', `m=${modelPath}`, '--max-delay', '-1'], 2, /--max-delay/],
      [['--model', `m=${join(dir, 'none.rnn')}`, '--port', '0'], 1, /none\.rnn/],
    ] as const) {
      const r = run([...args]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    // A port already taken: exit 1, saying so.
    const holder = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const port = (holder.address() as { port: number }).port;
    const r = run(['--model', `m=${modelPath}`, '--port', String(port)]);
    holder.close();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/EADDRINUSE/);
  }, 60_000);
});

describe('rnn-node serve: protocol, records, sessions', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await startServe(['--model', `dense=${modelPath}`, '--model', `text=${textPath}`, '--session-ttl', '0.5', '--max-sessions', '3', '--body-limit', '4096']);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('health, server and model metadata', async () => {
    expect(await (await fetch(`${server.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/v2`)).json()).toMatchObject({ name: 'rnn-node' });
    const meta = await fetch(`${server.url}/v2/models/dense`);
    expect(meta.headers.get('x-model-version')).toBe('1');
    expect(await meta.json()).toMatchObject({ name: 'dense', versions: ['1'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1, 3] }, { name: 'lengths' }], outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }] });
    expect((await fetch(`${server.url}/v2/models/dense/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/models/nope`)).status).toBe(404);
  });

  it('infer: Triton- and KServe-client bodies, answered as predictProba answers', async () => {
    const seq = normalised(sequences(1, 7)[0]);
    const expected = Array.from((await dense.predictProba({ values: Float32Array.from(seq.flat()), shape: [1, seq.length, 3] })) as Float32Array);
    // tritonclient.http, binary_data=False: flat data, a requested output with binary_data false.
    const triton = { inputs: [{ name: 'x', shape: [1, seq.length, 3], datatype: 'FP32', data: seq.flat() }], outputs: [{ name: 'probabilities', parameters: { binary_data: false } }] };
    // KServe's InferRequest.to_rest(): an id, nested data, parameters null.
    const kserve = { id: 'req-42', parameters: null, inputs: [{ name: 'x', shape: [1, seq.length, 3], datatype: 'FP32', data: [seq], parameters: null }] };
    for (const body of [triton, kserve]) {
      const r = await post(`${server.url}/v2/models/dense/infer`, body);
      expect(r.status).toBe(200);
      const out = await r.json();
      expect(out).toMatchObject({ model_name: 'dense', model_version: '1', outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 3] }] });
      expect(out.outputs[0].data.map(Math.fround)).toEqual(expected);
    }
    expect((await (await post(`${server.url}/v2/models/dense/infer`, kserve)).json()).id).toBe('req-42');
    // With lengths: the second row's padding is not read.
    const two = { inputs: [{ name: 'x', shape: [2, 2, 3], datatype: 'FP32', data: [...seq.slice(0, 2).flat(), ...seq.slice(0, 1).flat(), 9, 9, 9] }, { name: 'lengths', shape: [2], datatype: 'INT32', data: [2, 1] }] };
    const both = await (await post(`${server.url}/v2/models/dense/infer`, two)).json();
    const alone = await (await post(`${server.url}/v2/models/dense/infer`, { inputs: [{ name: 'x', shape: [1, 1, 3], datatype: 'FP32', data: seq[0] }] })).json();
    expect(both.outputs[0].data.slice(3)).toEqual(alone.outputs[0].data);
  });

  it('infer: bad requests get a 4xx naming the field, and the server lives on', async () => {
    const url = `${server.url}/v2/models/dense/infer`;
    const x = (over: object) => ({ inputs: [{ name: 'x', shape: [1, 2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6], ...over }] });
    const cases: Array<[unknown, number, RegExp]> = [
      ['{not json', 400, /JSON/],
      [x({ shape: [1, 2, 4] }), 400, /shape\[2\]/],
      [x({ datatype: 'INT8' }), 400, /datatype/],
      [x({ data: [1, 2, 3] }), 400, /data holds 3 values/],
      [x({ data: [1, 2, 3, 4, 5, 'a'] }), 400, /data\[5\]/],
      [x({ shape: [100000, 100000, 3] }), 400, /declares/],
      [x({ name: 'input0' }), 400, /input0/],
      [x({ parameters: { binary_data_size: 24 } }), 400, /binary/],
      [{ ...x({}), outputs: [{ name: 'probabilities' , parameters: { binary_data: true } }] }, 400, /binary/],
      [{ inputs: [] }, 400, /inputs/],
      [x({ shape: [1, 2000, 3] }), 400, /at most 2048/], // more values than a 4096-byte body can carry
      [{ inputs: [{ name: 'x', shape: [1, 1, 3], datatype: 'FP32', data: [1, 2, 3] }, { name: 'lengths', shape: [1], datatype: 'INT32', data: [4294967297] }] }, 400, /32-bit integer/],
    ];
    for (const [body, status, message] of cases) {
      const r = await post(url, body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect((await r.json()).error).toMatch(message);
    }
    expect((await post(url, 'x'.repeat(5000))).status).toBe(413);
    const binary = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': '10' }, body: new Uint8Array(20) });
    expect(binary.status).toBe(400);
    expect((await binary.json()).error).toMatch(/binary/);
    expect((await post(`${server.url}/v2/models/none/infer`, x({}))).status).toBe(404);
  });

  it('fuzz: random bodies and paths never crash the server', async () => {
    const rng = new SeededRandom(3);
    const pick = <T>(xs: T[]) => xs[Math.floor(rng.next() * xs.length)];
    const session = (await (await post(`${server.url}/v1/models/text/sessions`, {})).json()).session_id;
    const paths = ['/v2/models/dense/infer', '/v1/models/dense:classify', '/v1/models/text:classify', '/v1/models/dense:nope', '/v1/sessions/zz:push', `/v1/sessions/${session}:push`];
    const atoms = [null, true, -1, 1e308, 'x', '\u0000', '𝔘', '"]}', [], {}, [[[]]], { inputs: null }, { text: 7 }, { sequence: 'abc' }, { steps: [[NaN]] }];
    for (let i = 0; i < 150; i++) {
      const body = rng.next() < 0.3 ? String.fromCharCode(...Array.from({ length: 1 + Math.floor(rng.next() * 40) }, () => Math.floor(rng.next() * 256))) : JSON.stringify(rng.next() < 0.5 ? pick(atoms) : [pick(atoms), { text: pick(atoms), sequence: pick(atoms), inputs: [pick(atoms)] }]);
      const r = await post(server.url + pick(paths), body, pick(['application/json', 'application/x-ndjson', 'text/plain']));
      expect(r.status, body).toBeGreaterThanOrEqual(400);
      expect(r.status, body).toBeLessThan(500);
    }
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
    await fetch(`${server.url}/v1/sessions/${session}`, { method: 'DELETE' });
  });

  it('classify: a JSON array gets an array, JSONL gets JSONL, a bad record a 400 naming its index', async () => {
    const seqs = sequences(3, 9);
    const r = await post(`${server.url}/v1/models/dense:classify`, seqs.map((sequence) => ({ sequence })));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-model-version')).toBe('1');
    const answers = await r.json();
    expect(answers.map((a: { index: number }) => a.index)).toEqual([0, 1, 2]);
    const probs = (await dense.predictProba(seqs.map(normalised))) as number[][];
    answers.forEach((a: { label: string; probabilities: Record<string, number> }, i: number) => {
      expect(a.probabilities.down).toBeCloseTo(probs[i][0], 5);
      expect(a.label).toBe(['down', 'flat', 'up'][probs[i].indexOf(Math.max(...probs[i]))]);
    });
    const jsonl = await post(`${server.url}/v1/models/text:classify`, '{"text":"the cat","id":"a-1"}\n{"text":"a dog"}\n', 'application/x-ndjson');
    const lines = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.index)).toEqual([0, 1]);
    expect(lines[0].id).toBe('a-1'); // record ids pass through, as predict's do
    expect(Object.keys(lines[0])[0]).toBe('id');
    expect('id' in lines[1]).toBe(false);
    expect(Object.keys(lines[0].probabilities)).toEqual(['cat', 'dog']);
    const bad = await post(`${server.url}/v1/models/dense:classify`, [{ sequence: [[1, 2, 3]] }, { sequence: [[1, 2]] }]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/record 1/);
  });

  it('sessions: pushes equal the whole sequence, TTL closes idle ones, the number is bounded', async () => {
    const seq = sequences(1, 11)[0];
    const open = await (await post(`${server.url}/v1/models/dense/sessions`, {})).json();
    expect(open.model_version).toBe('1');
    let last: { probabilities: Record<string, number>; steps: number } | undefined;
    for (let t = 0; t < seq.length; t += 2) last = await (await post(`${server.url}/v1/sessions/${open.session_id}:push`, { steps: seq.slice(t, t + 2) })).json();
    const whole = (await dense.predictProba([normalised(seq)])) as number[][];
    expect(last!.steps).toBe(seq.length);
    expect(Math.fround(last!.probabilities.up)).toBe(Math.fround(whole[0][2]));
    expect((await post(`${server.url}/v1/sessions/${open.session_id}:push`, { steps: [[1, 2]] })).status).toBe(400);
    expect((await fetch(`${server.url}/v1/sessions/${open.session_id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await post(`${server.url}/v1/sessions/${open.session_id}:push`, { steps: seq })).status).toBe(404);
    // Text sessions through the tokenizer.
    const t = await (await post(`${server.url}/v1/models/text/sessions`, {})).json();
    expect((await (await post(`${server.url}/v1/sessions/${t.session_id}:push`, { text: 'the c' })).json()).steps).toBe(5);
    // Three at most; a fourth is refused until the idle ones expire (TTL 0.5 s).
    const ids = [t.session_id];
    for (let i = 0; i < 2; i++) ids.push((await (await post(`${server.url}/v1/models/dense/sessions`, {})).json()).session_id);
    const refused = await post(`${server.url}/v1/models/dense/sessions`, {});
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    await new Promise((r) => setTimeout(r, 1200));
    expect((await post(`${server.url}/v1/sessions/${ids[0]}:push`, { text: 'x' })).status).toBe(404);
    expect((await post(`${server.url}/v1/models/dense/sessions`, {})).status).toBe(200);
  });

  it('metrics in Prometheus format', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['rnn_requests_total{route="/v2/models/:name/infer",status="200"}', 'rnn_request_duration_seconds_bucket', 'rnn_queue_wait_seconds_bucket', 'rnn_batch_size_bucket', 'rnn_open_sessions', 'rnn_model_version{model="dense"} 1', 'nodejs_eventloop_lag_p99_seconds'])
      expect(text).toContain(name);
    // The event loop's delay by quantile, the sampling interval taken out: ordered, finite.
    const delay = (q: string) => Number(new RegExp(`^rnn_event_loop_delay_seconds\\{quantile="${q}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    const [p50, p99, max] = ['0.5', '0.99', '1'].map(delay);
    expect(Number.isFinite(p50) && p50 >= 0).toBe(true);
    expect(p50).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
  });
});

/** A bounded autocannon run of infer requests. */
function load(url: string, options: { connections: number; duration: number }) {
  const seq = normalised(sequences(1, 5)[0]);
  return autocannon({
    url: `${url}/v2/models/dense/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, seq.length, 3], datatype: 'FP32', data: seq.flat() }] }),
    connections: options.connections,
    duration: options.duration,
    timeout: 10,
  });
}

describe('rnn-node serve under load', () => {
  it('hot reload by rename during load: no failed request, versions 1 then 2 in order; a bad file keeps the old one', async () => {
    const server = await startServe(['--model', `dense=${modelPath}`]);
    const pinned = (await (await post(`${server.url}/v1/models/dense/sessions`, {})).json()).session_id;
    const versions: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await post(`${server.url}/v1/models/dense:classify`, [{ sequence: [[1, 2, 3]] }]);
        expect(r.status).toBe(200);
        versions.push(r.headers.get('x-model-version')!);
      }
    })();
    const running = load(server.url, { connections: 8, duration: 3 });
    await new Promise((r) => setTimeout(r, 1000));
    const next = await denseModel(2);
    await next.save(join(dir, 'next.tmp'));
    next.dispose();
    renameSync(join(dir, 'next.tmp'), modelPath);
    const result = await running;
    polling = false;
    await poller;
    expect(result.errors + result.timeouts + result.non2xx).toBe(0);
    expect(result['2xx']).toBeGreaterThan(50);
    const first2 = versions.indexOf('2');
    expect(first2).toBeGreaterThan(0);
    expect(versions.slice(0, first2).every((v) => v === '1') && versions.slice(first2).every((v) => v === '2')).toBe(true);
    // A session opened before the swap stays on the version it began with.
    const push = await post(`${server.url}/v1/sessions/${pinned}:push`, { steps: [[1, 2, 3]] });
    expect(push.status).toBe(200);
    expect(push.headers.get('x-model-version')).toBe('1');
    // A corrupt file: one error logged, version 2 goes on serving.
    writeFileSync(join(dir, 'bad.tmp'), 'not a model');
    renameSync(join(dir, 'bad.tmp'), modelPath);
    await new Promise((r) => setTimeout(r, 800));
    const still = await post(`${server.url}/v1/models/dense:classify`, [{ sequence: [[1, 2, 3]] }]);
    expect(still.status).toBe(200);
    expect(still.headers.get('x-model-version')).toBe('2');
    expect(server.logs.filter((l) => l.includes('model reload failed')).length).toBe(1);
    await dense.save(modelPath); // back for the other tests
    expect(await server.stop()).toBe(0);
  }, 60_000);

  it('hot reload through a Kubernetes ConfigMap-style link swap (..data -> ..v2)', async () => {
    const mount = join(dir, 'configmap');
    mkdirSync(join(mount, '..v1'), { recursive: true });
    await dense.save(join(mount, '..v1', 'm.rnn'));
    symlinkSync('..v1', join(mount, '..data'));
    symlinkSync(join('..data', 'm.rnn'), join(mount, 'm.rnn'));
    const server = await startServe(['--model', `m=${join(mount, 'm.rnn')}`]);
    mkdirSync(join(mount, '..v2'));
    const next = await denseModel(3);
    await next.save(join(mount, '..v2', 'm.rnn'));
    next.dispose();
    symlinkSync('..v2', join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data')); // the atomic swap kubelet makes
    let version = '1';
    for (let i = 0; i < 50 && version === '1'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      version = (await fetch(`${server.url}/v2/models/m`)).headers.get('x-model-version')!;
    }
    expect(version).toBe('2');
    expect(await server.stop()).toBe(0);
  }, 30_000);

  it('SIGTERM during load: in-flight requests finish, new ones get 503 with Connection: close, exit 0', async () => {
    const server = await startServe(['--model', `dense=${modelPath}`, '--drain-timeout', '10']);
    const running = load(server.url, { connections: 16, duration: 2 });
    await new Promise((r) => setTimeout(r, 800));
    server.child.kill('SIGTERM');
    const [result, code] = await Promise.all([running, server.exited]);
    expect(code).toBe(0);
    // Requests the server accepted all got answers; those after the signal got 503 (or found it gone).
    expect(result.timeouts).toBe(0);
    expect(result['2xx']).toBeGreaterThan(20);
    expect(result['5xx'] + result['2xx']).toBeGreaterThan(0);
    expect(result.statusCodeStats['500']).toBeUndefined();
  }, 60_000);

  it('draining: a request in flight finishes; readiness and new requests get 503 with Connection: close', async () => {
    const server = await startServe(['--model', `dense=${modelPath}`, '--max-delay', '600']);
    const body = { inputs: [{ name: 'x', shape: [1, 1, 3], datatype: 'FP32', data: [1, 2, 3] }] };
    const inFlight = post(`${server.url}/v2/models/dense/infer`, body); // waits ~600 ms in the batcher
    await new Promise((r) => setTimeout(r, 150));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    for (const r of [await fetch(`${server.url}/v2/health/ready`), await post(`${server.url}/v2/models/dense/infer`, body)]) {
      expect(r.status).toBe(503);
      expect(r.headers.get('connection')).toBe('close');
    }
    expect((await inFlight).status).toBe(200);
    expect(await server.exited).toBe(0);
  }, 30_000);

  it('a session deleted while its push waits: the push still answers 200, then the session is gone', async () => {
    const server = await startServe(['--model', `dense=${modelPath}`, '--max-delay', '400']);
    const { session_id: id } = await (await post(`${server.url}/v1/models/dense/sessions`, {})).json();
    const pushing = post(`${server.url}/v1/sessions/${id}:push`, { steps: [[1, 2, 3]] });
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${server.url}/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(200);
    const pushed = await pushing;
    expect(pushed.status).toBe(200);
    expect((await pushed.json()).steps).toBe(1);
    expect((await post(`${server.url}/v1/sessions/${id}:push`, { steps: [[1, 2, 3]] })).status).toBe(404);
    expect(await server.stop()).toBe(0);
  }, 30_000);

  it('past --request-timeout: 504, and the server goes on', async () => {
    const server = await startServe(['--model', `dense=${modelPath}`, '--request-timeout', '5', '--max-delay', '200']);
    const body = { inputs: [{ name: 'x', shape: [1, 1, 3], datatype: 'FP32', data: [1, 2, 3] }] };
    const r = await post(`${server.url}/v2/models/dense/infer`, body);
    expect(r.status).toBe(504);
    expect((await r.json()).error).toMatch(/request-timeout/);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  }, 30_000);

  it('past the queue bound while bodies wait to be parsed: 429 with Retry-After naming it, and the server goes on', async () => {
    const server = await startServe(['--model', `dense=${modelPath}`, '--max-queue', '1']);
    const body = { inputs: [{ name: 'x', shape: [1, 1, 3], datatype: 'FP32', data: [1, 2, 3] }] };
    // A large body first: while the server parses it (tens of ms in one turn), the small ones
    // arrive and are read together in the next turn, and all but the first one queued are past
    // --max-queue 1.
    const steps = 400_000;
    const large = { inputs: [{ name: 'x', shape: [1, steps, 3], datatype: 'FP32', data: Array.from({ length: steps * 3 }, (_, i) => i % 7) }] };
    const answers = await Promise.all([post(`${server.url}/v2/models/dense/infer`, large), ...Array.from({ length: 40 }, () => post(`${server.url}/v2/models/dense/infer`, body))]);
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const refused = await Promise.all(answers.filter((r) => r.status === 429).map(async (r) => ({ retry: r.headers.get('retry-after'), error: (await r.json()).error as string })));
    const parsing = refused.filter((r) => /waiting to be parsed/.test(r.error));
    expect(parsing.length).toBeGreaterThan(0);
    expect(parsing.every((r) => r.retry === '1' && /--max-queue/.test(r.error))).toBe(true);
    expect((await post(`${server.url}/v2/models/dense/infer`, body)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  }, 30_000);

  it('past the queue bound: 429 with Retry-After, and RSS grows at most 10% over the overload', async () => {
    const server = await startServe(['--model', `dense=${modelPath}`, '--max-queue', '4', '--max-delay', '5']);
    // Warm-up with as many sockets as the run, until V8's heap has grown to its working size
    // (RSS rises for the first few seconds of any load, then holds).
    for (let i = 0; i < 2; i++) await load(server.url, { connections: 64, duration: 3 });
    const before = server.rssKb();
    const result = await load(server.url, { connections: 64, duration: 3 });
    const after = server.rssKb();
    expect(result.statusCodeStats['429']?.count ?? 0).toBeGreaterThan(0);
    expect(result.errors + result.timeouts).toBe(0);
    expect(after / before).toBeLessThanOrEqual(1.1);
    expect(await server.stop()).toBe(0);
  }, 90_000);
});
