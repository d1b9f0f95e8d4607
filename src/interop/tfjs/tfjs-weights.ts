/**
 * The weights of a tfjs model.json: the `weightsManifest` groups' shard files, concatenated
 * per group in manifest order, sliced per weight spec, and dequantized (the converter's
 * uint8/uint16 affine quantization: value = min + scale * q; float16 widened), all as float32.
 * Every size is checked against the specs: a missing or short shard is an error naming it.
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { ModelFileError } from '../../util/errors';
import { readRegularFileSync } from '../../util/read-file';

// One shard: tfjs writes 4 MB ones; the converter's are as large as asked, never gigabytes.
const MAX_SHARD_BYTES = 2 ** 31 - 1;

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

export interface NamedWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decode(spec: WeightSpec, bytes: Buffer, where: string): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  const stored = q ? q.dtype : spec.dtype;
  const out = new Float32Array(count);
  if (stored === 'float32') {
    for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
  } else if (stored === 'int32') {
    for (let i = 0; i < count; i++) out[i] = bytes.readInt32LE(i * 4);
  } else if (stored === 'float16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(bytes.readUInt16LE(i * 2));
  } else if (stored === 'uint8' || stored === 'uint16') {
    const min = q?.min;
    const scale = q?.scale;
    if (typeof min !== 'number' || typeof scale !== 'number') throw new ModelFileError(`${where}: weight ${spec.name} is ${stored}-quantized without min and scale`);
    for (let i = 0; i < count; i++) out[i] = min + scale * (stored === 'uint8' ? bytes[i] : bytes.readUInt16LE(i * 2));
  } else {
    throw new ModelFileError(`${where}: weight ${spec.name} has dtype ${JSON.stringify(stored)} (float32, int32, float16, uint8, uint16)`);
  }
  return out;
}

/** Reads every weight of a model.json's manifest, in manifest order. */
export function readTfjsWeights(modelJsonPath: string, manifest: unknown): NamedWeight[] {
  if (!Array.isArray(manifest)) throw new ModelFileError(`${modelJsonPath}: no weightsManifest list`);
  const dir = dirname(resolve(modelJsonPath));
  const out: NamedWeight[] = [];
  manifest.forEach((group: unknown, g) => {
    if (group === null || typeof group !== 'object' || Array.isArray(group))
      throw new ModelFileError(`${modelJsonPath}: weightsManifest[${g}] is ${group === null ? 'null' : Array.isArray(group) ? 'a list' : `a ${typeof group}`}, not a {"paths", "weights"} group`);
    const paths = (group as { paths?: unknown }).paths;
    const specs = (group as { weights?: unknown }).weights;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(specs))
      throw new ModelFileError(`${modelJsonPath}: weightsManifest[${g}] needs "paths" and "weights" lists`);
    const buffers = paths.map((p: string) => {
      // Shards sit beside model.json; a path may not climb out of that folder.
      const file = join(dir, p);
      const inside = relative(dir, resolve(file));
      if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) throw new ModelFileError(`${modelJsonPath}: shard path ${JSON.stringify(p)} leaves the model's folder`);
      try {
        return readRegularFileSync(file, MAX_SHARD_BYTES);
      } catch (e) {
        throw new ModelFileError(`${modelJsonPath}: weight shard ${p} is missing or unreadable (${(e as Error).message})`);
      }
    });
    const data = Buffer.concat(buffers);
    let offset = 0;
    for (const [i, raw] of specs.entries()) {
      const spec = raw as WeightSpec;
      if (!spec || typeof spec.name !== 'string' || !Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw new ModelFileError(`${modelJsonPath}: weightsManifest[${g}].weights[${i}] is not {name, shape, dtype}`);
      const stored = spec.quantization?.dtype ?? spec.dtype;
      const size = BYTES[stored];
      if (size === undefined) throw new ModelFileError(`${modelJsonPath}: weight ${spec.name} has dtype ${JSON.stringify(stored)}`);
      const bytes = spec.shape.reduce((a, b) => a * b, 1) * size;
      if (offset + bytes > data.length)
        throw new ModelFileError(`${modelJsonPath}: the shards of weightsManifest[${g}] hold ${data.length} bytes; weight ${spec.name} needs bytes ${offset}..${offset + bytes} (a shard is short or missing)`);
      out.push({ name: spec.name, shape: spec.shape, values: decode(spec, data.subarray(offset, offset + bytes), modelJsonPath) });
      offset += bytes;
    }
    if (offset !== data.length) throw new ModelFileError(`${modelJsonPath}: the shards of weightsManifest[${g}] hold ${data.length} bytes but its weights use ${offset}`);
  });
  return out;
}
