/**
 * `model.toOnnx(path)`: the classifier as an ONNX graph (opset 17) of the standard recurrent
 * operators, which onnxruntime and other ONNX runtimes execute. The boundary is a contract:
 *   inputs  x           float32 [N, T, F] (dense) or int64 [N, T] (token ids), batch-major,
 *           lengths     int32 [N], each sequence's valid steps (left-aligned, padded after);
 *   output  probabilities float32 [N, C].
 * N and T are dynamic. Inside: Gather for the embedding, then per layer one LSTM/GRU/RNN node
 * (layout 0, time-major; `sequence_lens` carries the ragged batch; LSTM gates reordered from
 * Keras's ifco to ONNX's iofc, GRU's zrh kept, biases split into W and R halves,
 * `linear_before_reset` = resetAfter, hardSigmoid as HardSigmoid 0.2/0.5), the directions
 * joined as the layer says (concat, sum, ave, mul), pooling over the valid steps only (last:
 * Y_h; mean and max: masked by lengths), then Gemm and Softmax. Labels, preprocessing and the
 * config travel in `metadata_props` ("rnn-node", JSON).
 *
 * A masking model (tokens with maskZero, dense input with maskValue) skips its padding steps
 * wherever they are, as rnn-node and Keras do (a masked step leaves the state as it was). The
 * graph does the same before the first recurrent node: each row's valid steps (before its
 * length and not padding) are moved to the front in order, and their count becomes the row's
 * length (see `compactValidSteps`).
 *
 * The ONNX schema's messages are written with onnx-proto (the ONNX .proto compiled for
 * protobufjs): a maintained encoding of the real schema rather than hand-rolled varints.
 */
import { biasRows, CELLS, gateCount, onnxGateOrder, type OnnxActivationSlot } from '../../model/cells';
import { inputWidth, layerOutputWidth, type ModelDescription, type WeightTensor } from '../../model/description';
import { checkExportable } from '../export-common';
import { toOnnxMatrix, toOnnxVector } from './onnx-gates';

type Onnx = typeof import('onnx-proto').onnx;

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const OPSET = 17;

class GraphBuilder {
  nodes: ReturnType<Onnx['NodeProto']['create']>[] = [];
  initializers: ReturnType<Onnx['TensorProto']['create']>[] = [];
  #count = 0;

  constructor(private readonly onnx: Onnx) {}

  name(prefix: string): string {
    return `${prefix}_${this.#count++}`;
  }

  floats(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push(this.onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: Buffer.from(values.buffer, values.byteOffset, values.byteLength) }));
    return name;
  }

  ints(name: string, values: number[]): string {
    const data = new BigInt64Array(values.map(BigInt));
    this.initializers.push(this.onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, rawData: Buffer.from(data.buffer) }));
    return name;
  }

  scalarInt(name: string, value: number): string {
    this.initializers.push(this.onnx.TensorProto.create({ name, dims: [], dataType: INT64, rawData: Buffer.from(new BigInt64Array([BigInt(value)]).buffer) }));
    return name;
  }

  scalarFloat(name: string, value: number): string {
    this.initializers.push(this.onnx.TensorProto.create({ name, dims: [], dataType: FLOAT, rawData: Buffer.from(new Float32Array([value]).buffer) }));
    return name;
  }

  /** Adds a node; returns its (first) output name. */
  node(op: string, inputs: string[], attributes: Record<string, number | string | number[] | string[]> = {}, outputs: string[] = [this.name(op.toLowerCase())]): string {
    const onnx = this.onnx;
    const attribute = Object.entries(attributes).map(([name, value]) => {
      if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from(value) });
      if (typeof value === 'number') return Number.isInteger(value) && !['activation_alpha', 'activation_beta', 'alpha', 'beta'].includes(name)
        ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value })
        : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value });
      if (value.length > 0 && typeof value[0] === 'string') return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRINGS, strings: (value as string[]).map((v) => Buffer.from(v)) });
      if (name === 'activation_alpha' || name === 'activation_beta') return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOATS, floats: value as number[] });
      return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: value as number[] });
    });
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: outputs, name: this.name(`node_${op}`), attribute }));
    return outputs[0];
  }
}

