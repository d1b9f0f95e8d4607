/**
 * Long native work runs off the event loop: during a multi-second fit and a large predict
 * a 10 ms timer keeps firing and the event-loop delay stays small.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { SequenceClassifier } from '../src/index';
import { randomFloats } from './helpers';

/** Runs `call` again and again until at least `seconds` have passed: long enough to mean
 * something however fast the native code gets. */
async function repeatFor(seconds: number, call: () => Promise<unknown>) {
  const started = performance.now();
  do await call();
  while (performance.now() - started < seconds * 1000);
}

async function measure<T>(work: () => Promise<T>) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  histogram.enable();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  clearInterval(timer);
  return { seconds, ticks, maxMs: histogram.max / 1e6, meanMs: histogram.mean / 1e6 };
}

describe('the event loop keeps ticking', () => {
  const model = new SequenceClassifier({ input: { type: 'dense', features: 28 }, layers: [{ cell: 'lstm', units: 128 }], classes: 10 });
  const N = 6000;
  const x = { values: randomFloats(N * 28 * 28, 1), shape: [N, 28, 28] };
  const y = Int32Array.from({ length: N }, (_, i) => i % 10);

  it('during fit', async () => {
    const m = await measure(() => repeatFor(0.8, () => model.fit({ x, y }, { epochs: 2, batchSize: 128 })));
    console.log(`fit: ${m.seconds.toFixed(2)} s, ${m.ticks} timer ticks, event-loop delay max ${m.maxMs.toFixed(1)} ms, mean ${m.meanMs.toFixed(1)} ms`);
    expect(m.ticks).toBeGreaterThan((m.seconds * 100) / 4);
    expect(m.maxMs).toBeLessThan(200);
    expect(m.meanMs).toBeLessThan(30);
  });

  it('during a large predict', async () => {
    const big = { values: randomFloats(4 * N * 28 * 28, 2), shape: [4 * N, 28, 28] };
    const m = await measure(() => repeatFor(0.8, () => model.predictProba(big)));
    console.log(`predict: ${m.seconds.toFixed(2)} s, ${m.ticks} timer ticks, event-loop delay max ${m.maxMs.toFixed(1)} ms, mean ${m.meanMs.toFixed(1)} ms`);
    expect(m.ticks).toBeGreaterThan((m.seconds * 100) / 4);
    expect(m.maxMs).toBeLessThan(200);
    expect(m.meanMs).toBeLessThan(30);
  });
});
