/**
 * What goes to Redis: per chunk, a small descriptor (the data stays on shared storage); per
 * job, its metadata (how many chunks, where the parts go), for status and collect.
 */
import type { RecordSchema } from '../../data/record-schema';
import type { RecordFormat } from '../../data/sources';
import type { Compression } from '../parts';
import type { Piece } from '../plan';

export interface ChunkDescriptor {
  job: string;
  /** 0-based chunk index; the part file is part-<index>-of-<of>. */
  index: number;
  of: number;
  pieces: Piece[];
  /** Input files of the whole job (more than one: each line says its file). */
  files: number;
  model: string;
  modelSha256: string;
  output: string;
  compression: Compression;
  batchSize: number;
  topK?: number;
  onError: 'fail' | 'skip';
  schema: RecordSchema;
  format: RecordFormat | 'auto';
  idxPrefix?: string;
  inputs: string[];
}

export interface JobMeta {
  name: string;
  total: number;
  output: string;
  compression: Compression;
  model: string;
  submittedAt: number;
}

/** Job names: letters, digits, '.', '_' and '-' (they name BullMQ job ids and Redis keys). */
export const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const chunkId = (job: string, index: number) => `${job}__${String(index).padStart(5, '0')}`;

export const metaKey = (prefix: string, job: string) => `${prefix}:rnn-node-job:${job}`;