/**
 * The masking step as graph nodes. For row n and step t of x ([N, T] ids or [N, T, F]):
 *   valid[n, t] = t < lengths[n]  and  x[n, t] is not padding
 *   (ids: x[n, t] != 0; dense: some feature of x[n, t] != maskValue);
 *   key[n, t]   = t + T * (1 - valid[n, t])
 * Sorting each row's keys ascending (TopK, smallest first) lists its valid steps in order, then
 * the rest; gathering x by that order front-aligns the valid steps, and
 *   length[n]   = sum_t valid[n, t]
 * tells the recurrent nodes where each row ends. Keys are float32, exact for T < 2^23.
 */
function compactValidSteps(b: GraphBuilder, type: 'dense' | 'tokens', padding: number, one: () => string): { steps: string; lengths: string } {
  const shape = b.node('Shape', ['x']);
  const T = b.node('Gather', [shape, one()], { axis: 0 });
  const time = b.node('Range', [b.scalarInt(b.name('zero'), 0), T, one()]); // [T]
  const before = b.node('Less', [b.node('Unsqueeze', [time, b.ints(b.name('mask_axis'), [0])]), b.node('Unsqueeze', [b.node('Cast', ['lengths'], { to: INT64 }), b.ints(b.name('mask_axis'), [1])])]); // [N, T]
  let real: string;
  if (type === 'tokens') {
    real = b.node('Not', [b.node('Equal', ['x', b.scalarInt(b.name('padding_id'), padding)])]);
  } else {
    const differs = b.node('Cast', [b.node('Not', [b.node('Equal', ['x', b.scalarFloat(b.name('mask_value'), padding)])])], { to: FLOAT }); // [N, T, F]
    real = b.node('Greater', [b.node('ReduceSum', [differs, b.ints(b.name('mask_axis'), [2])], { keepdims: 0 }), b.scalarFloat(b.name('none'), 0)]);
  }
  const valid = b.node('Cast', [b.node('And', [before, real])], { to: FLOAT }); // [N, T] of 0/1
  const stepsF = b.node('Cast', [T], { to: FLOAT });
  const key = b.node('Add', [b.node('Cast', [time], { to: FLOAT }), b.node('Mul', [b.node('Sub', [b.scalarFloat(b.name('one_f'), 1), valid]), stepsF])]);
  const order = b.name('order');
  b.node('TopK', [key, b.node('Reshape', [T, b.ints(b.name('shape_1'), [1])])], { axis: 1, largest: 0, sorted: 1 }, [b.name('sorted_keys'), order]);
  const gathered = type === 'tokens'
    ? b.node('GatherElements', ['x', order], { axis: 1 })
    : b.node('GatherElements', ['x', b.node('Expand', [b.node('Unsqueeze', [order, b.ints(b.name('mask_axis'), [2])]), shape])], { axis: 1 });
  const lengths = b.node('Cast', [b.node('ReduceSum', [valid, b.ints(b.name('mask_axis'), [1])], { keepdims: 0 })], { to: INT32 });
  return { steps: gathered, lengths };
}

