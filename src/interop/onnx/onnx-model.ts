/**
 * Reading an ONNX file: the ModelProto decoded with onnx-proto (the ONNX schema compiled for
 * protobufjs, the same library the exporter writes with), tensors as typed arrays and node
 * attributes by name. Everything a hostile or truncated file could get wrong ends here as a
 * ModelFileError naming the file; what the graph means is onnx-graph.ts's concern.
 */
import { statSync } from 'node:fs';

import { ModelFileError, UnsupportedModelError } from '../../util/errors';
import { readRegularFileSync } from '../../util/read-file';

type Onnx = typeof import('onnx-proto').onnx;
export type ModelProto = import('onnx-proto').onnx.ModelProto;
export type NodeProto = import('onnx-proto').onnx.INodeProto;
export type TensorProto = import('onnx-proto').onnx.ITensorProto;

/** A constant tensor: float32 values or integer values (int32/int64 read as numbers). */
export type Tensor = { dims: number[]; type: 'float'; data: Float32Array } | { dims: number[]; type: 'int'; data: number[] };

const MAX_ONNX_BYTES = 2 ** 31 - 1; // protobuf's own limit for one message

// TensorProto.DataType values this importer reads.
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const INT8 = 3;
const UINT8 = 2;
const INT16 = 5;
const DOUBLE = 11;

export function onnxSchema(): Onnx {
  return (require('onnx-proto') as typeof import('onnx-proto')).onnx;
}

/** A protobuf int64 (number or Long) as a number; throws past 2^53. */
export function toInt(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'object' && value !== null && 'toNumber' in value ? (value as { toNumber(): number }).toNumber() : Number(value);
  if (!Number.isSafeInteger(n)) throw new ModelFileError(`${what}: ${String(value)} is not an integer this importer can hold`);
  return n;
}

export function readOnnxFile(path: string): ModelProto {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new ModelFileError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (size === 0) throw new ModelFileError(`${path}: empty file, not an ONNX model`);
  if (size > MAX_ONNX_BYTES) throw new ModelFileError(`${path}: ${size} bytes is more than one protobuf message holds (external-data ONNX files are not read)`);
  let bytes: Buffer;
  try {
    bytes = readRegularFileSync(path, MAX_ONNX_BYTES, 'one protobuf message holds');
  } catch (e) {
    throw new ModelFileError(`${path}: ${(e as Error).message}`);
  }
  let model: ModelProto;
  try {
    model = onnxSchema().ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFileError(`${path}: not an ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0)
    throw new ModelFileError(`${path}: not an ONNX model (no graph, or a graph without nodes)`);
  return model;
}

/** The opset of the default ('' / ai.onnx) domain; `path` names the file in errors. */
export function defaultOpset(model: ModelProto, path: string): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? toInt(entry.version, `${path}: opset_import`) : 1;
}

/**
 * An integer tensor value as a number, held to ±2^53: torch writes INT64_MAX / INT64_MIN as
 * the open ends of slices (h_n[-2:]), where only "past the end" matters.
 */
function clampInt(value: bigint | number): number {
  const v = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > limit ? limit : v < -limit ? -limit : v);
}

function rawView(raw: Uint8Array, bytesPer: number, count: number, what: string): DataView {
  if (raw.byteLength !== bytesPer * count) throw new ModelFileError(`${what}: raw data of ${raw.byteLength} bytes; its dims need ${bytesPer * count}`);
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** A TensorProto's values; `what` names it in errors. */
export function readTensor(t: TensorProto, what: string): Tensor {
  const dims = (t.dims ?? []).map((d) => toInt(d, `${what}: dims`));
  if (dims.some((d) => d < 0)) throw new ModelFileError(`${what}: negative dimension in [${dims.join(', ')}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count) || count > 2 ** 31) throw new ModelFileError(`${what}: [${dims.join(', ')}] is too large`);
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0))
    throw new UnsupportedModelError(`${what}: its values live in an external data file; save the model with its weights inside (onnx.save(..., save_as_external_data=False))`);
  const raw = t.rawData && t.rawData.byteLength > 0 ? t.rawData : null;
  const type = t.dataType ?? 0;
  const check = (n: number) => {
    if (n !== count) throw new ModelFileError(`${what}: ${n} values; its dims [${dims.join(', ')}] need ${count}`);
  };
  if (type === FLOAT || type === DOUBLE) {
    // Sizes are checked before anything is allocated: a few bytes may declare any dims.
    if (raw) rawView(raw, type === FLOAT ? 4 : 8, count, what);
    else check((type === FLOAT ? t.floatData ?? [] : t.doubleData ?? []).length);
    const data = new Float32Array(count);
    if (raw) {
      const view = rawView(raw, type === FLOAT ? 4 : 8, count, what);
      for (let i = 0; i < count; i++) data[i] = type === FLOAT ? view.getFloat32(4 * i, true) : view.getFloat64(8 * i, true);
    } else {
      const list = type === FLOAT ? t.floatData ?? [] : t.doubleData ?? [];
      check(list.length);
      data.set(list);
    }
    return { dims, type: 'float', data };
  }
  if (type === INT64 || type === INT32 || type === INT8 || type === UINT8 || type === INT16) {
    let data: number[];
    if (raw) {
      const bytes = type === INT64 ? 8 : type === INT32 ? 4 : type === INT16 ? 2 : 1;
      const view = rawView(raw, bytes, count, what);
      data = Array.from({ length: count }, (_, i) => {
        if (type === INT64) return clampInt(view.getBigInt64(8 * i, true));
        if (type === INT32) return view.getInt32(4 * i, true);
        if (type === INT16) return view.getInt16(2 * i, true);
        return type === INT8 ? view.getInt8(i) : view.getUint8(i);
      });
    } else {
      const list = type === INT64 ? t.int64Data ?? [] : t.int32Data ?? [];
      check(list.length);
      data = list.map((v) => clampInt(typeof v === 'object' && v !== null && 'toString' in v ? BigInt(String(v)) : v));
    }
    return { dims, type: 'int', data };
  }
  throw new UnsupportedModelError(`${what}: tensor data type ${type} (rnn-node reads float32/float64 weights and integer indices)`);
}

type Attribute = import('onnx-proto').onnx.IAttributeProto;

/** A node's attributes by name, read with the type the operator defines. */
export class Attributes {
  readonly #byName: Map<string, Attribute>;

  constructor(node: NodeProto, private readonly where: string) {
    this.#byName = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.#byName.get(name);
    return a ? toInt(a.i ?? 0, `${this.where}: attribute ${name}`) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.#byName.get(name);
    return a ? a.f ?? 0 : fallback;
  }

  string(name: string, fallback: string): string {
    const a = this.#byName.get(name);
    return a ? Buffer.from(a.s ?? new Uint8Array()).toString('utf8') : fallback;
  }

  ints(name: string): number[] | null {
    const a = this.#byName.get(name);
    return a ? (a.ints ?? []).map((v) => toInt(v, `${this.where}: attribute ${name}`)) : null;
  }

  floats(name: string): number[] | null {
    const a = this.#byName.get(name);
    return a ? [...(a.floats ?? [])] : null;
  }

  strings(name: string): string[] | null {
    const a = this.#byName.get(name);
    return a ? (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) : null;
  }

  tensor(name: string): TensorProto | null {
    return this.#byName.get(name)?.t ?? null;
  }
}
