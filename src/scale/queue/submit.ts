/**
 * `queue submit`: split the input (the rules of the shards), put one descriptor per chunk on
 * the queue (ids derived from the job name, so submitting the same job twice adds nothing),
 * and record the job's metadata.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Compression } from '../parts';
import { chunkPieces, chunkPiecesByRecords, describeInputs } from '../plan';
import type { RecordSchema } from '../../data/record-schema';
import type { RecordFormat } from '../../data/sources';
import type { PredictSettings } from '../../inference/predict-settings';
import { bullmq, checkReachable, metaClient, QUEUE_NAME, type RedisTarget } from './connection';
import { chunkId, metaKey, type ChunkDescriptor, type JobMeta } from './job';

export interface SubmitOptions {
  target: RedisTarget;
  prefix: string;
  name: string;
  model: string;
  modelSha256: string;
  inputs: string[];
  format: RecordFormat | 'auto';
  schema: RecordSchema;
  idxPrefix?: string;
  output: string;
  compression: Compression;
  chunk: { records: number } | { bytes: number };
  /** Carried whole in every chunk's payload, for the workers' runPrediction. */
  settings: PredictSettings;
  /** Attempts per chunk before it counts as failed. */
  attempts: number;
}

export async function submitJob(o: SubmitOptions): Promise<{ chunks: number }> {
  const units = await describeInputs(o.inputs, o.format, o.schema);
  const chunks = 'records' in o.chunk ? await chunkPiecesByRecords(units, o.chunk.records) : chunkPieces(units, o.chunk.bytes);
  const output = resolve(o.output);
  mkdirSync(output, { recursive: true });
  await checkReachable(o.target);
  const { Queue } = bullmq();
  const queue = new Queue(QUEUE_NAME, { connection: o.target.connection, prefix: o.prefix });
  const client = metaClient(o.target);
  try {
    const meta: JobMeta = { name: o.name, total: chunks.length, output, compression: o.compression, model: resolve(o.model), submittedAt: Date.now() };
    await client.set(metaKey(o.prefix, o.name), JSON.stringify(meta));
    const absolute = units.map((u) => resolve(u.path));
    const jobs = chunks.map((pieces, index) => {
      const data: ChunkDescriptor = {
        job: o.name, index, of: chunks.length, pieces: pieces.map((p) => ({ ...p, path: resolve(p.path), name: p.path })), files: units.length,
        model: resolve(o.model), modelSha256: o.modelSha256, output, compression: o.compression, schema: o.schema, format: o.format,
        ...(o.idxPrefix !== undefined ? { idxPrefix: o.idxPrefix } : {}), inputs: absolute, ...o.settings,
      };
      return { name: o.name, data, opts: { jobId: chunkId(o.name, index), attempts: o.attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false } };
    });
    for (let at = 0; at < jobs.length; at += 500) await queue.addBulk(jobs.slice(at, at + 500));
    return { chunks: chunks.length };
  } finally {
    client.disconnect();
    await queue.close();
  }
}
