/**
 * `queue work`: a BullMQ worker that predicts chunks. Per chunk: the model (loaded once per
 * checksum), the chunk's pieces through the prediction pipeline into its part file (atomic),
 * the sidecar, then BullMQ's acknowledgement. Processing is at-least-once: a worker killed
 * mid-chunk holds a lock that expires (`lockDuration`), BullMQ's stalled-job check puts the
 * chunk back, and another worker redoes it; the part is named by the chunk and written by
 * rename, so doing a chunk twice writes the same file and the output stays exactly-once.
 * The prediction runs on native threads off the event loop, so lock renewal keeps going
 * during a long chunk.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { SequenceClassifier } from '../../classifier/classifier';
import { fileSha256, preprocessorOf } from '../../inference/model-file';
import { runPrediction } from '../../inference/predict-job';
import { fileSink, runTo } from '../../inference/sinks';
import { chunkSource } from '../chunk-source';
import { countingSink, partName, writeSidecar } from '../parts';
import { bullmq, checkReachable, QUEUE_NAME, QueueRuntimeError, type RedisTarget } from './connection';
import { superviseWorker } from './worker-lifecycle';
import { ChunkPayloadError, readChunk, type ChunkDescriptor } from './job';

export interface WorkOptions {
  target: RedisTarget;
  prefix: string;
  concurrency: number;
  exitWhenIdle: boolean;
  /** Milliseconds a chunk's lock lasts without renewal (renewed every half of it). */
  lockDuration: number;
  /** Times a chunk may lose its worker before it counts as failed. */
  maxStalledCount: number;
  log: (line: string) => void;
}

export interface ChunkResult {
  records: number;
  skipped: number;
  seconds: number;
}

/** The models this worker has loaded, by file checksum. */
class ModelCache {
  #models = new Map<string, Promise<SequenceClassifier>>();

  get(path: string, sha256: string): Promise<SequenceClassifier> {
    let model = this.#models.get(sha256);
    if (!model) {
      model = (async () => {
        if (!existsSync(path)) throw new QueueRuntimeError(`the model ${path} does not exist on this worker`);
        const actual = fileSha256(path);
        if (actual !== sha256) throw new QueueRuntimeError(`the model ${path} on this worker is not the one submitted (SHA-256 ${actual.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…)`);
        return SequenceClassifier.load(path);
      })();
      model.catch(() => this.#models.delete(sha256));
      this.#models.set(sha256, model);
    }
    return model;
  }

  dispose(): void {
    for (const m of this.#models.values()) m.then((model) => model.dispose(), () => undefined);
    this.#models.clear();
  }
}

export async function processChunk(d: ChunkDescriptor, models: ModelCache, log: (line: string) => void): Promise<ChunkResult> {
  const started = performance.now();
  const model = await models.get(d.model, d.modelSha256);
  const source = chunkSource(d.pieces, { schema: d.schema, idxPrefix: d.idxPrefix, preferredPrefix: 't10k' });
  const part = partName(d.index, d.of, d.compression);
  const sink = countingSink(await fileSink(join(d.output, part)));
  const onSkip = (e: Error) => log(`skipped ${e.message}`);
  // The descriptor carries the job's predict settings as they are (job.ts checked them).
  const stats = await runTo(sink, () => runPrediction({ model, pre: preprocessorOf(model), source, files: d.files, sink, settings: d, onSkip }));
  await writeSidecar(d.output, { format: 'rnn-node-part', version: 1, part, index: d.index, of: d.of, records: sink.records(), sha256: sink.sha256(), inputs: d.inputs, model: d.modelSha256 });
  return { records: stats.records, skipped: stats.skipped, seconds: (performance.now() - started) / 1000 };
}

/** Runs until SIGTERM/SIGINT (the current chunks finish first) or, with exitWhenIdle, an empty queue. Resolves with the exit code. */
export async function runWorker(o: WorkOptions): Promise<number> {
  await checkReachable(o.target);
  const { Worker, Queue, UnrecoverableError } = bullmq();
  const models = new ModelCache();
  let fatal: Error | null = null;
  // Set once the worker exists (the processor only runs after that).
  let stop: () => Promise<void> = async () => undefined;
  // Typed unknown: a payload is what Redis holds, checked by readChunk before use.
  const worker = new Worker<unknown, ChunkResult>(
    QUEUE_NAME,
    async (job) => {
      let d: ChunkDescriptor;
      try {
        d = readChunk(job.data);
      } catch (e) {
        // A payload this worker cannot read fails its chunk at once: no retry reads it better.
        if (!(e instanceof ChunkPayloadError)) throw e;
        o.log(`chunk ${job.id} refused: ${e.message}`);
        throw new UnrecoverableError(e.message);
      }
      o.log(`chunk ${d.index + 1}/${d.of} of ${d.job} started (attempt ${job.attemptsMade + 1})`);
      try {
        const result = await processChunk(d, models, o.log);
        o.log(`chunk ${d.index + 1}/${d.of} of ${d.job} done: ${result.records} records in ${result.seconds.toFixed(2)} s`);
        return result;
      } catch (e) {
        // A worker without the job's model cannot do any of its chunks: say so once and stop.
        if (e instanceof QueueRuntimeError && !fatal) {
          fatal = e;
          setImmediate(() => void stop());
        }
        throw e;
      }
    },
    {
      connection: o.target.connection, prefix: o.prefix, concurrency: o.concurrency, autorun: true,
      // A chunk whose worker died is noticed within 1.5 lock durations: the lock expires, and the
      // stalled-job check (every half lock) puts it back. An idle worker polls every second.
      lockDuration: o.lockDuration, stalledInterval: Math.max(100, Math.floor(o.lockDuration / 2)), maxStalledCount: o.maxStalledCount, drainDelay: 1,
    },
  );
  worker.on('error', (e) => o.log(`Redis: ${e.message.split('\n')[0]}`));
  // With exitWhenIdle, a second connection watches the queue's counts.
  const lifecycle = superviseWorker({
    close: async () => {
      await worker.close();
      models.dispose();
    },
    watcher: o.exitWhenIdle ? new Queue(QUEUE_NAME, { connection: o.target.connection, prefix: o.prefix }) : null,
    idleMs: 0,
    pollMs: 200,
    onSignal: () => o.log('stopping: finishing the current chunk'),
  });
  stop = lifecycle.stop;
  await lifecycle.finished;
  if (fatal) {
    o.log((fatal as Error).message);
    return 1;
  }
  return 0;
}
