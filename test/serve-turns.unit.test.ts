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
    const turns = new TurnBudget(1000, (e) => {
      throw e;
    });
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) turns.run(() => ran.push(i));
    expect(ran).toEqual([]);
    expect(turns.pending).toBe(5);
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(turns.pending).toBe(0);
  });

  it('lets timers run between jobs once a turn has spent its budget', async () => {
    const turns = new TurnBudget(2, (e) => {
      throw e;
    });
    const events: string[] = [];
    let lastDone!: () => void;
    const last = new Promise<void>((r) => (lastDone = r));
    // 10 jobs of 3 ms each: over budget after every job, so each job gets its own turn.
    for (let i = 0; i < 10; i++)
      turns.run(() => {
        busy(3);
        events.push(`job ${i}`);
        if (i === 9) lastDone();
      });
    setTimeout(() => events.push('timer'), 0);
    await last;
    expect(events.filter((e) => e.startsWith('job'))).toHaveLength(10);
    // The timer ran before the last job, not after all 30 ms of them.
    const at = events.indexOf('timer');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(events.length - 1);
  });

  it('goes on after a job throws, and after its error report throws too', async () => {
    const errors: unknown[] = [];
    const turns = new TurnBudget(1000, (e) => {
      errors.push(e);
      throw new Error('the report fails too');
    });
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

  it('keeps its queue small under a backlog that never empties', async () => {
    const turns = new TurnBudget(0, (e) => {
      throw e;
    });
    let ran = 0;
    // One job per turn (budget 0) while 3 more arrive each turn: the backlog grows, and
    // the queue array holds what is pending, not every job ever queued.
    for (let i = 0; i < 3000; i++) turns.run(() => ran++);
    for (let turn = 0; turn < 2000; turn++) {
      await new Promise((r) => setImmediate(r));
      for (let k = 0; k < 3; k++) turns.run(() => ran++);
    }
    expect(ran).toBeGreaterThan(1000);
    expect(turns.pending).toBe(3000 + 6000 - ran);
    expect((turns as unknown as { jobs: unknown[] }).jobs.length).toBeLessThan(3 * turns.pending + 2048);
  });
});

describe('EventLoopDelay', () => {
  it('reports how late the timer ran, not the sampling interval', async () => {
    const delay = new EventLoopDelay(20);
    try {
      await sleep(250);
      const idle = delay.read();
      // Node's histogram alone reads at least 20 ms here (the interval); the delay is less.
      expect(idle.p50).toBeGreaterThanOrEqual(0);
      expect(idle.p50).toBeLessThan(15);
      await sleep(30);
      busy(60);
      await sleep(50);
      const blocked = delay.read();
      expect(blocked.max).toBeGreaterThanOrEqual(40);
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
