/**
 * Streams: `model.openStream()` reads a sequence as it arrives, a chunk per `push`, and
 * answers with the class probabilities so far. Each stream keeps its carried state (every
 * layer's h, and c for an LSTM, and the pooling accumulator: native/core/stream.h) in its own
 * buffer; pushes from many streams that arrive together run as one native call through the
 * model's stream batcher, each row starting from its stream's state. Pushes on one stream
 * apply in call order (each waits for the one before). A sequence pushed in any chunking
 * gives the bits `predictProba` gives on the same prefix.
 */
import type { NativeModel } from '../native/addon';
import type { SequenceSpec } from '../data/input-config';
import type { Tokenizer } from '../data/tokenizer';
import { invalidType, outOfRange, StreamClosedError } from '../util/errors';
import { checkKnownKeys } from '../util/validate';
import { MicroBatcher, type BatchingOptions } from './micro-batcher';
import { toStreamChunk, type StreamChunk, type StreamSteps } from './stream-input';
import { decodeStreamState, encodeStreamState } from './stream-state';
import type { StateSlab } from './state-slab';

export type { StreamSteps, DenseSteps, TokenSteps } from './stream-input';

export interface OpenStreamOptions {
  /** Bytes from `saveState()` of a stream on this model (same config and weights): go on from there. */
  state?: Uint8Array;
}

export interface PushOptions {
  /** The probabilities after every step pushed (one row per step), not only after the last. */
  everyStep?: boolean;
}

/** What a model lends its streams. */
export interface StreamHost {
  readonly spec: SequenceSpec;
  readonly classes: number;
  /** The native model, or a BusyError/DisposedError. */
  native(): NativeModel;
  /** Floats of carried state per stream. */
  readonly width: number;
  /** Where the streams' carried states live (a row each). */
  readonly slab: StateSlab;
  /** The model's fingerprint (config and weights), for saved states. */
  fingerprint(): string;
  /** The model's tokenizer (text models), or null. */
  tokenizer(): Tokenizer | null;
  readonly batcher: MicroBatcher<StreamChunk, StreamChunk>;
}

/** The batcher of a model's streams: chunks that arrive together run as one native call. */
export function streamBatcher(options: BatchingOptions, host: Omit<StreamHost, 'batcher'>): MicroBatcher<StreamChunk, StreamChunk> {
  return new MicroBatcher<StreamChunk, StreamChunk>(
    options,
    () => 1,
    async (chunks) => {
    const model = host.native();
    const C = host.classes;
    const n = chunks.length;
    // The chunks as one padded batch [n × steps × features]; their states are their slots'
    // rows of the slab, which the addon reads and writes itself.
    let steps = 1;
    for (const c of chunks) if (c.length > steps) steps = c.length;
    const tokens = host.spec.input.type === 'tokens';
    const features = tokens ? 1 : (host.spec.input as { features: number }).features;
    const values = tokens ? new Int32Array(n * steps) : new Float32Array(n * steps * features);
    const lengths = new Int32Array(n);
    const slots = new Int32Array(n);
    const prior = new Int32Array(n);
    let everyStep = false;
    for (let i = 0; i < n; i++) {
      const c = chunks[i];
      values.set(c.values, i * steps * features);
      lengths[i] = c.length;
      slots[i] = c.slot;
      prior[i] = c.steps;
      everyStep ||= c.everyStep;
    }
    const batch = tokens ? { batch: n, steps, lengths, tokens: values as Int32Array } : { batch: n, steps, lengths, dense: values as Float32Array };
    const probabilities = await model.stream(batch, host.slab.pages, slots, prior, everyStep, 0);
    for (let i = 0; i < n; i++) {
      const c = chunks[i];
      const first = everyStep ? (c.everyStep ? i * steps : i * steps + c.length - 1) : i;
      c.read = probabilities.slice(first * C, (first + (c.everyStep ? c.length : 1)) * C);
    }
    return chunks;
    },
    (chunk) => chunk.length,
  );
}

export class SequenceStream {
  readonly #host: StreamHost;
  /** This stream's row in the model's state slab. */
  readonly #slot: number;
  #steps = 0;
  /** Probabilities after the last step read ([classes]); meaningless while #steps is 0. */
  readonly #last: Float32Array;
  #closed = false;
  /** Operations run one at a time, in call order: the one running, and those waiting. */
  #running = false;
  readonly #waiting: Array<() => void> = [];

  constructor(host: StreamHost, options: OpenStreamOptions = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'an object', options);
    checkKnownKeys('options', options as Record<string, unknown>, ['state']);
    this.#host = host;
    this.#last = new Float32Array(host.classes);
    const saved = options.state === undefined ? null : decodeStreamState(options.state, { model: host.fingerprint(), width: host.width, classes: host.classes });
    this.#slot = host.slab.acquire(this);
    if (saved) {
      host.slab.row(this.#slot).set(saved.state);
      this.#steps = saved.steps;
      if (saved.last) this.#last.set(saved.last);
    }
  }

