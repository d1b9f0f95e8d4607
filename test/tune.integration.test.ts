/**
 * tune() on real training: ASHA finds a model that learns a task, every decision is in the
 * journal, a study continues where it stopped (nothing finished runs twice), a process killed
 * mid-trial resumes that trial from its checkpoint, a diverging trial is recorded as failed
 * and the study goes on, and a trial past a measured constraint is infeasible, not dropped.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tune, type TrialParams } from '../src/index';
import { SeededRandom } from '../src/util/random';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-tune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Class 1 when the first feature sums above 0 over the steps: learnable in a few epochs. */
function task(n: number, seed: number) {
  const rng = new SeededRandom(seed);
  const x: number[][][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const steps = Array.from({ length: 6 }, () => [rng.next() * 2 - 1, rng.next() * 2 - 1, rng.next() * 2 - 1]);
    x.push(steps);
    y.push(steps.reduce((s, v) => s + v[0], 0) > 0 ? 1 : 0);
  }
  return { x, y };
}
const data = task(400, 1);
const space = (t: TrialParams) => ({
  config: { layers: [{ cell: t.choice('cell', ['lstm', 'gru'] as const), units: t.int('units', 4, 16, { log: true }) }] },
  fit: { batchSize: 32, optimizer: { type: 'adam' as const, learningRate: t.float('lr', 1e-4, 3e-2, { log: true }) } },
});
type Event = { type: string; id?: number; epoch?: number; state?: string };
const events = (path: string): Event[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);

