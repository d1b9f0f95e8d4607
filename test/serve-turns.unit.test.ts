// The event loop under serving load: TurnBudget spreads queued jobs over turns of the loop,
// and EventLoopDelay reports how late a timer ran, less its sampling interval.
import { describe, expect, it } from 'vitest';

import { EventLoopDelay } from '../src/serve/event-loop-delay';
import { TurnBudget } from '../src/serve/turn-budget';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TurnBudget', () => {
  it('runs jobs in order, never in the turn that queued them', async () => {
    const turns = new TurnBudget(1, (e) => { throw e; });
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) turns.run(() => ran.push(i));
    expect(ran).toEqual([]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual([0, 1, 2, 3, 4]);
  });

  it('lets timers run between jobs once a turn has spent its budget', async () => {
    const turns = new TurnBudget(2, (e) => { throw e; });
    const events: string[] = [];
    // 10 jobs of 3 ms each: over budget after every job, so each job gets its own turn.
    for (let i = 0; i < 10; i++)
      turns.run(() => {
        busy(3);
        events.push(`job ${i}`);
      });
    const timer = new Promise<void>((r) => setTimeout(() => (events.push('timer'), r()), 0));
    await timer;
    await sleep(50);
    const at = events.indexOf('timer');
    expect(events.filter((e) => e.startsWith('job'))).toHaveLength(10);
    // The timer ran before the last job, not after all 30 ms of them.
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(events.length - 1);
  });

  it('runs every job within the budget of one turn together, and goes on after a job throws', async () => {
    const errors: unknown[] = [];
    const turns = new TurnBudget(50, (e) => errors.push(e));
    const ran: number[] = [];
    turns.run(() => ran.push(0));
    turns.run(() => {
      throw new Error('a job fails');
    });
    turns.run(() => ran.push(2));
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual([0, 2]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('a job fails');
    // Queued again after the queue emptied: a new turn is scheduled.
    turns.run(() => ran.push(3));
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual([0, 2, 3]);
  });
});

describe('EventLoopDelay', () => {
  it('reports how late the timer ran, not the sampling interval', async () => {
    const delay = new EventLoopDelay(5);
    try {
      await sleep(60);
      const idle = delay.read();
      // Node's histogram alone reads about 5 ms here (the interval); the delay is far less.
      expect(idle.p50).toBeGreaterThanOrEqual(0);
      expect(idle.p50).toBeLessThan(4);
      await sleep(20);
      busy(40);
      await sleep(20);
      const blocked = delay.read();
      expect(blocked.max).toBeGreaterThanOrEqual(30);
      expect(blocked.p50).toBeLessThanOrEqual(blocked.p99);
      expect(blocked.p99).toBeLessThanOrEqual(blocked.max);
    } finally {
      delay.stop();
    }
  });

  it('reads 0 when nothing was sampled', () => {
    const delay = new EventLoopDelay(1000);
    try {
      expect(delay.read()).toEqual({ p50: 0, p99: 0, max: 0 });
    } finally {
      delay.stop();
    }
  });
});
