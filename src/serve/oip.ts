/**
 * The Open Inference Protocol (KServe v2, spoken by Triton, KServe and ONNX Runtime's server)
 * in JSON: a model's metadata, and an `infer` request's tensors to model input and back.
 *
 *   dense model:  input "x" FP32 [N, T, F], optional "lengths" INT32 [N] (valid steps per row)
 *   token model:  input "x" INT32 or INT64 [N, T] ids, optional "lengths" INT32 [N]
 *   output:       "probabilities" FP32 [N, C]
 * `data` is row-major, flat or nested as the protocol allows. The binary-tensor extension is
 * refused with a 400 that says so.
 */
import type { TypedSequences } from '../data/sequence-set';
import type { ModelVersion } from './models';

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The most values one request may declare (a shape past it is refused before any allocation). */
export const MAX_TENSOR_VALUES = 1 << 26;

export function modelMetadata(v: ModelVersion) {
  const input = v.model.config.input;
  const dense = input.type === 'dense';
  return {
    name: v.name,
    versions: [v.version],
    platform: 'rnn-node',
    inputs: [
      dense ? { name: 'x', datatype: 'FP32', shape: [-1, -1, input.features] } : { name: 'x', datatype: 'INT32', shape: [-1, -1] },
      { name: 'lengths', datatype: 'INT32', shape: [-1], optional: true },
    ],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, v.model.config.classes] }],
    parameters: { labels: v.labels, cell: v.model.config.layers.map((l) => l.cell), precision: v.model.config.precision },
  };
}

interface TensorJSON {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: Record<string, unknown>;
}

/** The request's `x` (and `lengths`) as model input. */
export function inferInput(body: unknown, v: ModelVersion, maxValues = MAX_TENSOR_VALUES): TypedSequences {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RequestError(400, 'the body must be a JSON object with "inputs"');
  const { inputs, outputs, parameters } = body as { inputs?: unknown; outputs?: unknown; parameters?: Record<string, unknown> };
  if (parameters && typeof parameters === 'object' && parameters.binary_data_output === true)
    throw new RequestError(400, 'the binary tensor extension is not supported: send and receive tensors as JSON "data"');
  // Requested outputs (Triton's client names them, and asks for binary data unless told not to).
  if (outputs !== undefined && outputs !== null) {
    if (!Array.isArray(outputs)) throw new RequestError(400, '"outputs" must be an array of { name }');
    outputs.forEach((o: { name?: unknown; parameters?: Record<string, unknown> }, i) => {
      if (o === null || typeof o !== 'object' || o.name !== 'probabilities') throw new RequestError(400, `outputs[${i}].name must be 'probabilities' (the model's only output)`);
      if (o.parameters && typeof o.parameters === 'object' && o.parameters.binary_data === true)
        throw new RequestError(400, `outputs[${i}] asks for binary data (the binary tensor extension), which is not supported: set "binary_data": false`);
    });
  }
  if (!Array.isArray(inputs) || inputs.length === 0) throw new RequestError(400, '"inputs" must be a non-empty array of tensors');
  const byName = new Map<string, TensorJSON>();
  inputs.forEach((t: TensorJSON, i) => {
    if (t === null || typeof t !== 'object') throw new RequestError(400, `inputs[${i}] must be a tensor object`);
    if (typeof t.name !== 'string') throw new RequestError(400, `inputs[${i}].name must be a string`);
    if (t.parameters && typeof t.parameters === 'object' && 'binary_data_size' in t.parameters)
      throw new RequestError(400, `inputs[${i}] uses the binary tensor extension, which is not supported: send "data" as JSON`);
    if (t.name !== 'x' && t.name !== 'lengths') throw new RequestError(400, `inputs[${i}].name '${t.name}' is not an input of model '${v.name}' (x, lengths)`);
    byName.set(t.name, t);
  });
  const x = byName.get('x');
  if (!x) throw new RequestError(400, 'the input "x" is missing');
  const input = v.model.config.input;
  const dense = input.type === 'dense';
  const shape = checkShape('inputs.x', x.shape, dense ? 3 : 2, maxValues);
  if (dense && shape[2] !== input.features) throw new RequestError(400, `inputs.x.shape[2] must be ${input.features} (the model's features), got ${shape[2]}`);
  const accepted = dense ? ['FP32'] : ['INT32', 'INT64'];
  if (!accepted.includes(x.datatype as string)) throw new RequestError(400, `inputs.x.datatype must be ${accepted.join(' or ')}, got ${JSON.stringify(x.datatype)}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const values = dense ? new Float32Array(count) : new Int32Array(count);
  fill('inputs.x', x.data, values, count, !dense);
  const out: TypedSequences = { values, shape };
  const lengths = byName.get('lengths');
  if (lengths) {
    const lshape = checkShape('inputs.lengths', lengths.shape, 1, maxValues);
    if (lshape[0] !== shape[0]) throw new RequestError(400, `inputs.lengths.shape must be [${shape[0]}] (one length per row of x), got [${lshape[0]}]`);
    if (lengths.datatype !== 'INT32' && lengths.datatype !== 'INT64') throw new RequestError(400, `inputs.lengths.datatype must be INT32, got ${JSON.stringify(lengths.datatype)}`);
    const l = new Int32Array(lshape[0]);
    fill('inputs.lengths', lengths.data, l, lshape[0], true);
    out.lengths = l;
  }
  return out;
}

function checkShape(name: string, shape: unknown, rank: number, maxValues: number): number[] {
  if (!Array.isArray(shape) || shape.length !== rank || !shape.every((d) => Number.isInteger(d) && d >= 1))
    throw new RequestError(400, `${name}.shape must be ${rank} positive integers, got ${JSON.stringify(shape)?.slice(0, 80)}`);
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  if (count > maxValues) throw new RequestError(400, `${name}.shape declares ${count} values; a request holds at most ${maxValues} (its body could not carry more)`);
  return shape as number[];
}

const isInt32 = (x: number) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31;

/** Copies `data` (flat or nested, row-major) into `out`, checking its count and values. */
function fill(name: string, data: unknown, out: Float32Array | Int32Array, count: number, integers: boolean): void {
  if (!Array.isArray(data)) throw new RequestError(400, `${name}.data must be an array of numbers`);
  // Flat data (what most clients send): one loop, no recursion.
  if (data.length === count && data.every((x) => typeof x === 'number' && Number.isFinite(x) && (!integers || isInt32(x)))) {
    for (let i = 0; i < count; i++) out[i] = data[i];
    return;
  }
  let at = 0;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (at >= count) throw new RequestError(400, `${name}.data holds more than the ${count} values its shape declares`);
    if (typeof value !== 'number' || !Number.isFinite(value) || (integers && !isInt32(value)))
      throw new RequestError(400, `${name}.data[${at}] must be ${integers ? 'a 32-bit integer' : 'a finite number'}, got ${JSON.stringify(value)?.slice(0, 40)}`);
    out[at++] = value;
  };
  visit(data);
  if (at !== count) throw new RequestError(400, `${name}.data holds ${at} values; its shape declares ${count}`);
}

export function inferResponse(v: ModelVersion, probs: Float32Array, rows: number, id: unknown) {
  return {
    model_name: v.name,
    model_version: v.version,
    ...(typeof id === 'string' ? { id } : {}),
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [rows, v.model.config.classes], data: Array.from(probs) }],
  };
}
