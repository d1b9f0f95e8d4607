/**
 * What goes to Redis: per chunk, a small descriptor (the data stays on shared storage); per
 * job, its metadata (how many chunks, where the parts go), for status and collect.
 */
import { checkRecordSchema, type RecordSchema } from '../../data/record-schema';
import { FORMATS, type RecordFormat } from '../../data/sources';
import { checkSettings, isSettingKey, SettingError, type PredictSettings } from '../../inference/predict-settings';
import type { Compression } from '../parts';
import type { Piece } from '../plan';

/** Which chunk of which job, what to read and where its part goes. */
export interface ChunkWork {
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
  schema: RecordSchema;
  format: RecordFormat | 'auto';
  idxPrefix?: string;
  inputs: string[];
}

/** A chunk's payload: its work and, beside it, the job's predict settings (src/inference/predict-settings.ts). */
export type ChunkDescriptor = ChunkWork & PredictSettings;

/** The payload of a chunk that is not one this worker can run. */
export class ChunkPayloadError extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min = 0): v is number => Number.isSafeInteger(v) && (v as number) >= min;
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

function checkPart(part: unknown): boolean {
  if (!isRecord(part)) return false;
  if (part.kind === 'bytes') return isCount(part.start) && isCount(part.end) && isCount(part.firstLine) && (part.header === null || typeof part.header === 'string');
  if (part.kind === 'rowGroups') return isCount(part.first) && isCount(part.last);
  return false;
}

function checkPiece(p: unknown): boolean {
  return isRecord(p) && isText(p.path) && FORMATS.some((f) => f.name === p.format) && (p.name === undefined || isText(p.name)) && (p.part === undefined || checkPart(p.part));
}

/** How each field of a chunk's work is checked (schema: checkRecordSchema), and what it must be.
 * A field added to ChunkWork and not here does not compile. */
const WORK_FIELDS: { [K in Exclude<keyof ChunkWork, 'schema'>]-?: [check: (value: unknown, payload: Record<string, unknown>) => boolean, expected: string] } = {
  job: [isText, 'a job name'],
  index: [(v, d) => isCount(v) && isCount(d.of) && v < d.of, 'a chunk index below "of"'],
  of: [(v) => isCount(v, 1), 'a chunk count'],
  pieces: [(v) => Array.isArray(v) && v.length > 0 && v.every(checkPiece), 'a list of input pieces (path, format, part)'],
  files: [(v) => isCount(v, 1), 'a file count'],
  model: [isText, 'a model path'],
  modelSha256: [(v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), 'a SHA-256 in hex'],
  output: [isText, 'a directory'],
  compression: [(v) => v === 'none' || v === 'gzip', 'none or gzip'],
  format: [(v) => v === 'auto' || FORMATS.some((f) => f.name === v), `auto or one of ${FORMATS.map((f) => f.name).join(', ')}`],
  idxPrefix: [(v) => v === undefined || isText(v), 'a prefix'],
  inputs: [(v) => Array.isArray(v) && v.every(isText), 'a list of paths'],
};

/**
 * A chunk's payload as a worker reads it from the queue, checked: every field of its work,
 * and its settings against their declarations (a setting left out takes its default). A
 * payload that is not one (from another version of rnn-node, or written by hand) is a
 * ChunkPayloadError naming what is wrong, before any work.
 */
export function readChunk(data: unknown): ChunkDescriptor {
  const bad = (what: string) => new ChunkPayloadError(`malformed chunk payload${isRecord(data) && isText(data.job) ? ` of job ${data.job}` : ''}: ${what}`);
  if (!isRecord(data)) throw bad('not an object');
  const unknown = Object.keys(data).filter((k) => !Object.hasOwn(WORK_FIELDS, k) && k !== 'schema' && !isSettingKey(k));
  if (unknown.length) throw bad(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (submitted by a newer rnn-node?)`);
  for (const [key, [check, expected]] of Object.entries(WORK_FIELDS))
    if (!check(data[key], data)) throw bad(`${key} must be ${expected}, got ${JSON.stringify(data[key]) ?? 'nothing'}`);
  let schema: RecordSchema;
  let settings: PredictSettings;
  try {
    schema = checkRecordSchema(data.schema, 'schema');
    settings = checkSettings(data);
  } catch (e) {
    if (e instanceof SettingError || e instanceof TypeError) throw bad(e.message);
    throw e;
  }
  return { ...(data as unknown as ChunkWork), schema, ...settings };
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
