/**
 * What a model keeps for its streams (`openStream`): the stream batcher, the model's
 * fingerprint for saved states (hashed once per set of weights), and its tokenizer for text.
 * The classifier makes one on the first `openStream` and tells it when the weights change.
 */
import { createHash } from 'node:crypto';
import type { NativeModel } from '../native/addon';
import type { ResolvedConfig } from '../model/config';
import { Preprocessor } from '../data/preprocessing';
import type { Tokenizer } from '../data/tokenizer';
import type { MicroBatcher, BatchingOptions } from './micro-batcher';
import { streamBatcher, type StreamHost } from './sequence-stream';
import { StateSlab } from './state-slab';
import type { StreamChunk } from './stream-input';

/** Without `setBatching`, the pushes made in one turn of the event loop run together. */
const STREAM_BATCHING: BatchingOptions = { maxDelayMs: 0, maxBatchSize: 1 << 16 };

export interface StreamOwner {
  readonly config: ResolvedConfig;
  /** The native model for a call (a BusyError during fit, a DisposedError after dispose). */
  native(): NativeModel;
  /** The model's preprocessing now (the public field may be replaced). */
  preprocessing(): Record<string, unknown> | null;
}

export class ModelStreams implements StreamHost {
  readonly batcher: MicroBatcher<StreamChunk, StreamChunk>;
  readonly width: number;
  readonly slab: StateSlab;
  #fingerprint: string | null = null;
  #tokenizer: { from: unknown; tokenizer: Tokenizer | null } | null = null;

  constructor(
    private readonly owner: StreamOwner,
    batching: BatchingOptions | null,
  ) {
    this.width = owner.native().streamInfo().width;
    this.slab = new StateSlab(this.width);
    this.batcher = streamBatcher(batching ?? STREAM_BATCHING, this);
  }

  get spec(): ResolvedConfig {
    return this.owner.config;
  }

  get classes(): number {
    return this.owner.config.classes;
  }

  native(): NativeModel {
    return this.owner.native();
  }

  /** SHA-256 of the config and the weights, computed once per set of weights. */
  fingerprint(): string {
    if (this.#fingerprint === null) {
      const params = this.owner.native().getParams();
      this.#fingerprint = createHash('sha256')
        .update(JSON.stringify(this.owner.config))
        .update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength))
        .digest('hex');
    }
    return this.#fingerprint;
  }

  weightsChanged(): void {
    this.#fingerprint = null;
  }

  tokenizer(): Tokenizer | null {
    const preprocessing = this.owner.preprocessing();
    if (this.#tokenizer?.from !== preprocessing) {
      const tokenizer = preprocessing && preprocessing.kind === 'text' ? Preprocessor.fromJSON(preprocessing).tokenizer : null;
      this.#tokenizer = { from: preprocessing, tokenizer };
    }
    return this.#tokenizer.tokenizer;
  }

  /** The model's batching options (setBatching), or the streams' own default (null). */
  configure(batching: BatchingOptions | null): void {
    this.batcher.configure(batching ?? STREAM_BATCHING);
  }
}
