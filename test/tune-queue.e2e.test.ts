/**
 * A distributed study end to end, through the CLI, on a real Redis (redis-server started on a
 * free loopback port): `rnn-node tune --redis` decides, two `rnn-node tune work` processes
 * train. One worker is SIGKILLed in the middle of a trial; the other resumes that trial from
 * its checkpoint once the lock expires. The study's journal (the Redis list) shows every
 * trial started once, every rung and end recorded once, the killed trial's epochs continued
 * by the other worker, and nothing left interrupted. Plus the usage and runtime errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI, freePort, startCli, startRedis } from './support/redis-server';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-tune-queue-'));
let redis: Awaited<ReturnType<typeof startRedis>>;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rising or falling noisy series, 48 steps of 4 features, as JSONL records. */
function writeRecords(path: string, count: number) {
  let s = 11;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const lines = Array.from({ length: count }, (_, i) => {
    const up = i % 2 === 1;
    const sequence = Array.from({ length: 48 }, (_, t) => Array.from({ length: 4 }, (_, f) => +((f === 0 ? (up ? 1 : -1) * (t / 48) : 0) + (rand() - 0.5)).toFixed(3)));
    return JSON.stringify({ sequence, label: up ? 'up' : 'down' });
  });
  writeFileSync(path, lines.join('\n') + '\n');
}

type Entry = { w: string; e: { type: string; id?: number; epoch?: number; rung?: number; state?: string } };

beforeAll(async () => {
  redis = await startRedis(dir);
  // Epochs long enough (about half a second) that the kill lands inside the victim's rung.
  writeRecords(join(dir, 'records.jsonl'), 6000);
  writeFileSync(join(dir, 'space.json'), JSON.stringify({ cell: { choice: ['lstm', 'gru'] }, units: { int: [16, 32] }, lr: { float: [0.002, 0.02], log: true }, 'batch-size': 32 }));
}, 120_000);

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('rnn-node tune --redis with tune work', () => {
  it('two workers run one study; one SIGKILLed mid-trial, the other resumes its trial; nothing lost or run twice', async () => {
    const client = new Redis(redis.port, '127.0.0.1');
    const key = 'rnn-node:tune:s1:events';
    const study = startCli(['tune', '--data', 'records.jsonl', '--validation-split', '0.2', '--space', 'space.json', '--budget', '6 trials', '--min-epochs', '3', '--max-epochs', '6', '--eta', '2', '--sampler', 'random', '--redis', redis.url, '--study', 's1', '--checkpoints', 'shared', '--out', 'best.rnn', '--json'], dir);
    const work = ['tune', 'work', '--redis', redis.url, '--threads', '1', '--lock-duration', '1500', '--exit-when-idle'];
    const a = startCli(work, dir);
    const b = startCli(work, dir);
    try {
      // The moment worker A has journaled a trial's first epoch (of 3 in its rung): it is mid-trial.
      const writerA = `:${a.child.pid}`;
      let victim: number | null = null;
      for (let i = 0; victim === null; i++) {
        if (i > 600) throw new Error(`worker A trained nothing in 60 s:\n${a.log.join('\n')}\n${study.log.join('\n')}`);
        const entries = (await client.lrange(key, 0, -1)).map((x) => JSON.parse(x) as Entry);
        const first = entries.find((x) => x.w.endsWith(writerA) && x.e.type === 'epoch' && x.e.epoch === 1);
        if (first) victim = first.e.id!;
        else await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 150));  // its checkpoint saved, the next epoch under way
      a.child.kill('SIGKILL');
      expect(await study.exited).toBe(0);
      expect(await b.exited).toBe(0);

      const entries = (await client.lrange(key, 0, -1)).map((x) => JSON.parse(x) as Entry);
      const events = entries.map((x) => x.e);
      const count = (pred: (e: Entry['e']) => boolean) => events.filter(pred).length;
      for (let id = 0; id < 6; id++) {
        expect(count((e) => e.type === 'trial' && e.id === id)).toBe(1);
        expect(count((e) => e.type === 'end' && e.id === id)).toBeLessThanOrEqual(1);
        for (const rung of [0, 1]) expect(count((e) => e.type === 'rung' && e.id === id && e.rung === rung)).toBeLessThanOrEqual(1);
      }
      // The killed trial: A's epochs, then B's, B starting past epoch 1 (from the checkpoint).
      const epochsOf = (w: string) => entries.filter((x) => x.w.endsWith(w) && x.e.type === 'epoch' && x.e.id === victim).map((x) => x.e.epoch!);
      const byA = epochsOf(writerA), byB = epochsOf(`:${b.child.pid}`);
      expect(byA[0]).toBe(1);
      expect(byB.length).toBeGreaterThan(0);
      expect(byB[0]).toBeGreaterThan(1);
      expect(byB[0]).toBeLessThanOrEqual(byA[byA.length - 1] + 1);
      expect(count((e) => e.type === 'rung' && e.id === victim && e.rung === 0)).toBe(1);

      const status = run(['tune', 'status', '--redis', redis.url, '--study', 's1', '--json']);
      expect(status.code, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout);
      expect(s.trials).toHaveLength(6);
      for (const t of s.trials) expect(['complete', 'pruned']).toContain(t.state);
      const out = JSON.parse(study.stdout().trim().split('\n').pop()!);
      expect(out.trials).toHaveLength(6);
      expect(out.best.id).toBe(s.best.id);
      expect(existsSync(join(dir, 'best.rnn'))).toBe(true);
    } finally {
      for (const p of [study, a, b]) p.child.kill('SIGKILL');
      client.disconnect();
    }
  }, 240_000);

  it('usage and runtime errors: one stderr line each', async () => {
    const base = ['tune', '--data', 'records.jsonl', '--validation-split', '0.2', '--space', 'space.json', '--budget', '1 trials', '--out', 'x.rnn'];
    const noShared = run([...base, '--redis', redis.url, '--study', 's2']);
    expect(noShared.code).toBe(2);
    expect(noShared.stderr).toMatch(/checkpoints/);
    const badName = run([...base, '--redis', redis.url, '--study', 'a/b.jsonl', '--checkpoints', 'shared']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/study/);
    const badUrl = run([...base, '--redis', 'http://x', '--study', 's2', '--checkpoints', 'shared']);
    expect(badUrl.code).toBe(2);
    const dead = run([...base, '--redis', `redis://127.0.0.1:${await freePort()}`, '--study', 's2', '--checkpoints', 'shared']);
    expect(dead.code).toBe(1);
    expect(dead.stderr.trim().split('\n')).toHaveLength(1);
    expect(dead.stderr).toMatch(/cannot reach Redis/);
    // No worker at all: at the budget the waiting job is taken off the queue and the study
    // ends (nothing trained: exit 1, one line). A second coordinator of a running study is refused.
    const lonely = startCli([...base.slice(0, -4), '--budget', '3s', '--out', 'x.rnn', '--redis', redis.url, '--study', 'lonely', '--checkpoints', 'shared'], dir);
    await new Promise((r) => setTimeout(r, 1200));
    const second = run([...base, '--redis', redis.url, '--study', 'lonely', '--checkpoints', 'shared']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/being run by another coordinator/);
    expect(await lonely.exited).toBe(1);
    expect(lonely.log.join('\n')).toMatch(/no trial finished an epoch/);
    const missing = run(['tune', 'status', '--redis', redis.url, '--study', 'nothing-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such study/);
  }, 120_000);
});