  /** Steps read so far (masked steps are not read). */
  get steps(): number {
    return this.#steps;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads `steps` after those pushed before and resolves with the class probabilities after
   * the last of them ([classes]), or with `{ everyStep: true }` after each ([steps][classes]).
   * Typed input (Float32Array or Int32Array) gets a Float32Array back (flat, for every step),
   * other input plain arrays. Text goes through the model's tokenizer: with a word tokenizer
   * a push ends a word. A push whose steps are all masked (or that holds none) changes nothing.
   */
  push(steps: StreamSteps, options?: PushOptions): Promise<Float32Array | number[] | number[][]> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    let chunk: StreamChunk;
    try {
      chunk = toStreamChunk(steps, this.#host.spec, this.#host.tokenizer());
      if (options !== undefined) {
        if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'an object', options);
        checkKnownKeys('options', options as Record<string, unknown>, ['everyStep']);
        const everyStep = options.everyStep ?? false;
        if (typeof everyStep !== 'boolean') throw invalidType('options.everyStep', 'a boolean', everyStep);
        chunk.everyStep = everyStep;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#running) {
      // The common case, nothing waiting on this stream: no closure for the queue.
      this.#running = true;
      try {
        return this.#read(chunk);
      } catch (error) {
        this.#advance();
        return Promise.reject(error);
      }
    }
    return this.#enqueue(() => this.#read(chunk));
  }

  #read(chunk: StreamChunk): Promise<Float32Array | number[] | number[][]> {
    // The probabilities before this push, for rows of masked steps (everyStep) or an empty push.
    if (this.#steps > 0 && (chunk.length === 0 || (chunk.everyStep && chunk.through))) chunk.before = this.#last.slice();
    if (chunk.length === 0) {
      this.#advance();
      if (!chunk.everyStep && !chunk.before) return Promise.reject(outOfRange('steps', 'at least one unmasked step (this stream has read none yet, so there are no probabilities to give)', 'no unmasked step'));
      return Promise.resolve(chunk.everyStep ? this.#rows(chunk) : shaped(chunk.before!, chunk.typed, this.#host.classes, false));
    }
    if (this.#steps + chunk.length > 2 ** 31 - 1) {
      this.#advance();
      return Promise.reject(outOfRange('steps', `at most ${2 ** 31 - 1 - this.#steps} more steps (a stream reads at most 2^31 - 1)`, chunk.length));
    }
    chunk.slot = this.#slot;
    chunk.steps = this.#steps;
    return new Promise((resolve, reject) => {
      chunk.resolve = resolve;
      chunk.reject = reject;
      this.#host.batcher.enqueue(chunk, this.#settle);
    });
  }

  /** A push's batch ended (bound once per stream, not per push): the stream moves on, then
   * the next operation starts and the push settles. */
  readonly #settle = (error: unknown, chunk: StreamChunk): void => {
    if (error) {
      // The stream is as it was before the push (the batcher wrote no state).
      this.#advance();
      chunk.reject!(error);
      return;
    }
    const C = this.#host.classes;
    const read = chunk.read!;
    this.#steps += chunk.length;
    this.#last.set(read.length === C ? read : read.subarray(read.length - C));
    this.#advance();
    if (!chunk.everyStep) chunk.resolve!(shaped(read, chunk.typed, C, false));
    else chunk.resolve!(chunk.through === null ? shaped(read, chunk.typed, C, true) : this.#rows(chunk));
  };

  /** One row per step given; a masked step repeats the probabilities before it (NaN before
   * the stream's first unmasked step). */
  #rows(chunk: StreamChunk) {
    const C = this.#host.classes;
    const { read, before } = chunk;
    const rows = new Float32Array(chunk.given * C);
    for (let t = 0; t < chunk.given; t++) {
      const k = chunk.through ? chunk.through[t] : t + 1;
      if (k > 0) rows.set(read!.subarray((k - 1) * C, k * C), t * C);
      else if (before) rows.set(before, t * C);
      else rows.fill(NaN, t * C, (t + 1) * C);
    }
    return shaped(rows, chunk.typed, C, true);
  }

  /** Forgets everything read: the next push starts a new sequence. Applies in call order. */
  reset(): Promise<void> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    return this.#enqueue(() => {
      this.#host.slab.row(this.#slot).fill(0);
      this.#steps = 0;
      this.#advance();
      return Promise.resolve();
    });
  }

  /** The state after every push made so far, as bytes for `model.openStream({ state })`. */
  saveState(): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    return this.#enqueue(() => {
      const bytes = encodeStreamState({ model: this.#host.fingerprint(), state: this.#host.slab.row(this.#slot), steps: this.#steps, last: this.#steps > 0 ? this.#last : null }, this.#host.classes);
      this.#advance();
      return Promise.resolve(bytes);
    });
  }

  /** Ends the stream: pushes already made still finish; later calls throw StreamClosedError.
   * Its slot goes back to the slab once nothing of it runs. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#running) this.#host.slab.release(this.#slot, this);
  }

  /** Runs `start` once every operation before it has settled (at once when none is running).
   * Each operation calls #advance exactly once, when it has done its work. */
  #enqueue<T>(start: () => Promise<T>): Promise<T> {
    if (this.#running) return new Promise<T>((resolve, reject) => this.#waiting.push(() => this.#guarded(start).then(resolve, reject)));
    this.#running = true;
    return this.#guarded(start);
  }

  #guarded<T>(start: () => Promise<T>): Promise<T> {
    try {
      return start();
    } catch (error) {
      this.#advance();
      return Promise.reject(error);
    }
  }

  /** The next operation waiting starts now (or the stream goes idle). */
  #advance(): void {
    const next = this.#waiting.shift();
    // Started from a fresh microtask, not from here: operations that finish at once (an
    // empty push, reset) would otherwise start each other recursively, thousands deep.
    if (next) return queueMicrotask(next);
    this.#running = false;
    if (this.#closed) this.#host.slab.release(this.#slot, this);
  }
}

function shaped(probs: Float32Array, typed: boolean, C: number, rows: boolean): Float32Array | number[] | number[][] {
  if (typed) return probs;
  if (!rows) return Array.from(probs);
  return Array.from({ length: probs.length / C }, (_, t) => Array.from(probs.subarray(t * C, (t + 1) * C)));
}
