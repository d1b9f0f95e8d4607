/**
 * Dynamic batching for servers: concurrent `predictProba` calls (or stream pushes) on one
 * model wait up to `maxDelayMs` (or until `maxBatchSize` sequences are waiting) and run as
 * one native batch, as serving systems do. One batch runs at a time; calls that arrive meanwhile form the next,
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
  /** Told of each batch as it starts: its sequences and how long its first call waited (ms). For metrics. */
  onBatch?: (sequences: number, waitedMs: number) => void;
}

export function resolveBatching(value: unknown): BatchingOptions | null {
  if (value === null || value === false) return null;
  if (typeof value !== 'object' || value === undefined || Array.isArray(value)) throw invalidType('options', "{ maxDelayMs, maxBatchSize }, or null to turn batching off", value);
  checkKnownKeys('options', value as Record<string, unknown>, ['maxDelayMs', 'maxBatchSize', 'onBatch']);
  const o = value as Partial<BatchingOptions>;
  if (o.onBatch !== undefined && typeof o.onBatch !== 'function') throw invalidType('options.onBatch', 'a function', o.onBatch);
  return {
    ...(o.onBatch ? { onBatch: o.onBatch } : {}),
    maxDelayMs: o.maxDelayMs === undefined ? 2 : checkNumber('options.maxDelayMs', o.maxDelayMs, 0, 1000),
    maxBatchSize: o.maxBatchSize === undefined ? 256 : checkInteger('options.maxBatchSize', o.maxBatchSize, 1, 1 << 20),
  };
}

/** How a queued call hears its outcome: an error, or its item and result. */
export type Settle<Item, Result> = (error: unknown, item: Item, result: Result | undefined) => void;

interface Pending<Item, Result> {
  item: Item;
  size: number;
  /** When it was queued (performance.now()), for onBatch. */
  queuedAt: number;
  signal?: AbortSignal;
  settle: Settle<Item, Result>;
  onAbort?: () => void;
}

/** Runs the items of one batch together; resolves with one result per item, in order. */
export type RunBatch<Item, Result> = (items: Item[]) => Promise<Result[]>;

/** What a batcher has run since batching was turned on. */
export interface BatchingStats {
  /** Native batches run (a call as large as a batch counts as one). */
  batches: number;
  calls: number;
  sequences: number;
}

/**
 * The batcher, over any kind of call: `Item` is what a call submits (a set of sequences, a
 * stream's chunk with its state), `size(item)` how many sequences it adds to a batch, and
 * `run` runs one batch of items and gives each its `Result`. `width(item)`, when given, is how
 * many steps its sequences are padded to: a batch pads every sequence to its widest, so an item
 * joins a batch only while the padded steps stay within PADDING_LIMIT times the real ones (one
 * long sequence never makes hundreds of short ones as long as itself).
 */
/** Most padded steps a batch may hold per real step (see MicroBatcher). */
const PADDING_LIMIT = 4;

export class MicroBatcher<Item, Result> {
  readonly stats: BatchingStats = { batches: 0, calls: 0, sequences: 0 };
  #pending: Pending<Item, Result>[] = [];
  #waiting = 0;
  #timer: { cancel(): void } | null = null;
  #running = false;

  constructor(
    private options: BatchingOptions,
    private readonly size: (item: Item) => number,
    private readonly run: RunBatch<Item, Result>,
    private readonly width?: (item: Item) => number,
  ) {}

  configure(options: BatchingOptions): void {
    this.options = options;
  }

