/**
 * The work queue end to end, through the CLI, on a real Redis (Debian's redis-server, started
 * here on a free loopback port with a temporary directory, stopped at the end):
 *   - 200k records in 25 chunks, 3 workers, one SIGKILLed in the middle of a chunk: its chunk
 *     comes back after the lock expires, and the collected output equals a single `predict`
 *     byte for byte: nothing lost, nothing twice;
 *   - a chunk longer than the lock duration is not taken from its (live) worker;
 *   - SIGTERM lets the current chunk finish; a chunk that keeps failing is reported and does
 *     not block the rest; a missing model, a dead server and a malformed URL fail clearly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI, freePort, startCli, startRedis, type CliProcess } from './support/redis-server';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-queue-'));
let redis: Awaited<ReturnType<typeof startRedis>> | null = null;
let url = '';

function run(args: string[], timeout = 120_000) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Worker = CliProcess;

function startWorker(extra: string[] = []): Worker {
  return startCli(['queue', 'work', '--redis', url, '--threads', '1', '--exit-when-idle', ...extra], dir);
}

const LABELS = ['north', 'south', 'east'];
const record = (i: number) => JSON.stringify({ text: `${LABELS[i % 3][0].repeat(2 + (i % 9))} ${'xyz'.slice(0, 1 + (i % 3))} ${i % 97}`, label: LABELS[i % 3] });

beforeAll(async () => {
  redis = await startRedis(dir);
  url = redis.url;
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 600 }, (_, i) => record(i)).join('\n') + '\n');
  writeFileSync(join(dir, 'big-1.jsonl'), Array.from({ length: 120_000 }, (_, i) => record(i)).join('\n') + '\n');
  writeFileSync(join(dir, 'big-2.jsonl'), Array.from({ length: 80_000 }, (_, i) => record(i + 7)).join('\n') + '\n');
  const trained = run(['train', '--data', 'train.jsonl', '--units', '24', '--epochs', '1', '--out', 'm.rnn', '--json']);
  if (trained.code !== 0) throw new Error(trained.stderr);
  const single = run(['predict', '--model', 'm.rnn', '--data', 'big-1.jsonl', '--data', 'big-2.jsonl', '--output', 'single.jsonl']);
  if (single.code !== 0) throw new Error(single.stderr);
}, 300_000);

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('rnn-node queue', () => {
  it('3 workers, one SIGKILLed mid-chunk: the collected output equals one predict, byte for byte', async () => {
    const submitted = run(['queue', 'submit', '--redis', url, '--model', 'm.rnn', '--input', 'big-*.jsonl', '--output', 'parts', '--chunk-size', '8000', '--name', 'big']);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout).toBe('big\n');
    expect(submitted.stderr).toMatch(/big: 25 chunks queued/);
    const workers = [0, 1, 2].map(() => startWorker(['--lock-duration', '2000']));
    // The victim's second chunk: it is busy with it when the kill comes.
    const line = await workers[0].waitFor(/chunk \d+\/25 of big started/);
    const second = await workers[0].waitFor(new RegExp(`chunk (?!${/chunk (\d+)/.exec(line)![1]}\\/)\\d+\\/25 of big started`));
    workers[0].child.kill('SIGKILL');
    const killedChunk = /chunk (\d+)\/25/.exec(second)![1];
    const codes = await Promise.all(workers.slice(1).map((w) => w.exited));
    expect(codes).toEqual([0, 0]);
    // Another worker redid the killed chunk once its lock expired.
    const redone = workers.slice(1).flatMap((w) => w.log).filter((l) => l.includes(`chunk ${killedChunk}/25 of big started`));
    expect(redone.length, workers.map((w) => w.log.join('\n')).join('\n---\n')).toBeGreaterThanOrEqual(1);
    const status = run(['queue', 'status', '--redis', url, '--name', 'big', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'big', total: 25, done: 25, failed: 0, active: 0, records: 200_000, etaSeconds: 0 });
    const collected = run(['queue', 'collect', '--redis', url, '--name', 'big', '--output', 'collected.jsonl']);
    expect(collected.code, collected.stderr).toBe(0);
    expect(readFileSync(join(dir, 'collected.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'single.jsonl'), 'utf8'));
  }, 300_000);

  it('a chunk that takes longer than the lock is kept by its worker (the lock is renewed), and done once', async () => {
    writeFileSync(join(dir, 'long.jsonl'), Array.from({ length: 60_000 }, (_, i) => record(i)).join('\n') + '\n');
    // A wider model: each chunk takes seconds.
    expect(run(['train', '--data', 'train.jsonl', '--units', '256', '--epochs', '1', '--out', 'wide.rnn']).code).toBe(0);
    expect(run(['queue', 'submit', '--redis', url, '--model', 'wide.rnn', '--input', 'long.jsonl', '--output', 'long-parts', '--chunk-size', '30000', '--name', 'long']).code).toBe(0);
    // A 500 ms lock, renewed every 250 ms: short enough that each chunk outlives it twice over,
    // long enough that a busy 2-core machine's event-loop pauses (two workers, Redis and the
    // test runner on two cores) do not pass for a dead worker (300 ms did, now and then).
    const workers = [startWorker(['--lock-duration', '500']), startWorker(['--lock-duration', '500'])];
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    const log = workers.flatMap((w) => w.log);
    const durations = log.filter((l) => / of long done: /.test(l)).map((l) => Number(/in ([\d.]+) s/.exec(l)![1]));
    expect(durations).toHaveLength(2);
    expect(Math.min(...durations)).toBeGreaterThan(1.0); // twice the lock, at least
    expect(log.filter((l) => / of long started/.test(l))).toHaveLength(2); // each chunk once
    expect(log.filter((l) => /attempt [2-9]/.test(l))).toEqual([]);
  }, 120_000);

  it('SIGTERM lets the current chunk finish, then the worker exits 0', async () => {
    writeFileSync(join(dir, 'term.jsonl'), Array.from({ length: 40_000 }, (_, i) => record(i)).join('\n') + '\n');
    expect(run(['queue', 'submit', '--redis', url, '--model', 'm.rnn', '--input', 'term.jsonl', '--output', 'term-parts', '--chunk-size', '10000', '--name', 'term']).code).toBe(0);
    const worker = startWorker();
    const started = await worker.waitFor(/of term started/);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const chunk = /chunk (\d+)\//.exec(started)![1];
    expect(worker.log.some((l) => l.includes(`chunk ${chunk}/4 of term done`))).toBe(true);
    expect(worker.log.filter((l) => / of term started/.test(l))).toHaveLength(1);
    // The rest is still queued for others.
    const status = JSON.parse(run(['queue', 'status', '--redis', url, '--name', 'term', '--json']).stdout);
    expect(status).toMatchObject({ total: 4, done: 1 });
    // No worker running: --wait gives up after --timeout, one line, exit 1.
    const t0 = Date.now();
    const waited = run(['queue', 'status', '--redis', url, '--name', 'term', '--wait', '--timeout', '1']);
    expect(waited.code).toBe(1);
    expect(waited.stderr.trim().split('\n').pop()).toMatch(/^rnn-node queue: status: term: still 3 of 4 chunks to go after --timeout 1 s/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(run(['queue', 'status', '--redis', url, '--name', 'term', '--timeout', '1']).code).toBe(2);
    const collect = run(['queue', 'collect', '--redis', url, '--name', 'term', '--output', 'term.out']);
    expect(collect.code).toBe(1);
    expect(collect.stderr).toMatch(/3 of 4 chunks not done yet/);
    expect(await startWorker().exited).toBe(0);
  }, 120_000);

  it('a chunk that keeps failing is reported with its error and does not block the others', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => record(i));
    lines[2500] = '{"text": 42}';
    writeFileSync(join(dir, 'bad.jsonl'), lines.join('\n') + '\n');
    expect(run(['queue', 'submit', '--redis', url, '--model', 'm.rnn', '--input', 'bad.jsonl', '--output', 'bad-parts', '--chunk-size', '1000', '--name', 'bad', '--attempts', '2']).code).toBe(0);
    expect(await startWorker().exited).toBe(0);
    const status = JSON.parse(run(['queue', 'status', '--redis', url, '--name', 'bad', '--json']).stdout);
    expect(status).toMatchObject({ total: 3, done: 2, failed: 1, failures: [{ chunk: 3, error: expect.stringMatching(/bad\.jsonl:2501: .*text/) }] });
    const collect = run(['queue', 'collect', '--redis', url, '--name', 'bad', '--output', 'bad.out']);
    expect(collect.code).toBe(1);
    expect(collect.stderr).toMatch(/^rnn-node queue: collect: bad: 1 chunk failed: chunk 3: .*bad\.jsonl:2501/);
    expect(existsSync(join(dir, 'bad.out'))).toBe(false);
  }, 120_000);

  it('fails clearly: a model missing on the worker (exit 1), a dead server (exit 1, no hang), a malformed URL (exit 2)', async () => {
    writeFileSync(join(dir, 'small.jsonl'), Array.from({ length: 100 }, (_, i) => record(i)).join('\n') + '\n');
    run(['train', '--data', 'train.jsonl', '--units', '4', '--epochs', '1', '--out', 'gone.rnn']);
    expect(run(['queue', 'submit', '--redis', url, '--model', 'gone.rnn', '--input', 'small.jsonl', '--output', 'gone-parts', '--name', 'gone']).code).toBe(0);
    renameSync(join(dir, 'gone.rnn'), join(dir, 'gone.rnn.moved'));
    const worker = startWorker();
    expect(await worker.exited).toBe(1);
    expect(worker.log.join('\n')).toMatch(/the model .*gone\.rnn does not exist on this worker/);
    renameSync(join(dir, 'gone.rnn.moved'), join(dir, 'gone.rnn'));
    expect(await startWorker().exited).toBe(0); // the chunk was retried and done

    const deadPort = await freePort();
    const t0 = Date.now();
    const dead = run(['queue', 'status', '--redis', `redis://127.0.0.1:${deadPort}`, '--name', 'big']);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0: .*ECONNREFUSED/);
    expect(dead.stderr.trim().split('\n')).toHaveLength(1);
    const deadWorker = run(['queue', 'work', '--redis', `redis://127.0.0.1:${deadPort}`]);
    expect(deadWorker.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000);
    for (const bad of ['localhost:6379', 'http://x', 'redis://', 'redis://h/notadb']) {
      const r = run(['queue', 'status', '--redis', bad, '--name', 'big']);
      expect(r.code, bad).toBe(2);
    }
    expect(run(['queue', 'status', '--redis', url, '--name', 'no such job!']).code).toBe(2);
    const unknown = run(['queue', 'status', '--redis', url, '--name', 'nosuchjob']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no job named "nosuchjob"/);
  }, 120_000);

  it('a malformed chunk payload is refused at once with a clear error; a payload without a setting takes its default', async () => {
    writeFileSync(join(dir, 'payload.jsonl'), Array.from({ length: 50 }, (_, i) => record(i)).join('\n') + '\n');
    const prefix = 'payload-test'; // its own namespace: no other test's worker takes these chunks
    expect(run(['queue', 'submit', '--redis', url, '--prefix', prefix, '--model', 'm.rnn', '--input', 'payload.jsonl', '--output', 'payload-parts', '--name', 'payload', '--top-k', '2']).code).toBe(0);
    const { Queue } = await import('bullmq');
    const queue = new Queue('predict', { connection: { host: '127.0.0.1', port: Number(new URL(url).port) }, prefix });
    try {
      const data = (await queue.getJob('payload__00000'))!.data as Record<string, unknown>;
      expect(data).toMatchObject({ batchSize: 2048, topK: 2, onError: 'fail' }); // the settings, carried as given
      const { batchSize: _omitted, ...withoutBatchSize } = data;
      const opts = { attempts: 5, removeOnComplete: false, removeOnFail: false };
      await queue.add('payload', { ...data, topK: 0 }, { ...opts, jobId: 'bad-topk' });
      await queue.add('payload', { ...data, threshold: 0.5 }, { ...opts, jobId: 'bad-field' });
      await queue.add('payload', { ...data, pieces: 'all of it' }, { ...opts, jobId: 'bad-pieces' });
      await queue.add('payload', withoutBatchSize, { ...opts, jobId: 'old' });
      const worker = startWorker(['--prefix', prefix]);
      expect(await worker.exited).toBe(0);
      const failed = async (id: string) => {
        const job = (await queue.getJob(id))!;
        expect(await job.getState(), id).toBe('failed');
        expect(job.attemptsMade, `${id}: no retries`).toBe(1);
        return job.failedReason;
      };
      expect(await failed('bad-topk')).toBe('malformed chunk payload of job payload: topK (--top-k) must be an integer in 1..inf, got 0');
      expect(await failed('bad-field')).toMatch(/^malformed chunk payload of job payload: unknown field "threshold"/);
      expect(await failed('bad-pieces')).toMatch(/^malformed chunk payload of job payload: pieces must be a list of input pieces/);
      expect(worker.log.join('\n')).toMatch(/chunk bad-topk refused: malformed chunk payload/);
      expect(await (await queue.getJob('old'))!.getState()).toBe('completed');
      expect(await (await queue.getJob('payload__00000'))!.getState()).toBe('completed');
      const lines = readFileSync(join(dir, 'payload-parts', 'part-00000-of-00001.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(50);
      expect(JSON.parse(lines[0]).top).toHaveLength(2);
    } finally {
      await queue.close();
    }
  }, 120_000);

  it('library users do not load BullMQ', () => {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))}); console.log(Object.keys(require.cache).filter((k) => /bullmq|ioredis/.test(k)).length)`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('0');
  });
});
