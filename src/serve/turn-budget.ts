/**
 * Work spread over turns of the event loop, a budget of time per turn.
 *
 * Under load every socket that has a whole request ready is read in the same turn, and each
 * request's JSON body (an inference body is hundreds of numbers: the largest piece of a
 * request's JavaScript time) would be parsed there too: the turn, and so the delay of every
 * timer (deadlines, health checks, metrics), would grow with the number of connections. Run
 * through a TurnBudget, jobs run in order on later turns (setImmediate), at most `budgetMs`
 * of them per turn (and at least one), so a turn stays short however many requests arrive
 * together. The work is the same; only when it runs changes. The caller bounds the queue
 * (`pending`): the server answers 429 past --max-queue.
 */
export class TurnBudget {
  private jobs: Array<(() => void) | undefined> = [];
  private head = 0;
  private scheduled = false;

  /** @param onError what a job that throws reports to (the other jobs still run) */
  constructor(
    private readonly budgetMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Jobs queued and not yet run. */
  get pending(): number {
    return this.jobs.length - this.head;
  }

  /** Runs `job` on a later turn, after the jobs queued before it. */
  run(job: () => void): void {
    this.jobs.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    const until = performance.now() + this.budgetMs;
    do {
      const job = this.jobs[this.head];
      this.jobs[this.head++] = undefined;
      try {
        job!();
      } catch (error) {
        try {
          this.onError(error);
        } catch {
          // Nothing more to tell: the queue must go on either way.
        }
      }
    } while (this.head < this.jobs.length && performance.now() < until);
    if (this.head < this.jobs.length) {
      // Run slots go once they are most of the array, so a queue that never empties under
      // sustained load does not grow.
      if (this.head > 1024 && this.head * 2 > this.jobs.length) {
        this.jobs = this.jobs.slice(this.head);
        this.head = 0;
      }
      setImmediate(this.drain);
      return;
    }
    this.jobs = [];
    this.head = 0;
    this.scheduled = false;
  };
}
