/**
 * The model file: one file per model, written atomically (temp file, fsync, rename).
 *
 *   offset 0   "RNNNODE\0"                       magic
 *          8   u32 format version (3)
 *         12   u32 header length H
 *         16   H bytes of UTF-8 JSON header      config (initialisers included), labels,
 *                                                gate orders, tensors, preprocessing,
 *                                                training state
 *     16 + H   u64 parameter bytes P, then P bytes of little-endian float32 weights
 *              u64 optimizer bytes M (0 or 2P), then M bytes of optimizer moments
 *              u64 kept-weights bytes K (0 or P), then K bytes: weights a callback keeps
 *                  for later (early stopping's best epoch), named by training.keptWeights
 *    end - 4   u32 CRC-32 of every byte before it
 *
 * Format 3 adds the config's `precision` ('float32', or an inference-only 'int8'/'bf16'
 * model from `quantize()`, whose recurrent matrices hold their quantized values: see
 * quantize.ts). Format 2 files are float32 models and load as such. Format 1 (rnn-node 0.1)
 * had no kept-weights section and no initialisers in the config (its models were all made
 * with Keras's); it still loads.
 *
 * Loading checks the magic, the version and every size field against the file's length
 * before it allocates anything, then the checksum, then the header against the config's
 * own parameter count; only then is a model built.
 */
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { KERAS_INITIALIZERS, resolveConfig, type ResolvedConfig } from './config';
import { CheckpointError } from '../util/errors';
import { FILE_GATE_ORDER } from './cells';
import { packWeights, paramCountOf, tensorsOf, unpackWeights, type ModelDescription } from './description';
import type { SessionSnapshot, TrainingState } from '../training/session';
import { resolveOptimizer } from '../training/optimizer-options';
import { readRegularFile } from '../util/read-file';

export type { TrainingState } from '../training/session';

export const FORMAT_VERSION = 3;
/** The cells whose gate orders every model file records, since format 1. */
const ALWAYS_RECORDED = ['lstm', 'gru'];
/** The oldest format this version still reads. */
const OLDEST_FORMAT = 1;
const MAGIC = Buffer.from('RNNNODE\0', 'latin1');
/** Magic, version, header length, one u64 per section, checksum. */
const fixedBytes = (version: number) => 8 + 4 + 4 + 8 * (version >= 2 ? 3 : 2) + 4;
/** Largest model a file may describe (2^31 parameters, 8 GiB of weights). */
const MAX_PARAMS = 2 ** 31;

export interface CheckpointHeader {
  format: number;
  library: string;
  config: ResolvedConfig;
  /** Per cell with more than one gate block, its order ({ lstm: 'i,f,g,o', gru: 'z,r,h' }). */
  gateOrder: Readonly<Record<string, string>>;
  tensors: { name: string; shape: number[] }[];
  paramCount: number;
  /** Tokenizer vocabulary, normalisation statistics, ...: JSON owned by the data layer. */
  preprocessing: Record<string, unknown> | null;
  training: Omit<TrainingState, never> | null;
}

export interface Checkpoint {
  header: CheckpointHeader;
  params: Float32Array;
  moments: Float32Array | null;
  /** Weights kept by a callback (early stopping's best), with training.keptWeights. */
  kept: Float32Array | null;
}

function library(): string {
  return `rnn-node ${require('../../package.json').version}`;
}

/** Serialises a checkpoint into one buffer (header, sections, checksum). */
export function encodeCheckpoint(c: Checkpoint): Buffer {
  if (endianness() !== 'LE') throw new CheckpointError('model files are little-endian; this platform is big-endian');
  const header = Buffer.from(JSON.stringify(c.header), 'utf8');
  const params = Buffer.from(c.params.buffer, c.params.byteOffset, c.params.byteLength);
  const moments = c.moments ? Buffer.from(c.moments.buffer, c.moments.byteOffset, c.moments.byteLength) : Buffer.alloc(0);
  const kept = c.kept ? Buffer.from(c.kept.buffer, c.kept.byteOffset, c.kept.byteLength) : Buffer.alloc(0);
  const out = Buffer.alloc(fixedBytes(FORMAT_VERSION) + header.length + params.length + moments.length + kept.length);
  let at = 0;
  at += MAGIC.copy(out, at);
  at = out.writeUInt32LE(FORMAT_VERSION, at);
  at = out.writeUInt32LE(header.length, at);
  at += header.copy(out, at);
  at = out.writeBigUInt64LE(BigInt(params.length), at);
  at += params.copy(out, at);
  at = out.writeBigUInt64LE(BigInt(moments.length), at);
  at += moments.copy(out, at);
  at = out.writeBigUInt64LE(BigInt(kept.length), at);
  at += kept.copy(out, at);
  out.writeUInt32LE(crc32(out.subarray(0, at)), at);
  return out;
}

function fail(where: string, message: string): never {
  throw new CheckpointError(`${where}: ${message}`);
}

