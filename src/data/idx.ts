/**
 * A minimal IDX reader (the MNIST family's format, optionally gzip-compressed): images
 * become sequences of rows (rows steps x cols features), pixels scaled by 1/255.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { outOfRange } from '../util/errors';
import type { TypedSequences } from './sequence-set';

export interface IdxArray {
  /** Element type code from the header (0x08 = unsigned byte). */
  type: number;
  shape: number[];
  data: Uint8Array;
}

/** Parses one IDX file (unsigned-byte data). Every size is checked against the file length. */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0)
    throw new Error(`${name}: not an IDX file (bad magic number)`);
  const type = bytes[2];
  const rank = bytes[3];
  if (type !== 0x08) throw new Error(`${name}: element type 0x${type.toString(16)} is not supported (only unsigned bytes)`);
  if (rank < 1 || rank > 4) throw new Error(`${name}: rank ${rank} is not supported`);
  if (bytes.length < 4 + 4 * rank) throw new Error(`${name}: truncated header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    size *= d;
  }
  const start = 4 + 4 * rank;
  if (bytes.length - start !== size)
    throw new Error(`${name}: header promises ${size} bytes of data for shape [${shape.join(', ')}], file holds ${bytes.length - start}`);
  return { type, shape, data: bytes.subarray(start) };
}

export interface IdxDataset {
  x: TypedSequences & { values: Float32Array };
  y: Int32Array;
}

/** Reads `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]` from a
 * directory (e.g. prefix 'train' or 't10k' under /usr/share/datasets/fashion-mnist). */
export function readIdxDataset(dir: string, prefix: string, limit?: number): IdxDataset {
  const find = (kind: string) => {
    for (const suffix of ['', '.gz']) {
      const p = join(dir, `${prefix}-${kind}${suffix}`);
      if (existsSync(p)) return p;
    }
    const listing = existsSync(dir) ? readdirSync(dir).join(', ') : 'directory does not exist';
    throw new Error(`${dir}: no ${prefix}-${kind}[.gz] (found: ${listing})`);
  };
  const imagesPath = find('images-idx3-ubyte');
  const labelsPath = find('labels-idx1-ubyte');
  const images = parseIdx(readFileSync(imagesPath), imagesPath);
  const labels = parseIdx(readFileSync(labelsPath), labelsPath);
  if (images.shape.length !== 3) throw new Error(`${imagesPath}: expected rank-3 images, got [${images.shape.join(', ')}]`);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0])
    throw new Error(`${labelsPath}: ${labels.shape[0]} labels for ${images.shape[0]} images`);
  let [count, rows, cols] = images.shape;
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw outOfRange('limit', 'a positive integer', limit);
    count = Math.min(count, limit);
  }
  const values = new Float32Array(count * rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = images.data[i] / 255;
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) y[i] = labels.data[i];
  return { x: { values, shape: [count, rows, cols] }, y };
}