describe('tune', () => {
  it('ASHA on a learnable task: the best trial reaches 90% validation accuracy and its model is returned', async () => {
    const study = join(dir, 'asha.jsonl');
    const result = await tune({ data, validationSplit: 0.25, stratify: true, space, budget: { trials: 9 }, maxEpochs: 9, eta: 3, seed: 3, study, threads: 1 });
    expect(result.trials).toHaveLength(9);
    expect(result.best).not.toBeNull();
    expect(result.best!.value!).toBeGreaterThanOrEqual(0.9);
    // Successive halving: 9 trials at rung 0 (1 epoch), 3 promoted to 3 epochs, 1 to 9.
    const rungs = result.trials.map((t) => t.rung).sort();
    expect(rungs).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 2]);
    expect(result.trials.filter((t) => t.state === 'complete')).toHaveLength(1);
    expect(result.trials.filter((t) => t.state === 'pruned')).toHaveLength(8);
    const total = result.trials.reduce((n, t) => n + t.epochs, 0);
    expect(total).toBe(6 * 1 + 2 * 3 + 9);  // promoted trials continued, never retrained
    const test = task(200, 2);
    expect((await result.bestModel!.evaluate(test)).accuracy).toBeGreaterThan(0.85);
    result.bestModel!.dispose();
    // The journal holds every decision.
    const log = events(study);
    expect(log[0].type).toBe('study');
    expect(log.filter((e) => e.type === 'promote')).toHaveLength(4);  // 3 to rung 1, 1 to rung 2
  }, 120_000);

  it('running the study again continues it: finished trials are kept, none is run twice', async () => {
    const study = join(dir, 'resume.jsonl');
    const options = { data, validationSplit: 0.25, space, scheduler: 'none' as const, maxEpochs: 2, seed: 5, study, threads: 1, sampler: 'random' as const };
    const first = await tune({ ...options, budget: { trials: 2 } });
    first.bestModel?.dispose();
    const second = await tune({ ...options, budget: { trials: 4 } });
    second.bestModel?.dispose();
    expect(second.trials.map((t) => t.state)).toEqual(['complete', 'complete', 'complete', 'complete']);
    expect(second.trials.slice(0, 2)).toEqual(first.trials);
    const ends = events(study).filter((e) => e.type === 'end').map((e) => e.id);
    expect(ends).toEqual([0, 1, 2, 3]);
    // Another space on the same study file is refused.
    await expect(tune({ ...options, space: { units: { int: [4, 8] } }, budget: { trials: 5 } })).rejects.toThrow(/another study: its space is define-by-run/);
  }, 120_000);

  it('a diverging trial is failed with its error and the study goes on; a trial past a constraint is infeasible', async () => {
    const diverging = (t: TrialParams) => ({
      config: { layers: [{ cell: 'rnn' as const, activation: 'relu' as const, units: t.int('units', 4, 4) }] },
      fit: { optimizer: { type: 'sgd' as const, learningRate: t.choice('lr', [1e6, 0.05]) } },
    });
    const result = await tune({ data, validationSplit: 0.25, space: diverging, sampler: 'random', scheduler: 'none', maxEpochs: 1, budget: { trials: 6 }, seed: 2, threads: 1 });
    result.bestModel?.dispose();
    const failed = result.trials.filter((t) => t.state === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((t) => t.params.lr === 1e6 && /loss became (NaN|Infinity)|diverged/i.test(t.error ?? ''))).toBe(true);
    expect(result.trials.filter((t) => t.state === 'complete').length).toBe(6 - failed.length);

    const sized = await tune({ data, validationSplit: 0.25, space: { units: { choice: [4, 64] }, cell: 'lstm' }, sampler: 'grid', scheduler: 'none', maxEpochs: 1, budget: { trials: 2 }, threads: 1, constraints: { maxModelBytes: 4000 } });
    sized.bestModel?.dispose();
    expect(sized.trials.map((t) => t.state)).toEqual(['complete', 'infeasible']);
    expect(sized.trials[1].measured!.modelBytes!).toBeGreaterThan(4000);
    expect(sized.best!.params.units).toBe(4);
  }, 120_000);

  it('a define-by-run space whose range changed is refused as another study; its trials are not marked failed', async () => {
    const study = join(dir, 'changed.jsonl');
    const spaceOf = (high: number) => (t: TrialParams) => ({ config: { layers: [{ cell: 'gru' as const, units: t.int('units', 4, high) }] } });
    const options = { data, validationSplit: 0.25, scheduler: 'none' as const, maxEpochs: 1, seed: 1, study, threads: 1, parallel: 2 };
    (await tune({ ...options, space: spaceOf(8), budget: { trials: 2 } })).bestModel?.dispose();
    const before = readFileSync(study, 'utf8');
    await expect(tune({ ...options, space: spaceOf(16), budget: { trials: 4 } })).rejects.toThrow(/search space changed: parameter 'units' was .*"high":8.* and is now .*"high":16/);
    const after = events(study).slice(before.trim().split('\n').length);
    expect(after.filter((e) => e.type === 'end' || e.type === 'trial')).toEqual([]);
  }, 60_000);

  it('an epochs budget with trials that never finish an epoch (all infeasible) ends instead of proposing forever', async () => {
    const result = await tune({ data, validationSplit: 0.25, space: { units: { int: [8, 16] } }, sampler: 'random', scheduler: 'none', maxEpochs: 1, budget: { epochs: 5 }, threads: 1, constraints: { maxModelBytes: 10 } });
    expect(result.best).toBeNull();
    expect(result.bestModel).toBeNull();
    expect(result.trials.length).toBe(25);
    expect(result.trials.every((t) => t.state === 'infeasible')).toBe(true);
  }, 60_000);

  it('bad options are refused naming the argument', async () => {
    await expect(tune({ data, validationSplit: 0.25, space, budget: {} })).rejects.toThrow(/options.budget: give trials, seconds or epochs/);
    await expect(tune({ data, space, budget: { trials: 1 } })).rejects.toThrow(/options.validationData/);
    await expect(tune({ data, validationSplit: 0.25, space: { epochs: 3 }, budget: { trials: 1 } })).rejects.toThrow(/'epochs'/);
    await expect(tune({ data, validationSplit: 0.25, space, sampler: 'grid', budget: { trials: 1 } })).rejects.toThrow(/'grid' needs a declarative/);
    await expect(tune({ data, validationSplit: 0.25, space, budget: { trials: 1 }, objective: 'accuracy' as never })).rejects.toThrow(/options.objective/);
    // The report, the retrain command and the distributed options, each refused before any work.
    await expect(tune({ data, validationSplit: 0.25, space, budget: { trials: 1 }, report: join(dir, 'no-such-folder', 'study.html') })).rejects.toThrow(/options.report/);
    await expect(tune({ data, validationSplit: 0.25, space, budget: { trials: 1 }, report: join(dir, 'r.html'), retrainCommand: 'rnn-node train' as never })).rejects.toThrow(/options.retrainCommand/);
    await expect(tune({ data, validationSplit: 0.25, space, budget: { trials: 1 }, redis: 'http://localhost', study: 's', checkpoints: dir })).rejects.toThrow(/options.redis/);
    await expect(tune({ data, validationSplit: 0.25, space, budget: { trials: 1 }, redis: 'redis://127.0.0.1:1', study: '../s', checkpoints: dir })).rejects.toThrow(/options.study/);
    await expect(tune({ data, validationSplit: 0.25, space, budget: { trials: 1 }, redis: 'redis://127.0.0.1:1', study: 's' })).rejects.toThrow(/options.checkpoints/);
    await expect(tune({ data, validationSplit: 0.25, space, budget: { trials: 1 }, redis: 'redis://127.0.0.1:1', prefix: 'a b', study: 's', checkpoints: dir })).rejects.toThrow(/options.prefix/);
    expect(existsSync(join(dir, 'r.html'))).toBe(false);
  });

  it('a study killed (SIGKILL) between an epoch\'s journal line and its checkpoint, and again later, resumes each interrupted trial from its checkpoint; no trial is lost or ends twice', async () => {
    const study = join(dir, 'killed.jsonl');
    const script = join(dir, 'study.cjs');
    writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
    // The child kills itself with SIGKILL when trial KILL_ID reports epoch KILL_EPOCH: the
    // journal has the epoch, the checkpoint does not yet (onTrial runs between them).
    writeFileSync(script, `
      const { tune } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
      const data = require(${JSON.stringify(join(dir, 'data.json'))});
      const id = Number(process.env.KILL_ID), epoch = Number(process.env.KILL_EPOCH);
      tune({ data, validationSplit: 0.25, space: { units: { int: [4, 12] }, lr: { float: [0.001, 0.03], log: true } },
             sampler: 'random', scheduler: 'none', maxEpochs: 6, budget: { trials: 3 }, seed: 9, threads: 1,
             study: ${JSON.stringify(study)},
             onTrial: (t) => { if (t.id === id && t.epochs === epoch && t.state === 'running') process.kill(process.pid, 'SIGKILL'); } })
        .then((s) => { s.bestModel && s.bestModel.dispose(); console.log('done'); });
    `);
    const run = (killId: number, killEpoch: number) => new Promise<{ out: string; signal: string | null }>((resolve) => {
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, KILL_ID: String(killId), KILL_EPOCH: String(killEpoch) } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (_code, signal) => resolve({ out, signal }));
    });
    expect(existsSync(join(__dirname, '..', 'dist', 'index.js'))).toBe(true);
    expect((await run(0, 4)).signal).toBe('SIGKILL');
    const first = events(study);
    expect(first.some((e) => e.type === 'end')).toBe(false);
    expect(first.filter((e) => e.type === 'epoch' && e.id === 0).map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect((await run(1, 2)).signal).toBe('SIGKILL');
    const second = events(study);
    // Trial 0 went on from its checkpoint (epoch 3), not from scratch: epoch 4 again, then 5, 6.
    expect(second.slice(first.length).filter((e) => e.type === 'epoch' && e.id === 0).map((e) => e.epoch)).toEqual([4, 5, 6]);
    expect((await run(-1, -1)).out).toContain('done');
    const last = events(study);
    expect(last.slice(second.length).filter((e) => e.type === 'epoch' && e.id === 1).map((e) => e.epoch)).toEqual([2, 3, 4, 5, 6]);
    expect(last.filter((e) => e.type === 'end').map((e) => e.id)).toEqual([0, 1, 2]);
    expect(last.filter((e) => e.type === 'trial').map((e) => e.id)).toEqual([0, 1, 2]);
    expect(last.filter((e) => e.type === 'end').every((e) => e.state === 'complete')).toBe(true);
  }, 120_000);
});