/** Parses and verifies a checkpoint; `where` names the file in messages. */
export function decodeCheckpoint(bytes: Uint8Array, where = 'model file'): Checkpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < fixedBytes(OLDEST_FORMAT)) fail(where, `truncated: ${buf.length} bytes is shorter than any model file`);
  if (!buf.subarray(0, 8).equals(MAGIC)) fail(where, 'not an rnn-node model file (bad magic bytes)');
  const version = buf.readUInt32LE(8);
  if (version < OLDEST_FORMAT || version > FORMAT_VERSION) {
    fail(where, version > FORMAT_VERSION
      ? `written in model format ${version} by a newer rnn-node; this version reads formats ${OLDEST_FORMAT} to ${FORMAT_VERSION}: upgrade rnn-node`
      : `unknown model format ${version}; re-save the model with rnn-node (format ${FORMAT_VERSION})`);
  }
  const fixed = fixedBytes(version);
  if (buf.length < fixed) fail(where, `truncated: ${buf.length} bytes is shorter than any model file of format ${version}`);
  // Every size field is checked against the bytes that are actually there before use.
  const headerLength = buf.readUInt32LE(12);
  let at = 16;
  if (headerLength > buf.length - fixed) fail(where, `truncated or corrupt: header length ${headerLength} exceeds the file (${buf.length} bytes)`);
  const headerBytes = buf.subarray(at, at + headerLength);
  at += headerLength;
  // Bytes from `at` to the checksum, less the n u64 size fields still to come.
  const room = (n: number) => BigInt(buf.length - at - 4 - 8 * n);
  const paramBytes = buf.readBigUInt64LE(at);
  at += 8;
  if (paramBytes > room(version >= 2 ? 2 : 1)) fail(where, `truncated or corrupt: weights section of ${paramBytes} bytes exceeds the file`);
  const paramStart = at;
  at += Number(paramBytes);
  const momentBytes = buf.readBigUInt64LE(at);
  at += 8;
  if (version === 1 ? momentBytes !== room(0) : momentBytes > room(1))
    fail(where, `truncated or corrupt: optimizer section of ${momentBytes} bytes does not fit the file`);
  const momentStart = at;
  at += Number(momentBytes);
  let keptBytes = 0n;
  let keptStart = at;
  if (version >= 2) {
    keptBytes = buf.readBigUInt64LE(at);
    at += 8;
    if (keptBytes !== room(0))
      fail(where, `truncated or corrupt: kept-weights section of ${keptBytes} bytes does not end 4 bytes before the end of the file`);
    keptStart = at;
    at += Number(keptBytes);
  }
  const stored = buf.readUInt32LE(at);
  const actual = crc32(buf.subarray(0, at));
  if (stored !== actual) fail(where, `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the file is corrupt`);

  let header: CheckpointHeader;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    fail(where, 'corrupt header (not JSON)');
  }
  if (typeof header !== 'object' || header === null) fail(where, 'corrupt header (not an object)');
  // Weights are read in this version's gate order: a file that says otherwise is not ours to guess.
  // Every file records the orders of the cells it was written with: always LSTM's and GRU's
  // (every format does), and a cell added later only where a file's model uses it, so files
  // written before that cell existed still load.
  const order = header.gateOrder as unknown as Record<string, unknown> | undefined;
  const wrongOrder = () => fail(where, `gate order ${JSON.stringify(order)} is not this version's (${JSON.stringify(FILE_GATE_ORDER)})`);
  const recorded = (cell: string) => order !== undefined && order !== null && Object.hasOwn(order, cell);
  if (!order || typeof order !== 'object') wrongOrder();
  if (Object.entries(FILE_GATE_ORDER).some(([cell, gates]) => (ALWAYS_RECORDED.includes(cell) || recorded(cell)) && order![cell] !== gates)) wrongOrder();
  let config: ResolvedConfig;
  try {
    const c = header.config as unknown as Record<string, unknown>;
    if (version < 3 && c?.precision !== undefined && c.precision !== 'float32')
      throw new Error(`a format ${version} file holds float32 models only, not ${JSON.stringify(c.precision)}`);
    config = resolveConfig({ ...(version === 1 ? withKerasInitializers(c) : c), classes: c?.labels ?? c?.classes }, false);
  } catch (e) {
    fail(where, `invalid config in header: ${(e as Error).message}`);
  }
  if (config.layers.some((l) => Object.hasOwn(FILE_GATE_ORDER, l.cell) && !recorded(l.cell))) wrongOrder();
  const expected = paramCountOf(config);
  if (expected > MAX_PARAMS) fail(where, `the config describes ${expected} parameters, more than the supported ${MAX_PARAMS}`);
  if (header.paramCount !== expected || paramBytes !== BigInt(4 * expected))
    fail(where, `the config needs ${expected} weights but the file holds ${Number(paramBytes) / 4}`);
  if (momentBytes !== 0n && momentBytes !== BigInt(8 * expected))
    fail(where, `optimizer section holds ${momentBytes} bytes; expected 0 or ${8 * expected}`);
  if (header.preprocessing !== null && (typeof header.preprocessing !== 'object' || Array.isArray(header.preprocessing)))
    fail(where, 'corrupt header: preprocessing must be an object or null');
  const training = header.training;
  if (training !== null) {
    const ok =
      typeof training === 'object' &&
      typeof training.optimizer === 'object' &&
      Number.isInteger(training.optimizerSteps) && training.optimizerSteps >= 0 &&
      Number.isInteger(training.epochs) && training.epochs >= 0 &&
      Number.isInteger(training.rngState) && training.rngState >= 0 && training.rngState < 2 ** 32;
    if (!ok) fail(where, 'corrupt header: invalid training state');
    try {
      const normalized = resolveOptimizer(training.optimizer).config;
      if (JSON.stringify(normalized) !== JSON.stringify(training.optimizer)) throw new Error('not in normal form');
    } catch (e) {
      fail(where, `corrupt header: invalid optimizer in the training state (${(e as Error).message})`);
    }
    if (momentBytes === 0n) fail(where, 'corrupt file: training state without optimizer moments');
    if (training.keptWeights !== undefined && typeof training.keptWeights !== 'string')
      fail(where, 'corrupt header: keptWeights must name a callback');
  }
  if (keptBytes !== 0n && keptBytes !== BigInt(4 * expected))
    fail(where, `kept-weights section holds ${keptBytes} bytes; expected 0 or ${4 * expected}`);
  if ((keptBytes !== 0n) !== (training !== null && training.keptWeights !== undefined))
    fail(where, 'corrupt file: kept weights and the callback that keeps them must come together');
  // Copy out so the returned arrays are aligned and independent of the file buffer.
  const params = new Float32Array(expected);
  Buffer.from(params.buffer).set(buf.subarray(paramStart, paramStart + 4 * expected));
  let moments: Float32Array | null = null;
  if (momentBytes !== 0n) {
    moments = new Float32Array(2 * expected);
    Buffer.from(moments.buffer).set(buf.subarray(momentStart, momentStart + 8 * expected));
  }
  let kept: Float32Array | null = null;
  if (keptBytes !== 0n) {
    kept = new Float32Array(expected);
    Buffer.from(kept.buffer).set(buf.subarray(keptStart, keptStart + 4 * expected));
  }
  // A model with a NaN or infinite weight predicts NaN: such a file (crafted, or written by
  // another tool) is refused rather than loaded.
  for (const [section, values] of [['weights', params], ['optimizer state', moments], ['kept weights', kept]] as const) {
    const bad = values ? values.findIndex((v) => !Number.isFinite(v)) : -1;
    if (bad >= 0) fail(where, `${section} value ${bad} is ${values![bad]}, not a finite number`);
  }
  return { header: { ...header, config }, params, moments, kept };
}