  /** Queues one call; resolves with its result. */
  submit(item: Item, signal?: AbortSignal): Promise<Result> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => this.enqueue(item, (error, _item, result) => (error ? reject(error) : resolve(result!)), signal));
  }

  /**
   * Queues one call without a promise of its own: `settle` hears its outcome, synchronously as
   * its batch ends (an error, or its result). For callers that settle a promise of their own
   * (a stream push): one promise per call instead of two.
   */
  enqueue(item: Item, settle: Settle<Item, Result>, signal?: AbortSignal): void {
    if (signal?.aborted) return settle(signal.reason, item, undefined);
    const size = this.size(item);
    if (size >= this.options.maxBatchSize) {
      this.#count(1, size);
      this.options.onBatch?.(size, 0);
      this.#runNow([item]).then((results) => settle(null, item, results[0]), (error) => settle(error, item, undefined)); // a batch by itself
      return;
    }
    const entry: Pending<Item, Result> = { item, size, queuedAt: this.options.onBatch ? performance.now() : 0, signal, settle };
    if (signal) {
      // Aborted while waiting: it leaves the queue; the others go on.
      entry.onAbort = () => {
        const at = this.#pending.indexOf(entry);
        if (at >= 0) {
          this.#pending.splice(at, 1);
          this.#waiting -= size;
        }
        settle(signal.reason, item, undefined);
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.#pending.push(entry);
    this.#waiting += size;
    if (this.#waiting >= this.options.maxBatchSize) this.#dispatch();
    else if (!this.#timer && !this.#running) this.#timer = this.#after(this.options.maxDelayMs);
  }

  /** Runs what is waiting now, without waiting out the delay (batching is being turned off). */
  flush(): void {
    this.#dispatch();
  }

  /** Rejects everything still waiting (the model is being disposed or batching turned off). */
  drain(error: unknown): void {
    this.#timer?.cancel();
    this.#timer = null;
    const pending = this.#pending;
    this.#pending = [];
    this.#waiting = 0;
    for (const p of pending) {
      if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
      p.settle(error, p.item, undefined);
    }
  }

  /** The dispatch after `ms`; 0 waits only for the calls made in the current turn of the
   * event loop (setImmediate: a setTimeout of 0 waits a millisecond). */
  #after(ms: number): { cancel(): void } {
    if (ms === 0) {
      const handle = setImmediate(() => this.#dispatch());
      return { cancel: () => clearImmediate(handle) };
    }
    const handle = setTimeout(() => this.#dispatch(), ms);
    return { cancel: () => clearTimeout(handle) };
  }

  /** A run that throws at once (the model was disposed, or is training) fails its batch only. */
  #runNow(items: Item[]): Promise<Result[]> {
    try {
      return this.run(items);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #dispatch(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#running || this.#pending.length === 0) return;
    // Up to maxBatchSize sequences (at least one call), in arrival order.
    let take = 0;
    let count = 0;
    let cells = 0; // real steps, sum of size × width
    let widest = 0;
    while (take < this.#pending.length) {
      const next = this.#pending[take];
      const w = this.width ? this.width(next.item) : 1;
      const wider = Math.max(widest, w);
      if (take > 0 && (count + next.size > this.options.maxBatchSize || (count + next.size) * wider > PADDING_LIMIT * (cells + next.size * w))) break;
      count += next.size;
      cells += next.size * w;
      widest = wider;
      take++;
    }
    const batch = this.#pending.splice(0, take);
    this.#waiting -= count;
    this.#count(batch.length, count);
    this.options.onBatch?.(count, performance.now() - batch[0].queuedAt);
    for (const p of batch) if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    this.#running = true;
    // Started now, not on a later tick: the native threads begin while callers keep queueing.
    this.#runNow(batch.map((p) => p.item)).then(
      (results) => this.#finish(batch, null, results),
      (error) => this.#finish(batch, error, null),
    );
  }

  #count(calls: number, sequences: number): void {
    this.stats.batches++;
    this.stats.calls += calls;
    this.stats.sequences += sequences;
  }

  #finish(batch: Pending<Item, Result>[], error: unknown, results: Result[] | null): void {
    this.#running = false;
    // Calls that arrived meanwhile have waited for a whole batch already: start them first,
    // so the native threads compute while this batch's callers get their results.
    if (this.#pending.length > 0) this.#dispatch();
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i];
      if (error) p.settle(error, p.item, undefined);
      else if (p.signal?.aborted) p.settle(p.signal.reason, p.item, undefined); // aborted while its batch ran
      else p.settle(null, p.item, results![i]);
    }
  }
}

/** Predictions through a batcher: each call's set joins one combined set, whose
 * probabilities [count × classes] are cut back into each call's rows. */
export function predictionBatcher(options: BatchingOptions, classes: number, predict: (set: SequenceSet) => Promise<Float32Array>): MicroBatcher<SequenceSet, Float32Array> {
  return new MicroBatcher<SequenceSet, Float32Array>(
    options,
    (set) => set.count,
    async (sets) => {
      const probs = await predict(combine(sets));
      let row = 0;
      return sets.map((set) => {
        const part = probs.slice(row * classes, (row + set.count) * classes);
        row += set.count;
        return part;
      });
    },
    (set) => set.steps,
  );
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
