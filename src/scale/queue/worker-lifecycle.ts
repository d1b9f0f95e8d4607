/**
 * How a BullMQ worker process of ours ends, for `queue work` and `tune work` alike: on
 * SIGTERM/SIGINT, on a fatal error of its own, or (with a watcher) once the queue has had
 * nothing waiting or running for `idleMs`. `stop()` closes it once; `finished` resolves when
 * it is closed.
 */
import type { Queue } from 'bullmq';

export interface WorkerLifecycle {
  stop: () => Promise<void>;
  finished: Promise<void>;
}

export function superviseWorker(o: {
  /** Closes the worker and what it holds (called once). */
  close: () => Promise<void>;
  /** Watches the queue's counts (exit when idle), or null. */
  watcher: Queue | null;
  /** How long the queue must stay empty (0: the first empty look). */
  idleMs: number;
  pollMs: number;
  /** Called on SIGTERM/SIGINT before the worker stops. */
  onSignal: () => void;
}): WorkerLifecycle {
  let closing: Promise<void> | null = null;
  let idleTimer: NodeJS.Timeout | undefined;
  const signals = ['SIGTERM', 'SIGINT'] as const;
  const onSignal = () => {
    o.onSignal();
    void stop();
  };
  const stop = () => {
    closing ??= (async () => {
      clearInterval(idleTimer);
      for (const s of signals) process.off(s, onSignal);
      await o.close();
      await o.watcher?.close();
    })();
    return closing;
  };
  for (const s of signals) process.on(s, onSignal);
  if (o.watcher) {
    const watcher = o.watcher;
    let idleSince: number | null = null;
    idleTimer = setInterval(async () => {
      try {
        const counts = await watcher.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        const empty = Object.values(counts).every((n) => n === 0);
        idleSince = empty ? (idleSince ?? Date.now()) : null;
        if (idleSince !== null && Date.now() - idleSince >= o.idleMs) void stop();
      } catch {
        // Redis away for a moment: try again on the next tick
      }
    }, o.pollMs);
  }
  const finished = new Promise<void>((done) => {
    const wait = setInterval(() => {
      if (closing) {
        clearInterval(wait);
        closing.then(done, done);
      }
    }, 100);
  });
  return { stop, finished };
}
