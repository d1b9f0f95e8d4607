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
 * The ONNX schema's messages are written with onnx-proto (the ONNX .proto compiled for
 * protobufjs): a maintained encoding of the real schema rather than hand-rolled varints.
 */
import type { SequenceClassifier, WeightTensor } from '../classifier';
import { UnsupportedModelError } from '../errors';
import { onnxGateOrder, toOnnxMatrix, toOnnxVector } from './onnx-gates';

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

export async function exportOnnx(model: SequenceClassifier, version: string): Promise<Uint8Array> {
  const { onnx } = require('onnx-proto') as typeof import('onnx-proto');
  const c = model.config;
  if (c.input.type === 'dense' && c.input.maskValue !== null)
    throw new UnsupportedModelError("input.maskValue: the ONNX graph takes each sequence's length in `lengths` instead of masked steps (export without maskValue)");
  const b = new GraphBuilder(onnx);
  const weights = model.getWeights();
  let w = 0;
  const next = (): WeightTensor => weights[w++];

  // Batch-major at the boundary, time-major inside (layout 0).
  let x: string;
  if (c.input.type === 'tokens') {
    const table = next();
    const embedded = b.node('Gather', [b.floats('embedding', table.shape, table.values), 'x'], { axis: 0 });
    x = b.node('Transpose', [embedded], { perm: [1, 0, 2] });
  } else {
    x = b.node('Transpose', ['x'], { perm: [1, 0, 2] });
  }
  const act = (a: string) => (a === 'relu' ? 'Relu' : 'Tanh');
  const recAct = (a: string) => (a === 'hardSigmoid' ? 'HardSigmoid' : 'Sigmoid');
  let input = c.input.type === 'tokens' ? c.input.embeddingDim : c.input.features;
  let sequence = x;
  let lastState = '';
  const zero = b.scalarInt('zero', 0);
  let oneIndex = '';
  const one = () => (oneIndex ||= b.scalarInt('one', 1)); // only graphs that use it carry it
  const join = (mode: string, forward: string, backward: string, axis: number) => {
    if (mode === 'concat') return b.node('Concat', [forward, backward], { axis });
    if (mode === 'sum') return b.node('Add', [forward, backward]);
    if (mode === 'ave') return b.node('Mul', [b.node('Add', [forward, backward]), b.scalarFloat(b.name('half'), 0.5)]);
    return b.node('Mul', [forward, backward]);
  };
  c.layers.forEach((layer, l) => {
    const u = layer.units;
    const dirs = layer.bidirectional ? 2 : 1;
    const G = layer.cell === 'lstm' ? 4 : layer.cell === 'gru' ? 3 : 1;
    const order = onnxGateOrder(layer.cell);
    const W = new Float32Array(dirs * G * u * input);
    const R = new Float32Array(dirs * G * u * u);
    const B = new Float32Array(dirs * 2 * G * u);
    for (let d = 0; d < dirs; d++) {
      const kernel = next(), recurrent = next(), bias = next();
      W.set(toOnnxMatrix(kernel.values, input, u, order), d * G * u * input);
      R.set(toOnnxMatrix(recurrent.values, u, u, order), d * G * u * u);
      if (layer.cell === 'gru' && layer.resetAfter) {
        B.set(bias.values.subarray(0, G * u), d * 2 * G * u); // input bias
        B.set(bias.values.subarray(G * u, 2 * G * u), d * 2 * G * u + G * u); // recurrent bias
      } else {
        B.set(toOnnxVector(bias.values, u, order), d * 2 * G * u); // one bias: the W half, R half zero
      }
    }
    const op = layer.cell === 'lstm' ? 'LSTM' : layer.cell === 'gru' ? 'GRU' : 'RNN';
    const perDirection = layer.cell === 'lstm' ? [recAct(layer.recurrentActivation), act(layer.activation), act(layer.activation)] : layer.cell === 'gru' ? [recAct(layer.recurrentActivation), act(layer.activation)] : [act(layer.activation)];
    const activations = Array.from({ length: dirs }, () => perDirection).flat();
    const hard = activations.filter((a) => a === 'HardSigmoid').length;
    const attributes: Record<string, number | string | number[] | string[]> = {
      hidden_size: u,
      direction: layer.bidirectional ? 'bidirectional' : 'forward',
      activations,
      layout: 0,
      ...(hard > 0 ? { activation_alpha: Array(hard).fill(0.2), activation_beta: Array(hard).fill(0.5) } : {}),
      ...(layer.cell === 'gru' ? { linear_before_reset: layer.resetAfter ? 1 : 0 } : {}),
    };
    const prefix = `layer${l}`;
    const Y = `${prefix}_Y`;
    const Yh = `${prefix}_Y_h`;
    b.node(op, [sequence, b.floats(`${prefix}_W`, [dirs, G * u, input], W), b.floats(`${prefix}_R`, [dirs, G * u, u], R), b.floats(`${prefix}_B`, [dirs, 2 * G * u], B), 'lengths'], attributes, layer.cell === 'lstm' ? [Y, Yh, `${prefix}_Y_c`] : [Y, Yh]);
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
    input = layer.bidirectional && layer.mergeMode === 'concat' ? 2 * u : u;
  });

  // Pooling over each sequence's valid steps: mask[t, n] = t < lengths[n].
  let pooled: string;
  if (c.pooling === 'last') {
    pooled = lastState;
  } else {
    const steps = b.node('Gather', [b.node('Shape', ['x']), one()], { axis: 0 });
    const time = b.node('Range', [zero, steps, one()]);
    const lengths64 = b.node('Cast', ['lengths'], { to: INT64 });
    const mask = b.node('Less', [b.node('Unsqueeze', [time, b.ints('axis_1', [1])]), b.node('Unsqueeze', [lengths64, b.ints('axis_0', [0])])]); // [T, N]
    const mask3 = b.node('Unsqueeze', [mask, b.ints('axis_2', [2])]); // [T, N, 1]
    if (c.pooling === 'mean') {
      const kept = b.node('Mul', [sequence, b.node('Cast', [mask3], { to: FLOAT })]);
      const total = b.node('ReduceSum', [kept, b.ints('axis_time', [0])], { keepdims: 0 });
      pooled = b.node('Div', [total, b.node('Unsqueeze', [b.node('Cast', ['lengths'], { to: FLOAT }), b.ints('axis_1b', [1])])]);
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
