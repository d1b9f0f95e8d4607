/**
 * Dynamic batching for servers: concurrent `predictProba` calls on one model wait up to
 * `maxDelayMs` (or until `maxBatchSize` sequences are waiting) and run as one native batch,
 * as serving systems do. One batch runs at a time; calls that arrive meanwhile form the next,
 * which starts as soon as the running one ends. A sequence's probabilities are the same bits
 * in any batch (the batch invariant), so a coalesced call returns exactly what it would alone.
 * Each call keeps its own validation error and its own abort; results come back in order.
 */
import type { SequenceSet } from '../data/sequence-set';
import { invalidType, outOfRange } from '../util/errors';
import { checkInteger, checkNumber, checkKnownKeys } from '../util/validate';

export interface BatchingOptions {
  /** Longest a call waits for others before its batch runs. */
  maxDelayMs: number;
  /** Sequences that make a batch run at once (a larger call runs alone). */
  maxBatchSize: number;
}

export function resolveBatching(value: unknown): BatchingOptions | null {
  if (value === null || value === false) return null;
  if (typeof value !== 'object' || value === undefined || Array.isArray(value)) throw invalidType('options', "{ maxDelayMs, maxBatchSize }, or null to turn batching off", value);
  checkKnownKeys('options', value as Record<string, unknown>, ['maxDelayMs', 'maxBatchSize']);
  const o = value as Partial<BatchingOptions>;
  return {
    maxDelayMs: o.maxDelayMs === undefined ? 2 : checkNumber('options.maxDelayMs', o.maxDelayMs, 0, 1000),
    maxBatchSize: o.maxBatchSize === undefined ? 256 : checkInteger('options.maxBatchSize', o.maxBatchSize, 1, 1 << 20),
  };
}

interface Pending {
  set: SequenceSet;
  signal?: AbortSignal;
  resolve(probs: Float32Array): void;
  reject(error: unknown): void;
  onAbort?: () => void;
}

/** Runs one combined set; resolves with its probabilities [count x classes]. */
export type RunBatch = (set: SequenceSet) => Promise<Float32Array>;

/** What a batcher has run since batching was turned on. */
export interface BatchingStats {
  /** Native batches run (a call as large as a batch counts as one). */
  batches: number;
  calls: number;
  sequences: number;
}

export class MicroBatcher {
  readonly stats: BatchingStats = { batches: 0, calls: 0, sequences: 0 };
  #pending: Pending[] = [];
  #waiting = 0;
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(
    private options: BatchingOptions,
    private readonly classes: number,
    private readonly run: RunBatch,
  ) {}

  configure(options: BatchingOptions): void {
    this.options = options;
  }

  /** Queues one call's sequences; resolves with its probabilities. */
  submit(set: SequenceSet, signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (set.count >= this.options.maxBatchSize) {
      this.#count(1, set.count);
      return this.run(set); // a batch by itself
    }
    return new Promise((resolve, reject) => {
      const entry: Pending = { set, signal, resolve, reject };
      if (signal) {
        // Aborted while waiting: it leaves the queue; the others go on.
        entry.onAbort = () => {
          const at = this.#pending.indexOf(entry);
          if (at >= 0) {
            this.#pending.splice(at, 1);
            this.#waiting -= set.count;
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#pending.push(entry);
      this.#waiting += set.count;
      if (this.#waiting >= this.options.maxBatchSize) this.#dispatch();
      else if (!this.#timer && !this.#running) this.#timer = setTimeout(() => this.#dispatch(), this.options.maxDelayMs);
    });
  }

  /** Runs what is waiting now, without waiting out the delay (batching is being turned off). */
  flush(): void {
    this.#dispatch();
  }

  /** Rejects everything still waiting (the model is being disposed or batching turned off). */
  drain(error: unknown): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const pending = this.#pending;
    this.#pending = [];
    this.#waiting = 0;
    for (const p of pending) {
      if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
      p.reject(error);
    }
  }

  #dispatch(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running || this.#pending.length === 0) return;
    // Up to maxBatchSize sequences (at least one call), in arrival order.
    const batch: Pending[] = [];
    let count = 0;
    while (this.#pending.length > 0 && (batch.length === 0 || count + this.#pending[0].set.count <= this.options.maxBatchSize)) {
      const next = this.#pending.shift()!;
      batch.push(next);
      count += next.set.count;
    }
    this.#waiting -= count;
    this.#count(batch.length, count);
    for (const p of batch) if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    this.#running = true;
    let combined: SequenceSet;
    try {
      combined = combine(batch.map((p) => p.set));
    } catch (error) {
      this.#finish(batch, error, null);
      return;
    }
    // Started now, not on a later tick: the native threads begin while callers keep queueing.
    // A run that throws at once (the model was disposed, or is training) fails this batch only.
    let running: Promise<Float32Array>;
    try {
      running = this.run(combined);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (probs) => this.#finish(batch, null, probs),
      (error) => this.#finish(batch, error, null),
    );
  }

  #count(calls: number, sequences: number): void {
    this.stats.batches++;
    this.stats.calls += calls;
    this.stats.sequences += sequences;
  }

  #finish(batch: Pending[], error: unknown, probs: Float32Array | null): void {
    this.#running = false;
    // Calls that arrived meanwhile have waited for a whole batch already: start them first,
    // so the native threads compute while this batch's callers get their results.
    if (this.#pending.length > 0) this.#dispatch();
    let row = 0;
    for (const p of batch) {
      const rows = p.set.count;
      if (error) p.reject(error);
      else if (p.signal?.aborted) p.reject(p.signal.reason); // aborted while its batch ran
      else p.resolve(probs!.slice(row * this.classes, (row + rows) * this.classes));
      row += rows;
    }
  }
}

/** One set holding the sequences of several, in order (rows padded to the longest). */
export function combine(sets: SequenceSet[]): SequenceSet {
  if (sets.length === 1) return sets[0];
  const first = sets[0];
  const tokens = first.tokens !== undefined;
  const features = first.features;
  const count = sets.reduce((a, s) => a + s.count, 0);
  const steps = Math.max(...sets.map((s) => s.steps));
  if (sets.some((s) => (s.tokens !== undefined) !== tokens || s.features !== features))
    throw outOfRange('x', 'sequences of the same kind in every batched call', 'a mix');
  const lengths = new Int32Array(count);
  const width = steps * features;
  const values = tokens ? new Int32Array(count * width) : new Float32Array(count * width);
  let row = 0;
  for (const s of sets) {
    const source = (tokens ? s.tokens : s.dense)!;
    const rowWidth = s.steps * features;
    for (let r = 0; r < s.count; r++) {
      lengths[row] = s.lengths[r];
      values.set(source.subarray(r * rowWidth, r * rowWidth + s.lengths[r] * features), row * width);
      row++;
    }
  }
  return tokens
    ? { count, steps, features, lengths, tokens: values as Int32Array, typed: true }
    : { count, steps, features, lengths, dense: values as Float32Array, typed: true };
}
