/**
 * The addon in worker_threads: each Worker gets its own addon instance (N-API, no
 * process-wide JS state). Runs in child processes so a crash, at teardown included, is seen
 * as a signal or exit code instead of taking vitest down.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function scenario(name: string) {
  const result = spawnSync(process.execPath, [join(__dirname, 'support', 'workers.cjs'), name], { encoding: 'utf8', timeout: 150_000 });
  expect(result.signal, `${name}: ${result.stderr}`).toBeNull();
  expect(result.status, `${name}: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

describe('worker_threads', () => {
  it('a model trained in a Worker predicts the same in the main thread', () => {
    expect(scenario('one').diff).toBeLessThan(1e-6);
  });

  it('two Workers and the main thread train at once, with identical results', () => {
    const out = scenario('two');
    expect(out.diffWorkers).toBe(0);
    expect(out.diffMain).toBe(0);
  });

  it('each Worker keeps its own default thread count (setNumThreads, RNN_NODE_THREADS)', () => {
    expect(scenario('threads')).toEqual({ main: 1, a: 2, b: 3 });
  });

  it('terminating a Worker in the middle of native training is clean, and a new Worker works', () => {
    const out = scenario('terminate');
    expect(out.terminatedCode).toBe(1);
    expect(out.afterOk).toBe(true);
  });

  it('terminating a Worker in the middle of synchronous native calls never aborts the process', () => {
    // Before NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS, every run of this ended in std::terminate.
    expect(scenario('terminate-busy').terminated).toBe(25);
  });

  it('process.exit() with native training in flight, in a Worker or the main thread, exits 0', () => {
    expect(scenario('exit').exiting).toBe(true);
    expect(scenario('exit-main').exiting).toBe(true);
  });
});
