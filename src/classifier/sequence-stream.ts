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
import { batchOf, type SequenceSet } from '../data/sequence-set';
import type { SequenceSpec } from '../data/input-config';
import type { Tokenizer } from '../data/tokenizer';
import { invalidType, outOfRange, StreamClosedError } from '../util/errors';
import { checkKnownKeys } from '../util/validate';
import { combine, MicroBatcher, type BatchingOptions } from './micro-batcher';
import { toStreamChunk, type StreamSteps } from './stream-input';
import { decodeStreamState, encodeStreamState } from './stream-state';

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
  /** The model's fingerprint (config and weights), for saved states. */
  fingerprint(): string;
  /** The model's tokenizer (text models), or null. */
  tokenizer(): Tokenizer | null;
  readonly batcher: MicroBatcher<StreamChunk, StreamResult>;
}

/** One stream's next chunk, as the batcher carries it. */
export interface StreamChunk {
  set: SequenceSet;
  state: Float32Array;
  steps: number;
  everyStep: boolean;
}

export interface StreamResult {
  /** [classes] after the last step, or [length × classes] after each. */
  probabilities: Float32Array;
  state: Float32Array;
}

/** The batcher of a model's streams: chunks that arrive together run as one native call. */
export function streamBatcher(options: BatchingOptions, host: Omit<StreamHost, 'batcher'>): MicroBatcher<StreamChunk, StreamResult> {
  return new MicroBatcher<StreamChunk, StreamResult>(options, () => 1, async (chunks) => {
    const model = host.native();
    const { width, classes: C } = host;
    const set = combine(chunks.map((c) => c.set));
    const states = new Float32Array(chunks.length * width);
    const prior = new Int32Array(chunks.length);
    chunks.forEach((c, i) => {
      states.set(c.state, i * width);
      prior[i] = c.steps;
    });
    const everyStep = chunks.some((c) => c.everyStep);
    const out = await model.stream(batchOf(set, null, 0, set.count), states, prior, everyStep, 0);
    return chunks.map((c, i) => {
      const length = c.set.lengths[0];
      const first = everyStep ? (c.everyStep ? i * set.steps : i * set.steps + length - 1) : i;
      const rows = c.everyStep ? length : 1;
      return { probabilities: out.probabilities.slice(first * C, (first + rows) * C), state: out.states.subarray(i * width, (i + 1) * width) };
    });
  });
}

export class SequenceStream {
  readonly #host: StreamHost;
  readonly #state: Float32Array;
  #steps = 0;
  #last: Float32Array | null = null;
  #closed = false;
  /** The last operation queued: each push, reset and saveState waits for the one before. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(host: StreamHost, options: OpenStreamOptions = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'an object', options);
    checkKnownKeys('options', options as Record<string, unknown>, ['state']);
    this.#host = host;
    this.#state = new Float32Array(host.width);
    if (options.state !== undefined) {
      const saved = decodeStreamState(options.state, { model: host.fingerprint(), width: host.width, classes: host.classes });
      this.#state.set(saved.state);
      this.#steps = saved.steps;
      this.#last = saved.last;
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
  push(steps: StreamSteps, options: PushOptions = {}): Promise<Float32Array | number[] | number[][]> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    let everyStep: boolean;
    let chunk: ReturnType<typeof toStreamChunk>;
    try {
      if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'an object', options);
      checkKnownKeys('options', options as Record<string, unknown>, ['everyStep']);
      everyStep = options.everyStep ?? false;
      if (typeof everyStep !== 'boolean') throw invalidType('options.everyStep', 'a boolean', everyStep);
      chunk = toStreamChunk(steps, this.#host.spec, this.#host.tokenizer());
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#queue(async () => {
      const C = this.#host.classes;
      const before = this.#last; // the probabilities before this push's first step
      let read: Float32Array | null = null;
      if (chunk.set) {
        const result = await this.#host.batcher.submit({ set: chunk.set, state: this.#state, steps: this.#steps, everyStep });
        this.#state.set(result.state);
        this.#steps += chunk.set.lengths[0];
        read = result.probabilities;
        this.#last = read.slice(read.length - C);
      } else if (!everyStep && this.#last === null) {
        throw outOfRange('steps', 'at least one unmasked step (this stream has read none yet, so there are no probabilities to give)', 'no unmasked step');
      }
      if (!everyStep) return shaped(this.#last!.slice(), chunk.typed, C, false);
      // One row per step given; a masked step repeats the probabilities before it (NaN before
      // the stream's first unmasked step).
      const rows = new Float32Array(chunk.given * C);
      for (let t = 0; t < chunk.given; t++) {
        const k = chunk.through[t];
        if (k > 0) rows.set(read!.subarray((k - 1) * C, k * C), t * C);
        else if (before) rows.set(before, t * C);
        else rows.fill(NaN, t * C, (t + 1) * C);
      }
      return shaped(rows, chunk.typed, C, true);
    });
  }

  /** Forgets everything read: the next push starts a new sequence. Applies in call order. */
  reset(): Promise<void> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    return this.#queue(async () => {
      this.#state.fill(0);
      this.#steps = 0;
      this.#last = null;
    });
  }

  /** The state after every push made so far, as bytes for `model.openStream({ state })`. */
  saveState(): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new StreamClosedError());
    return this.#queue(async () =>
      encodeStreamState({ model: this.#host.fingerprint(), state: this.#state, steps: this.#steps, last: this.#last }, this.#host.classes),
    );
  }

  /** Ends the stream: pushes already made still finish; later calls throw StreamClosedError. */
  close(): void {
    this.#closed = true;
  }

  #queue<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(operation, operation);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

function shaped(probs: Float32Array, typed: boolean, C: number, rows: boolean): Float32Array | number[] | number[][] {
  if (typed) return probs;
  if (!rows) return Array.from(probs);
  return Array.from({ length: probs.length / C }, (_, t) => Array.from(probs.subarray(t * C, (t + 1) * C)));
}