export async function exportOnnx(model: ModelDescription, version: string): Promise<Uint8Array> {
  const c = model.config;
  checkExportable(c, 'ONNX');
  const { onnx } = require('onnx-proto') as typeof import('onnx-proto');
  const b = new GraphBuilder(onnx);
  const weights = model.weights;
  let w = 0;
  const next = (): WeightTensor => weights[w++];
  const zero = b.scalarInt('zero', 0);
  let oneIndex = '';
  const one = () => (oneIndex ||= b.scalarInt('one', 1)); // only graphs that use it carry it

  // Masking models see each row's valid steps, front-aligned, and their count as its length.
  let steps = 'x';
  let lengths = 'lengths';
  const padding = c.input.type === 'tokens' ? (c.input.maskZero ? 0 : null) : c.input.maskValue;
  if (padding !== null) ({ steps, lengths } = compactValidSteps(b, c.input.type, padding, one));

  // Batch-major at the boundary, time-major inside (layout 0).
  let x: string;
  if (c.input.type === 'tokens') {
    const table = next();
    const embedded = b.node('Gather', [b.floats('embedding', table.shape, table.values), steps], { axis: 0 });
    x = b.node('Transpose', [embedded], { perm: [1, 0, 2] });
  } else {
    x = b.node('Transpose', [steps], { perm: [1, 0, 2] });
  }
  const act = (a: string) => (a === 'relu' ? 'Relu' : 'Tanh');
  const recAct = (a: string) => (a === 'hardSigmoid' ? 'HardSigmoid' : 'Sigmoid');
  let input = inputWidth(c);
  let sequence = x;
  let lastState = '';
  const join = (mode: string, forward: string, backward: string, axis: number) => {
    if (mode === 'concat') return b.node('Concat', [forward, backward], { axis });
    if (mode === 'sum') return b.node('Add', [forward, backward]);
    if (mode === 'ave') return b.node('Mul', [b.node('Add', [forward, backward]), b.scalarFloat(b.name('half'), 0.5)]);
    return b.node('Mul', [forward, backward]);
  };
  c.layers.forEach((layer, l) => {
    const u = layer.units;
    const dirs = layer.bidirectional ? 2 : 1;
    const spec = CELLS[layer.cell];
    const G = gateCount(layer.cell);
    const order = onnxGateOrder(layer.cell);
    const W = new Float32Array(dirs * G * u * input);
    const R = new Float32Array(dirs * G * u * u);
    const B = new Float32Array(dirs * 2 * G * u);
    for (let d = 0; d < dirs; d++) {
      const kernel = next(), recurrent = next(), bias = next();
      W.set(toOnnxMatrix(kernel.values, input, u, order), d * G * u * input);
      R.set(toOnnxMatrix(recurrent.values, u, u, order), d * G * u * u);
      if (biasRows(layer) === 2) {
        B.set(bias.values.subarray(0, G * u), d * 2 * G * u); // input bias
        B.set(bias.values.subarray(G * u, 2 * G * u), d * 2 * G * u + G * u); // recurrent bias
      } else {
        B.set(toOnnxVector(bias.values, u, order), d * 2 * G * u); // one bias: the W half, R half zero
      }
    }
    const op = spec.onnx.op;
    const slot = (s: OnnxActivationSlot) => (s === 'gate' ? recAct(layer.recurrentActivation) : act(layer.activation));
    const perDirection = spec.onnx.activations.map(slot);
    const activations = Array.from({ length: dirs }, () => perDirection).flat();
    const hard = activations.filter((a) => a === 'HardSigmoid').length;
    const attributes: Record<string, number | string | number[] | string[]> = {
      hidden_size: u,
      direction: layer.bidirectional ? 'bidirectional' : 'forward',
      activations,
      layout: 0,
      ...(hard > 0 ? { activation_alpha: Array(hard).fill(0.2), activation_beta: Array(hard).fill(0.5) } : {}),
      ...(spec.options.resetAfter ? { linear_before_reset: layer.resetAfter ? 1 : 0 } : {}),
    };
    const prefix = `layer${l}`;
    const Y = `${prefix}_Y`;
    const Yh = `${prefix}_Y_h`;
    b.node(op, [sequence, b.floats(`${prefix}_W`, [dirs, G * u, input], W), b.floats(`${prefix}_R`, [dirs, G * u, u], R), b.floats(`${prefix}_B`, [dirs, 2 * G * u], B), lengths], attributes, [Y, Yh, `${prefix}_Y_c`].slice(0, spec.onnx.outputs));
    // Y [T, dirs, N, u] → [T, N, D]; Y_h [dirs, N, u] → [N, D].
    const forwardSeq = b.node('Gather', [Y, zero], { axis: 1 });
    const forwardLast = b.node('Gather', [Yh, zero], { axis: 0 });
    if (layer.bidirectional) {
      sequence = join(layer.mergeMode, forwardSeq, b.node('Gather', [Y, one()], { axis: 1 }), 2);
      lastState = join(layer.mergeMode, forwardLast, b.node('Gather', [Yh, one()], { axis: 0 }), 1);
    } else {
      sequence = forwardSeq;
      lastState = forwardLast;
    }
    input = layerOutputWidth(layer);
  });

  // Pooling over each sequence's valid steps: mask[t, n] = t < lengths[n].
  let pooled: string;
  if (c.pooling === 'last') {
    pooled = lastState;
  } else {
    const steps = b.node('Gather', [b.node('Shape', ['x']), one()], { axis: 0 });
    const time = b.node('Range', [zero, steps, one()]);
    const lengths64 = b.node('Cast', [lengths], { to: INT64 });
    const mask = b.node('Less', [b.node('Unsqueeze', [time, b.ints('axis_1', [1])]), b.node('Unsqueeze', [lengths64, b.ints('axis_0', [0])])]); // [T, N]
    const mask3 = b.node('Unsqueeze', [mask, b.ints('axis_2', [2])]); // [T, N, 1]
    if (c.pooling === 'mean') {
      const kept = b.node('Mul', [sequence, b.node('Cast', [mask3], { to: FLOAT })]);
      const total = b.node('ReduceSum', [kept, b.ints('axis_time', [0])], { keepdims: 0 });
      pooled = b.node('Div', [total, b.node('Unsqueeze', [b.node('Cast', [lengths], { to: FLOAT }), b.ints('axis_1b', [1])])]);
    } else {
      const masked = b.node('Where', [mask3, sequence, b.scalarFloat('lowest', -3.4e38)]);
      pooled = b.node('ReduceMax', [masked], { axes: [0], keepdims: 0 });
    }
  }
  const kernel = next(), bias = next();
  const logits = b.node('Gemm', [pooled, b.floats('dense_kernel', kernel.shape, kernel.values), b.floats('dense_bias', bias.shape, bias.values)]);
  b.node('Softmax', [logits], { axis: 1 }, ['probabilities']);

  const dim = (name: string) => onnx.TensorShapeProto.Dimension.create({ dimParam: name });
  const fixed = (n: number) => onnx.TensorShapeProto.Dimension.create({ dimValue: n });
  const valueInfo = (name: string, elemType: number, dims: ReturnType<typeof dim>[]) =>
    onnx.ValueInfoProto.create({ name, type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType, shape: onnx.TensorShapeProto.create({ dim: dims }) }) }) });
  const graph = onnx.GraphProto.create({
    name: 'rnn_node_classifier',
    node: b.nodes,
    initializer: b.initializers,
    input: [
      c.input.type === 'tokens' ? valueInfo('x', INT64, [dim('N'), dim('T')]) : valueInfo('x', FLOAT, [dim('N'), dim('T'), fixed(c.input.features)]),
      valueInfo('lengths', INT32, [dim('N')]),
    ],
    output: [valueInfo('probabilities', FLOAT, [dim('N'), fixed(c.classes)])],
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'rnn-node',
    producerVersion: version,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: OPSET })],
    graph,
    metadataProps: [onnx.StringStringEntryProto.create({ key: 'rnn-node', value: JSON.stringify({ labels: c.labels, preprocessing: model.preprocessing, config: c }) })],
  });
  return onnx.ModelProto.encode(proto).finish();
}