/** A format-1 config, with the initialisers every format-1 model was made with (Keras's). */
function withKerasInitializers(c: Record<string, unknown>): Record<string, unknown> {
  if (typeof c !== 'object' || c === null) return c;
  const input = c.input as Record<string, unknown> | undefined;
  const layers = c.layers as unknown;
  return {
    ...c,
    input: input && typeof input === 'object' && input.type === 'tokens' ? { embeddingInitializer: KERAS_INITIALIZERS.embedding, ...input } : input,
    layers: Array.isArray(layers)
      ? layers.map((l) =>
          l && typeof l === 'object'
            ? { kernelInitializer: KERAS_INITIALIZERS.kernel, recurrentInitializer: KERAS_INITIALIZERS.recurrent, biasInitializer: KERAS_INITIALIZERS.bias, ...l }
            : l,
        )
      : layers,
  };
}

export function makeHeader(config: ResolvedConfig, preprocessing: Record<string, unknown> | null, training: TrainingState | null): CheckpointHeader {
  return {
    format: FORMAT_VERSION,
    library: library(),
    config,
    gateOrder: FILE_GATE_ORDER,
    tensors: tensorsOf(config).map((t) => ({ name: t.name, shape: t.shape })),
    paramCount: paramCountOf(config),
    preprocessing,
    training,
  };
}

/** The model file of a description, with the training sections a session gives (or none). */
export function encodeModelFile(d: ModelDescription, { training, moments, kept }: SessionSnapshot = { training: null, moments: null, kept: null }): Buffer {
  const params = packWeights(tensorsOf(d.config), d.weights);
  return encodeCheckpoint({ header: makeHeader(d.config, d.preprocessing, training), params, moments, kept });
}

/** The model a checkpoint holds, as a description (its training state aside). */
export function describeCheckpoint(c: Checkpoint): ModelDescription {
  return { config: c.header.config, weights: unpackWeights(tensorsOf(c.header.config), c.params), preprocessing: c.header.preprocessing };
}


export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, 4 * MAX_PARAMS * 3 + 64 * 1024 * 1024, 'any model this version can hold');
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message.replace(/^cannot read/, 'cannot read the model file')}`);
  }
  return decodeCheckpoint(bytes, path);
}
