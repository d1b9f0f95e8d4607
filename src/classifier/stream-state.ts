/**
 * A stream's state as bytes (`saveState`), and back (`openStream({ state })`), so a stateless
 * server can keep a session anywhere (Redis, a cookie store) between requests.
 *
 * Layout (little-endian):
 *   "RNNSTATE"                8 bytes
 *   version                   u32 (1)
 *   header length             u32, then the header: UTF-8 JSON
 *                             { model, width, classes, steps, hasLast }
 *   zero padding to a multiple of 4
 *   carried state             width float32 (native/core/stream.h)
 *   last probabilities        classes float32, when hasLast
 *   SHA-256 of all the above  32 bytes
 * `model` is the model's fingerprint (its config and weights): a state from another model, or
 * from this model before its weights changed, is refused rather than continued wrongly.
 */
import { createHash } from 'node:crypto';
import { StreamStateError } from '../util/errors';

const MAGIC = 'RNNSTATE';
const VERSION = 1;
const DIGEST = 32;

export interface StreamStateData {
  /** The model's fingerprint (StreamHost.fingerprint). */
  model: string;
  /** Carried state [width]. */
  state: Float32Array;
  /** Steps read so far (unmasked). */
  steps: number;
  /** Probabilities after the last step read, or null before any. */
  last: Float32Array | null;
}

export function encodeStreamState(data: StreamStateData, classes: number): Uint8Array {
  const header = Buffer.from(JSON.stringify({ model: data.model, width: data.state.length, classes, steps: data.steps, hasLast: data.last !== null }), 'utf8');
  const headerEnd = 16 + header.length;
  const floatsAt = Math.ceil(headerEnd / 4) * 4;
  const floats = data.state.length + (data.last ? classes : 0);
  const bytes = Buffer.alloc(floatsAt + 4 * floats + DIGEST);
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(VERSION, 8);
  bytes.writeUInt32LE(header.length, 12);
  header.copy(bytes, 16);
  const view = new Float32Array(bytes.buffer, bytes.byteOffset + floatsAt, floats);
  view.set(data.state);
  if (data.last) view.set(data.last, data.state.length);
  createHash('sha256').update(bytes.subarray(0, bytes.length - DIGEST)).digest().copy(bytes, bytes.length - DIGEST);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The state in `bytes`, checked against this model (fingerprint, width, classes). */
export function decodeStreamState(bytes: unknown, expected: { model: string; width: number; classes: number }): StreamStateData {
  if (!(bytes instanceof Uint8Array)) throw new StreamStateError(`Expected options.state to be a Uint8Array (from saveState()), got ${bytes === null ? 'null' : typeof bytes}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const bad = (what: string) => new StreamStateError(`options.state is not a stream state this version reads: ${what}`);
  if (b.length < 16 + DIGEST || b.toString('latin1', 0, 8) !== MAGIC) throw bad('no RNNSTATE header');
  const version = b.readUInt32LE(8);
  if (version !== VERSION) throw bad(`format version ${version} (this version reads ${VERSION})`);
  const headerLength = b.readUInt32LE(12);
  if (16 + headerLength + DIGEST > b.length) throw bad('truncated header');
  const digest = createHash('sha256').update(b.subarray(0, b.length - DIGEST)).digest();
  if (!digest.equals(b.subarray(b.length - DIGEST))) throw bad('checksum mismatch (corrupt or truncated)');
  let header: { model?: unknown; width?: unknown; classes?: unknown; steps?: unknown; hasLast?: unknown };
  try {
    header = JSON.parse(b.toString('utf8', 16, 16 + headerLength));
  } catch {
    throw bad('unreadable header');
  }
  const { model, width, classes, steps, hasLast } = header ?? {};
  if (typeof model !== 'string' || !Number.isInteger(width) || !Number.isInteger(classes) || !Number.isInteger(steps) || (steps as number) < 0 || (steps as number) > 2 ** 31 - 1 || typeof hasLast !== 'boolean')
    throw bad('malformed header');
  if (model !== expected.model || width !== expected.width || classes !== expected.classes)
    throw new StreamStateError(`options.state was saved from another model (or from this one before its weights changed): its fingerprint is ${model.slice(0, 16)}…, this model's ${expected.model.slice(0, 16)}…`);
  const floatsAt = Math.ceil((16 + headerLength) / 4) * 4;
  const floats = expected.width + (hasLast ? expected.classes : 0);
  if (b.length !== floatsAt + 4 * floats + DIGEST) throw bad(`${b.length} bytes where the header implies ${floatsAt + 4 * floats + DIGEST}`);
  // A copy: the caller's bytes may be changed or reused after this returns.
  const values = new Float32Array(floats);
  new Uint8Array(values.buffer).set(b.subarray(floatsAt, floatsAt + 4 * floats));
  for (let k = 0; k < floats; k++) if (!Number.isFinite(values[k])) throw bad(`a non-finite value at float ${k}`);
  return { model, state: values.subarray(0, expected.width), steps: steps as number, last: hasLast ? values.slice(expected.width) : null };
}
