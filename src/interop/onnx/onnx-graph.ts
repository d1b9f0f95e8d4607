/**
 * What an ONNX graph computes, when it is a recurrent classifier rnn-node can run: the graphs
 * `torch.onnx.export` writes for nn.LSTM/GRU/RNN modules (optionally after nn.Embedding,
 * batch_first or not, one or more layers, bidirectional), read out as out[:, -1], h_n[-1],
 * torch.cat((h_n[-2], h_n[-1]), 1), out.mean(1) or out.max(1), then nn.Linear (and perhaps a
 * softmax); and the same operators written by other tools.
 *
 * The graph is interpreted symbolically: nodes run in order (ONNX requires topological order)
 * on abstract values that say what a tensor *is* — the input sequence, layer l's outputs Y and
 * Y_h with their axes named (T time, N batch, D direction, U units, S stacked states), a
 * pooled feature vector, the logits — rather than its numbers. Shape arithmetic (Shape,
 * Gather, Concat, ... on shapes) is only tracked as "dynamic"; zero initial states as "zeros".
 * An operator applied to a value in a way rnn-node's model cannot express is refused with an
 * UnsupportedModelError naming the node, the operator and the reason. Nodes the output does
 * not depend on are not read.
 */
import type { SequenceClassifierConfig } from '../../model/config';
import { ModelFileError, UnsupportedModelError } from '../../util/errors';
import { Attributes, defaultOpset, readTensor, type ModelProto, type NodeProto, type Tensor } from './onnx-model';
import { fromOnnxBias, fromOnnxMatrix, onnxGateOrder } from './onnx-gates';

type Axis = 'x0' | 'x1' | 'T' | 'N' | 'F' | 'D' | 'U' | 'S';
type Merge = 'concat' | 'sum' | 'ave' | 'mul';
type Cell = 'lstm' | 'gru' | 'rnn';

/** Features made of one layer's directions: `dirs` in order, joined by `merge` (null: one direction). */
interface Parts {
  layer: number; // -1: the model's input (features or embedded tokens)
  dirs: number[];
  merge: Merge | null;
}

type Value =
  | { kind: 'const'; tensor: Tensor }
  | { kind: 'unreadable'; error: Error }
  | { kind: 'dynamic' }
  | { kind: 'zeros' }
  | { kind: 'tokens'; axes: Axis[] }
  | ({ kind: 'sequence'; axes: Axis[] } & Parts)
  | { kind: 'Y'; layer: number; axes: Axis[] }
  | { kind: 'states'; entries: { layer: number; dir: number }[]; axes: Axis[] }
  | { kind: 'cellState' }
  | ({ kind: 'pooled'; source: 'state' | 'step' | 'mean' | 'max'; axes: Axis[] } & Parts)
  | { kind: 'logits' | 'probabilities'; pooled: Parts & { source: 'state' | 'step' | 'mean' | 'max' }; kernel: Float32Array; bias: Float32Array; rows: number; classes: number };

interface LayerFound {
  cell: Cell;
  units: number;
  inputSize: number;
  bidirectional: boolean;
  mergeMode: Merge | null;
  activation: 'tanh' | 'relu';
  recurrentActivation: 'sigmoid' | 'hardSigmoid';
  resetAfter: boolean;
  /** Per direction, rnn-node's kernel, recurrent and bias. */
  weights: { kernel: Float32Array; recurrent: Float32Array; bias: Float32Array; biasShape: number[] }[];
}

export interface OnnxClassifier {
  config: SequenceClassifierConfig;
  /** In rnn-node's getWeights() order. */
  weights: { shape: number[]; values: Float32Array }[];
}

/** Operators torch writes when it sorts and packs sequences (pack_padded_sequence). */
const PACKING_OPS = new Set(['TopK', 'ScatterElements', 'ScatterND', 'NonZero', 'Loop', 'If', 'SequenceConstruct', 'SplitToSequence']);

/** Operators that only ever compute shapes here: dynamic in, dynamic out. */
const SHAPE_OPS = new Set(['Range', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Where', 'Sub', 'Neg', 'Abs', 'Min', 'Max', 'ReduceProd', 'ReduceSum', 'Floor', 'Ceil', 'Sqrt', 'Expand', 'Mod', 'Tile']);

const FLOAT_TYPES = new Set([1, 11]);
const INT_TYPES = new Set([2, 3, 5, 6, 7]);

export function interpretOnnx(model: ModelProto, path: string): OnnxClassifier {
  const graph = model.graph!;
  const values = new Map<string, Value>();
  const initialized = new Set<string>();
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    // An initializer the output does not use may be of any type: its error waits for a use.
    try {
      values.set(name, { kind: 'const', tensor: readTensor(t, `${path}: initializer ${name}`) });
    } catch (e) {
      values.set(name, { kind: 'unreadable', error: e as Error });
    }
    initialized.add(name);
  }
  readGraphInputs(graph, initialized, values, path);

  const outputs = (graph.output ?? []).map((o) => o.name ?? '');
  if (outputs.length !== 1)
    throw new UnsupportedModelError(`${path}: the graph has ${outputs.length} outputs (${outputs.join(', ')}); rnn-node imports a classifier with one output, its logits or probabilities`);

  const layers: LayerFound[] = [];
  let embedding: Tensor | null = null;
  const nodes = neededNodes(graph.node ?? [], outputs[0]);

  for (const node of nodes) {
    const op = node.opType ?? '';
    const where = `node ${JSON.stringify(node.name || (node.output ?? [])[0] || '?')} (${op})`;
    const refuse = (why: string): never => {
      throw new UnsupportedModelError(`${path}: ${where}: ${why}`);
    };
    if (node.domain && node.domain !== 'ai.onnx') refuse(`operator of domain ${JSON.stringify(node.domain)}: rnn-node imports the standard ONNX operators`);
    const attrs = new Attributes(node, `${path}: ${where}`);
    const inputNames = node.input ?? [];
    const input = (i: number): Value | null => {
      const name = inputNames[i];
      if (name === undefined || name === '') return null;
      const v = values.get(name);
      if (!v) throw new ModelFileError(`${path}: ${where} reads ${JSON.stringify(name)}, which nothing before it produces`);
      if (v.kind === 'unreadable') throw v.error;
      return v;
    };
    const required = (i: number): Value => input(i) ?? refuse(`input ${i} is missing`);
    const set = (v: Value, i = 0) => values.set((node.output ?? [])[i] ?? '', v);
    const ctx: Context = { op, attrs, refuse, required, input, layers, path, where };

    if (PACKING_OPS.has(op))
      refuse(`ONNX operator ${op} is not one rnn-node imports. This looks like an export of packed sequences (nn.utils.rnn.pack_padded_sequence sorts and scatters the batch): rnn-node handles ragged batches itself, so export the module without packing (run the RNN on the padded tensor) and give rnn-node each sequence at its own length`);
    switch (op) {
      case 'Constant':
        set({ kind: 'const', tensor: constantOf(node, attrs, `${path}: ${where}`) });
        break;
      case 'Shape':
      case 'Size':
        set({ kind: 'dynamic' }); // of any tensor: only its dimensions
        break;
      case 'Identity':
      case 'Dropout':
        set(required(0));
        break;
      case 'Cast':
        set(castOf(ctx));
        break;
      case 'ConstantOfShape': {
        const t = attrs.tensor('value');
        const fill = t ? readTensor(t, `${path}: ${where}`) : null;
        set(fill === null || [...fill.data].every((x) => x === 0) ? { kind: 'zeros' } : { kind: 'dynamic' });
        break;
      }
      case 'Gather': {
        const data = required(0);
        const indices = required(1);
        if (data.kind === 'const' && indices.kind === 'tokens') {
          if (data.tensor.type !== 'float' || data.tensor.dims.length !== 2) refuse('an embedding table must be a float matrix [vocabulary, dimensions]');
          if (attrs.int('axis', 0) !== 0) refuse('an embedding lookup gathers rows (axis 0)');
          if (embedding) refuse('a second embedding lookup: rnn-node has one embedding');
          embedding = data.tensor;
          set({ kind: 'sequence', layer: -1, dirs: [0], merge: null, axes: [...indices.axes, 'F'] });
        } else {
          set(gatherOf(ctx, data, indices));
        }
        break;
      }
      case 'Squeeze':
        set(squeezeOf(ctx, required(0), axesOf(ctx, 1)));
        break;
      case 'Unsqueeze': {
        const data = required(0);
        if (!isShapeLike(data)) refuse(`adds an axis to ${describe(data)}; rnn-node's model has no such step`);
        set(data.kind === 'zeros' ? data : { kind: 'dynamic' });
        break;
      }
      case 'Transpose':
        set(transposeOf(ctx, required(0)));
        break;
      case 'Reshape':
        set(reshapeOf(ctx, required(0), required(1)));
        break;
      case 'Flatten': {
        const data = required(0);
        if (data.kind === 'pooled' && attrs.int('axis', 1) === 1) set(data);
        else if (isShapeLike(data)) set({ kind: 'dynamic' });
        else refuse(`flattens ${describe(data)}`);
        break;
      }
      case 'Concat':
        set(concatOf(ctx, inputNames.map((_, i) => required(i))));
        break;
      case 'Add':
      case 'Mul':
      case 'Div':
        set(arithmeticOf(ctx, required(0), required(1)));
        break;
      case 'Slice':
        set(sliceOf(ctx, required(0)));
        break;
      case 'ReduceMean':
      case 'ReduceMax': {
        const data = required(0);
        if (isShapeLike(data)) {
          set({ kind: 'dynamic' });
          break;
        }
        if (data.kind !== 'sequence' || data.layer < 0) return refuse(`reduces ${describe(data)}; rnn-node pools a recurrent layer's outputs over time`);
        const axes = attrs.ints('axes') ?? (input(1) ? constInts(ctx, input(1)!, 'axes') : null);
        if (!axes || axes.length !== 1 || data.axes[normaliseAxis(ctx, axes[0], data.axes.length)] !== 'T')
          refuse(`reduces over axes [${axes ?? 'all'}]; rnn-node pools over the time axis only`);
        if (attrs.int('keepdims', 1) !== 0) refuse('keepdims=1 keeps a time axis of one step (export with keepdim=False, as out.mean(1) does)');
        const t = data.axes.indexOf('T');
        set({ kind: 'pooled', source: op === 'ReduceMean' ? 'mean' : 'max', layer: data.layer, dirs: data.dirs, merge: data.merge, axes: data.axes.filter((_, i) => i !== t) });
        break;
      }
      case 'LSTM':
      case 'GRU':
      case 'RNN': {
        const { Y, Yh } = recurrentOf(ctx);
        set(Y, 0);
        set(Yh, 1);
        if (op === 'LSTM') set({ kind: 'cellState' }, 2);
        break;
      }
      case 'Gemm':
      case 'MatMul':
        set(headOf(ctx, required(0), required(1), op === 'Gemm' ? input(2) : null));
        break;
      case 'Softmax':
      case 'LogSoftmax': {
        const data = required(0);
        if (data.kind !== 'logits') return refuse(`${op} of ${describe(data)}; rnn-node's softmax follows the classifier's dense layer`);
        const axis = attrs.int('axis', defaultOpset(model) >= 13 ? -1 : 1);
        if (axis !== 1 && axis !== -1) refuse(`${op} over axis ${axis}; the classes are axis 1`);
        // log-softmax ranks and normalises like softmax; its exp is the softmax rnn-node returns
        set({ ...data, kind: 'probabilities' });
        break;
      }
      default:
        if (SHAPE_OPS.has(op)) {
          const ins = inputNames.filter((n) => n !== '').map((_, i) => required(i));
          const odd = ins.find((v) => !isShapeLike(v));
          if (odd) refuse(`${op} on ${describe(odd)}: rnn-node's model has no such step`);
          set(op === 'Expand' && ins[0].kind === 'zeros' ? { kind: 'zeros' } : { kind: 'dynamic' });
          break;
        }
        refuse(`ONNX operator ${op} is not one rnn-node imports`);
    }
  }

  const result = values.get(outputs[0]);
  if (!result || (result.kind !== 'logits' && result.kind !== 'probabilities'))
    throw new UnsupportedModelError(`${path}: the graph's output ${JSON.stringify(outputs[0])} is ${result ? describe(result) : 'not computed'}, not a classifier's logits or probabilities (a dense layer over the recurrent features)`);
  return assemble(result, layers, embedding, path);
}

interface Context {
  op: string;
  attrs: Attributes;
  refuse: (why: string) => never;
  required: (i: number) => Value;
  input: (i: number) => Value | null;
  layers: LayerFound[];
  path: string;
  where: string;
}

function readGraphInputs(graph: NonNullable<ModelProto['graph']>, initialized: Set<string>, values: Map<string, Value>, path: string): void {
  const inputs = (graph.input ?? []).filter((i) => !initialized.has(i.name ?? ''));
  let x = 0;
  for (const i of inputs) {
    const name = i.name ?? '';
    const tensor = i.type?.tensorType;
    const elem = tensor?.elemType ?? 0;
    const rank = tensor?.shape?.dim?.length ?? -1;
    if (FLOAT_TYPES.has(elem) && rank === 3) {
      values.set(name, { kind: 'sequence', layer: -1, dirs: [0], merge: null, axes: ['x0', 'x1', 'F'] });
      x++;
    } else if (INT_TYPES.has(elem) && rank === 2) {
      values.set(name, { kind: 'tokens', axes: ['x0', 'x1'] });
      x++;
    } else if (INT_TYPES.has(elem) && rank === 1) {
      values.set(name, { kind: 'dynamic' }); // each sequence's length
    } else {
      throw new UnsupportedModelError(`${path}: graph input ${JSON.stringify(name)} (element type ${elem}, rank ${rank < 0 ? 'unknown' : rank}) is not a sequence batch: rnn-node reads float [batch, time, features], integer token ids [batch, time] and optional integer lengths [batch]`);
    }
  }
  if (x !== 1) throw new UnsupportedModelError(`${path}: the graph has ${x} sequence inputs; rnn-node imports models of one (float [batch, time, features] or token ids [batch, time])`);
}

/** The nodes the output depends on, in graph order. */
function neededNodes(nodes: NodeProto[], output: string): NodeProto[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const needed = new Set<number>();
  const stack = [output];
  while (stack.length > 0) {
    const i = producer.get(stack.pop()!);
    if (i === undefined || needed.has(i)) continue;
    needed.add(i);
    for (const name of nodes[i].input ?? []) if (name) stack.push(name);
  }
  return nodes.filter((_, i) => needed.has(i));
}

function describe(v: Value): string {
  switch (v.kind) {
    case 'const':
      return `a constant [${v.tensor.dims.join(', ')}]`;
    case 'dynamic':
      return 'a shape computation';
    case 'unreadable':
      return 'an unreadable initializer';
    case 'zeros':
      return 'zeros';
    case 'tokens':
      return 'the token ids';
    case 'sequence':
      return v.layer < 0 ? 'the input sequence' : `layer ${v.layer}'s output sequence`;
    case 'Y':
      return `layer ${v.layer}'s output Y`;
    case 'states':
      return 'final hidden states';
    case 'cellState':
      return "an LSTM's final cell state (rnn-node reads hidden states)";
    case 'pooled':
      return `layer ${v.layer}'s pooled features`;
    default:
      return `the ${v.kind}`;
  }
}

const isShapeLike = (v: Value) => v.kind === 'dynamic' || v.kind === 'zeros' || (v.kind === 'const' && v.tensor.type === 'int');

function normaliseAxis(ctx: Context, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.refuse(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function constInts(ctx: Context, v: Value, what: string): number[] {
  if (v.kind !== 'const' || v.tensor.type !== 'int') return ctx.refuse(`${what} must be constant integers (they are ${describe(v)})`);
  return v.tensor.data;
}

function axesOf(ctx: Context, inputIndex: number): number[] | null {
  const fromAttribute = ctx.attrs.ints('axes');
  if (fromAttribute) return fromAttribute;
  const v = ctx.input(inputIndex);
  return v ? constInts(ctx, v, 'axes') : null;
}

function constantOf(node: NodeProto, attrs: Attributes, where: string): Tensor {
  const t = attrs.tensor('value');
  if (t) return readTensor(t, where);
  if (attrs.has('value_float')) return { dims: [], type: 'float', data: Float32Array.of(attrs.float('value_float', 0)) };
  if (attrs.has('value_floats')) {
    const f = attrs.floats('value_floats')!;
    return { dims: [f.length], type: 'float', data: Float32Array.from(f) };
  }
  if (attrs.has('value_int')) return { dims: [], type: 'int', data: [attrs.int('value_int', 0)] };
  if (attrs.has('value_ints')) {
    const i = attrs.ints('value_ints')!;
    return { dims: [i.length], type: 'int', data: i };
  }
  throw new UnsupportedModelError(`${where}: a Constant of a kind rnn-node does not read (${(node.attribute ?? []).map((a) => a.name).join(', ')})`);
}

function castOf(ctx: Context): Value {
  const data = ctx.required(0);
  const to = ctx.attrs.int('to', 0);
  if (data.kind === 'const') {
    if (FLOAT_TYPES.has(to)) return { kind: 'const', tensor: { dims: data.tensor.dims, type: 'float', data: Float32Array.from(data.tensor.data) } };
    if (INT_TYPES.has(to)) return { kind: 'const', tensor: { dims: data.tensor.dims, type: 'int', data: Array.from(data.tensor.data, (v) => Math.trunc(v)) } };
    return { kind: 'dynamic' };
  }
  if (data.kind === 'tokens' && INT_TYPES.has(to)) return data;
  if (isShapeLike(data)) return data.kind === 'zeros' ? data : { kind: 'dynamic' };
  if (FLOAT_TYPES.has(to)) return data; // float to float
  return ctx.refuse(`casts ${describe(data)} to element type ${to}`);
}

function scalarIndex(ctx: Context, indices: Value): number {
  if (indices.kind !== 'const' || indices.tensor.type !== 'int' || indices.tensor.data.length !== 1 || indices.tensor.dims.length !== 0)
    return ctx.refuse(`gathers with ${describe(indices)}; rnn-node reads one constant index here`);
  return indices.tensor.data[0];
}

function gatherOf(ctx: Context, data: Value, indices: Value): Value {
  if (isShapeLike(data)) return data.kind === 'zeros' ? data : { kind: 'dynamic' };
  const axisAt = (axes: Axis[]) => normaliseAxis(ctx, ctx.attrs.int('axis', 0), axes.length);
  if (data.kind === 'Y') {
    const a = axisAt(data.axes);
    if (data.axes[a] !== 'D') ctx.refuse(`gathers layer ${data.layer}'s output Y along its ${data.axes[a]} axis; rnn-node reads whole directions`);
    const dirs = ctx.layers[data.layer].bidirectional ? 2 : 1;
    const index = scalarIndex(ctx, indices);
    const dir = index < 0 ? index + dirs : index;
    if (dir < 0 || dir >= dirs) ctx.refuse(`direction index ${index} of ${dirs}`);
    return { kind: 'sequence', layer: data.layer, dirs: [dir], merge: null, axes: without(data.axes, a) };
  }
  if (data.kind === 'states') {
    const a = axisAt(data.axes);
    if (data.axes[a] !== 'S') ctx.refuse(`gathers final states along their ${data.axes[a]} axis`);
    const index = scalarIndex(ctx, indices);
    const entry = data.entries[index < 0 ? index + data.entries.length : index];
    if (!entry) ctx.refuse(`state index ${index} of ${data.entries.length}`);
    return { kind: 'pooled', source: 'state', layer: entry.layer, dirs: [entry.dir], merge: null, axes: without(data.axes, a) };
  }
  if (data.kind === 'sequence' && data.layer >= 0) {
    const a = axisAt(data.axes);
    if (data.axes[a] !== 'T') ctx.refuse(`gathers layer ${data.layer}'s sequence along its ${data.axes[a]} axis`);
    if (scalarIndex(ctx, indices) !== -1) ctx.refuse('reads one fixed time step; rnn-node reads the last (out[:, -1]) or pools all of them');
    if (ctx.layers[data.layer].bidirectional)
      ctx.refuse("reads a bidirectional layer's output at the last step, where its backward direction has seen one step only; rnn-node's 'last' reads each direction's final state (torch.cat((h_n[-2], h_n[-1]), 1))");
    return { kind: 'pooled', source: 'step', layer: data.layer, dirs: data.dirs, merge: data.merge, axes: data.axes.filter((_, i) => i !== a) };
  }
  return ctx.refuse(`gathers from ${describe(data)}`);
}

/** The axes without axis `a`, one direction's units becoming features (U → F). */
function without(axes: Axis[], a: number): Axis[] {
  return axes.filter((_, i) => i !== a).map((x) => (x === 'U' ? 'F' : x));
}

function squeezeOf(ctx: Context, data: Value, axes: number[] | null): Value {
  if (isShapeLike(data)) return data.kind === 'zeros' ? data : { kind: 'dynamic' };
  if (!axes || axes.length !== 1) return ctx.refuse(`squeezes ${describe(data)} without naming one axis`);
  if (data.kind === 'Y') {
    const a = normaliseAxis(ctx, axes[0], data.axes.length);
    if (data.axes[a] !== 'D' || ctx.layers[data.layer].bidirectional) ctx.refuse(`squeezes layer ${data.layer}'s output Y along an axis that is not one direction`);
    return { kind: 'sequence', layer: data.layer, dirs: [0], merge: null, axes: without(data.axes, a) };
  }
  if (data.kind === 'states') {
    const a = normaliseAxis(ctx, axes[0], data.axes.length);
    if (data.axes[a] !== 'S' || data.entries.length !== 1) ctx.refuse('squeezes final states that hold more than one state');
    const entry = data.entries[0];
    return { kind: 'pooled', source: 'state', layer: entry.layer, dirs: [entry.dir], merge: null, axes: without(data.axes, a) };
  }
  return ctx.refuse(`squeezes ${describe(data)}`);
}

function transposeOf(ctx: Context, data: Value): Value {
  if (isShapeLike(data)) return data.kind === 'zeros' ? data : { kind: 'dynamic' };
  if (data.kind === 'const') {
    const t = data.tensor;
    if (t.dims.length !== 2 || t.type !== 'float') return ctx.refuse('transposes a constant that is not a matrix');
    const perm = ctx.attrs.ints('perm') ?? [1, 0];
    if (perm.join() === '0,1') return data;
    if (perm.join() !== '1,0') return ctx.refuse(`perm [${perm}] does not permute a matrix`);
    const [r, c] = t.dims;
    const out = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
    return { kind: 'const', tensor: { dims: [c, r], type: 'float', data: out } };
  }
  if (!('axes' in data)) return ctx.refuse(`transposes ${describe(data)}`);
  const perm = ctx.attrs.ints('perm') ?? data.axes.map((_, i) => data.axes.length - 1 - i);
  if (perm.length !== data.axes.length || new Set(perm).size !== perm.length || perm.some((p) => p < 0 || p >= perm.length))
    ctx.refuse(`perm [${perm}] does not permute ${data.axes.length} axes`);
  return { ...data, axes: perm.map((p) => data.axes[p]) } as Value;
}

function reshapeOf(ctx: Context, data: Value, shapeValue: Value): Value {
  if (isShapeLike(data)) return data.kind === 'zeros' ? data : { kind: 'dynamic' };
  const shape = constInts(ctx, shapeValue, 'the target shape');
  const keeps = (n: number) => shape.slice(0, n).every((s) => s === 0);
  if (data.kind === 'Y') {
    // [..., D, U] → [..., D·U]: the directions side by side, forward first (concat).
    const r = data.axes.length;
    const layer = ctx.layers[data.layer];
    const dirs = layer.bidirectional ? 2 : 1;
    if (data.axes[r - 2] === 'D' && data.axes[r - 1] === 'U' && shape.length === r - 1 && keeps(r - 2) && (shape[r - 2] === -1 || shape[r - 2] === dirs * layer.units))
      return { kind: 'sequence', layer: data.layer, dirs: dirs === 2 ? [0, 1] : [0], merge: dirs === 2 ? 'concat' : null, axes: [...data.axes.slice(0, r - 2), 'F'] };
    return ctx.refuse(`reshapes layer ${data.layer}'s output Y [${data.axes.join(', ')}] to [${shape.join(', ')}]; rnn-node joins directions feature-wise ([time, batch, directions·units])`);
  }
  if (data.kind === 'pooled' && shape.length === 2 && (shape[0] === 0 || shape[0] === -1) && (shape[1] === -1 || shape[1] > 0)) return data;
  return ctx.refuse(`reshapes ${describe(data)} to [${shape.join(', ')}]`);
}

/** Two single-direction parts of one layer joined by `merge`, in the order given. */
function join(ctx: Context, a: Parts, b: Parts, merge: Merge): Parts {
  if (a.layer !== b.layer || a.dirs.length !== 1 || b.dirs.length !== 1 || a.dirs[0] === b.dirs[0] || a.merge !== null || b.merge !== null)
    ctx.refuse(`joins features that are not the two directions of one layer (rnn-node merges a bidirectional layer's forward and backward outputs)`);
  if (merge === 'concat' && a.dirs[0] !== 0) ctx.refuse('concatenates the backward direction before the forward one; rnn-node puts forward first');
  return { layer: a.layer, dirs: [0, 1], merge };
}

function sameAxes(ctx: Context, a: Axis[], b: Axis[]): void {
  if (a.join() !== b.join()) ctx.refuse(`joins tensors with different axis orders ([${a}] and [${b}])`);
}

function concatOf(ctx: Context, parts: Value[]): Value {
  if (parts.every(isShapeLike)) return { kind: 'dynamic' };
  const first = parts[0];
  if (first.kind === 'states' && parts.every((p) => p.kind === 'states')) {
    const a = normaliseAxis(ctx, ctx.attrs.int('axis', 0), first.axes.length);
    if (first.axes[a] !== 'S') ctx.refuse('concatenates final states along an axis other than the stacked-states one');
    const all = parts as Extract<Value, { kind: 'states' }>[];
    all.forEach((p) => sameAxes(ctx, first.axes, p.axes));
    return { kind: 'states', entries: all.flatMap((p) => p.entries), axes: first.axes };
  }
  if (parts.length === 2 && (first.kind === 'sequence' || first.kind === 'pooled') && parts[1].kind === first.kind) {
    const second = parts[1] as typeof first;
    const a = normaliseAxis(ctx, ctx.attrs.int('axis', 0), first.axes.length);
    if (first.axes[a] !== 'F') ctx.refuse(`concatenates along the ${first.axes[a]} axis; rnn-node joins directions feature-wise`);
    sameAxes(ctx, first.axes, second.axes);
    if (first.kind === 'pooled' && (first.source !== (second as typeof first).source)) ctx.refuse('concatenates features pooled in different ways');
    return { ...first, ...join(ctx, first, second, 'concat') } as Value;
  }
  return ctx.refuse(`concatenates ${parts.map(describe).join(' and ')}`);
}

function arithmeticOf(ctx: Context, a: Value, b: Value): Value {
  if (isShapeLike(a) && isShapeLike(b)) return { kind: 'dynamic' };
  const scalar = (v: Value) => (v.kind === 'const' && v.tensor.data.length === 1 ? Number(v.tensor.data[0]) : null);
  if (ctx.op === 'Add' && a.kind === 'logits' && b.kind === 'const') {
    // MatMul then Add: the dense layer's bias.
    if (b.tensor.type !== 'float' || b.tensor.data.length !== a.classes) ctx.refuse(`adds [${b.tensor.dims}] to logits of ${a.classes} classes`);
    return { ...a, bias: Float32Array.from(a.bias, (x, i) => x + Number(b.tensor.data[i])) };
  }
  if ((a.kind === 'sequence' || a.kind === 'pooled') && b.kind === a.kind && (ctx.op === 'Add' || ctx.op === 'Mul')) {
    sameAxes(ctx, a.axes, (b as typeof a).axes);
    if (a.kind === 'pooled' && (a.source !== 'state' || (b as typeof a).source !== 'state'))
      ctx.refuse('merges pooled directions; rnn-node merges the directions first, then pools');
    return { ...a, ...join(ctx, a, b as Parts, ctx.op === 'Add' ? 'sum' : 'mul') } as Value;
  }
  // (forward + backward) · 0.5, or / 2: the average.
  const [sum, factor] = a.kind === 'sequence' || a.kind === 'pooled' ? [a, scalar(b)] : [b, scalar(a)];
  if ((sum.kind === 'sequence' || sum.kind === 'pooled') && sum.merge === 'sum' && factor !== null && ((ctx.op === 'Mul' && factor === 0.5) || (ctx.op === 'Div' && sum === a && factor === 2)))
    return { ...sum, merge: 'ave' };
  return ctx.refuse(`${ctx.op} of ${describe(a)} and ${describe(b)}: rnn-node's model has no such step`);
}

function sliceOf(ctx: Context, data: Value): Value {
  if (isShapeLike(data)) return data.kind === 'zeros' ? data : { kind: 'dynamic' };
  if (data.kind === 'states') {
    const starts = constInts(ctx, ctx.required(1), 'starts');
    const ends = constInts(ctx, ctx.required(2), 'ends');
    const axes = ctx.input(3) ? constInts(ctx, ctx.input(3)!, 'axes') : [0];
    const steps = ctx.input(4) ? constInts(ctx, ctx.input(4)!, 'steps') : [1];
    if (axes.length !== 1 || data.axes[normaliseAxis(ctx, axes[0], data.axes.length)] !== 'S' || steps[0] !== 1)
      ctx.refuse('slices final states other than a run of stacked states');
    const n = data.entries.length;
    const clamp = (i: number) => Math.max(0, Math.min(n, i < 0 ? i + n : i));
    return { ...data, entries: data.entries.slice(clamp(starts[0]), clamp(ends[0])) };
  }
  return ctx.refuse(`slices ${describe(data)}`);
}

const ACTIVATIONS: Record<string, 'tanh' | 'relu'> = { tanh: 'tanh', relu: 'relu' };

function recurrentOf(ctx: Context): { Y: Value; Yh: Value } {
  const cell = ctx.op.toLowerCase() as Cell;
  const { attrs, refuse } = ctx;
  const x = ctx.required(0);
  const layer = ctx.layers.length;
  if (x.kind !== 'sequence') return refuse(`the recurrent input is ${describe(x)}; rnn-node stacks layers directly`);
  if (x.layer !== layer - 1) refuse(`reads ${describe(x)}, not the previous layer's: rnn-node stacks layers in a line`);
  const layout = attrs.int('layout', 0);
  if (layout !== 0 && layout !== 1) refuse(`layout ${layout}`);
  const [time, batch] = layout === 0 ? [0, 1] : [1, 0];
  const inputAxesOk = x.layer < 0 ? x.axes[2] === 'F' && new Set([x.axes[0], x.axes[1]]).size === 2 && x.axes.slice(0, 2).every((a) => a === 'x0' || a === 'x1') : x.axes[time] === 'T' && x.axes[batch] === 'N' && x.axes[2] === 'F';
  if (!inputAxesOk) refuse(`its input's axes [${x.axes.join(', ')}] are not [${layout === 0 ? 'time, batch, features' : 'batch, time, features'}]`);
  if (x.layer >= 0) {
    const previous = ctx.layers[x.layer];
    const complete = previous.bidirectional ? x.dirs.length === 2 : x.dirs.length === 1;
    if (!complete) refuse(`reads one direction of bidirectional layer ${x.layer}; rnn-node feeds both, merged`);
    previous.mergeMode = x.merge;
  }
  const direction = attrs.string('direction', 'forward');
  if (direction !== 'forward' && direction !== 'bidirectional') refuse(`direction ${JSON.stringify(direction)}: rnn-node runs forward or bidirectional layers`);
  const dirs = direction === 'bidirectional' ? 2 : 1;
  if (attrs.has('clip')) refuse('cell clipping (clip) is not part of rnn-node\'s cells');
  if (attrs.int('input_forget', 0) !== 0) refuse('input_forget couples the input and forget gates; rnn-node\'s LSTM does not');
  const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  const constFloat = (i: number, what: string): Tensor & { type: 'float' } => {
    const v = ctx.required(i);
    if (v.kind !== 'const' || v.tensor.type !== 'float') return refuse(`${what} must be a float constant (an initializer), not ${describe(v)}`);
    return v.tensor;
  };
  const W = constFloat(1, 'W');
  const R = constFloat(2, 'R');
  if (W.dims.length !== 3 || W.dims[0] !== dirs || W.dims[1] % G !== 0) refuse(`W has shape [${W.dims}]; a ${direction} ${ctx.op} needs [${dirs}, ${G}·hidden, input]`);
  const units = W.dims[1] / G;
  const inputSize = W.dims[2];
  if (attrs.has('hidden_size') && attrs.int('hidden_size', 0) !== units) refuse(`hidden_size ${attrs.int('hidden_size', 0)} disagrees with W's ${units} units`);
  if (R.dims.join() !== [dirs, G * units, units].join()) refuse(`R has shape [${R.dims}]; it needs [${dirs}, ${G * units}, ${units}]`);
  const bValue = ctx.input(3);
  let B: Float32Array;
  if (bValue === null || bValue.kind === 'zeros') {
    B = new Float32Array(dirs * 2 * G * units);
  } else {
    const t = constFloat(3, 'B');
    if (t.dims.join() !== [dirs, 2 * G * units].join()) refuse(`B has shape [${t.dims}]; it needs [${dirs}, ${2 * G * units}]`);
    B = t.data;
  }
  const lengths = ctx.input(4);
  if (lengths !== null && lengths.kind !== 'dynamic') refuse(`sequence_lens is ${describe(lengths)}; rnn-node takes each sequence's length from the batch`);
  for (const [i, what] of [[5, 'initial_h'], [6, 'initial_c']] as const) {
    const v = ctx.input(i);
    if (v !== null && v.kind !== 'zeros') refuse(`${what} is ${describe(v)}; rnn-node starts every sequence from a zero state`);
  }
  if (ctx.input(7) !== null) refuse('peephole weights (P): rnn-node\'s LSTM has no peepholes');
  if (x.layer < 0 && layer > 0) refuse('a second recurrent layer over the input');

  const { activation, recurrentActivation } = activationsOf(ctx, cell, dirs);
  const lbr = cell === 'gru' ? attrs.int('linear_before_reset', 0) : 0;
  const order = onnxGateOrder(cell);
  const weights = Array.from({ length: dirs }, (_, d) => {
    const twoBiases = cell === 'gru' && lbr === 1;
    const bias = fromOnnxBias(B.subarray(d * 2 * G * units, (d + 1) * 2 * G * units), units, order, twoBiases);
    return {
      kernel: fromOnnxMatrix(W.data.subarray(d * G * units * inputSize, (d + 1) * G * units * inputSize), inputSize, units, order),
      recurrent: fromOnnxMatrix(R.data.subarray(d * G * units * units, (d + 1) * G * units * units), units, units, order),
      bias,
      biasShape: twoBiases ? [2, G * units] : [G * units],
    };
  });
  ctx.layers.push({ cell, units, inputSize, bidirectional: dirs === 2, mergeMode: null, activation, recurrentActivation, resetAfter: lbr === 1, weights });
  const yAxes: Axis[] = layout === 0 ? ['T', 'D', 'N', 'U'] : ['N', 'T', 'D', 'U'];
  const hAxes: Axis[] = layout === 0 ? ['S', 'N', 'U'] : ['N', 'S', 'U'];
  return {
    Y: { kind: 'Y', layer, axes: yAxes },
    Yh: { kind: 'states', entries: Array.from({ length: dirs }, (_, dir) => ({ layer, dir })), axes: hAxes },
  };
}

function activationsOf(ctx: Context, cell: Cell, dirs: number): { activation: 'tanh' | 'relu'; recurrentActivation: 'sigmoid' | 'hardSigmoid' } {
  const per = cell === 'lstm' ? 3 : cell === 'gru' ? 2 : 1;
  const defaults = cell === 'lstm' ? ['Sigmoid', 'Tanh', 'Tanh'] : cell === 'gru' ? ['Sigmoid', 'Tanh'] : ['Tanh'];
  const names = ctx.attrs.strings('activations') ?? Array.from({ length: dirs }, () => defaults).flat();
  if (names.length !== per * dirs) ctx.refuse(`${names.length} activations; a ${dirs === 2 ? 'bidirectional ' : ''}${ctx.op} lists ${per * dirs}`);
  const alphas = ctx.attrs.floats('activation_alpha') ?? [];
  const betas = ctx.attrs.floats('activation_beta') ?? [];
  let parameter = 0;
  const gates: string[] = [];
  const outputs: string[] = [];
  names.forEach((raw, i) => {
    const name = raw.toLowerCase();
    let decoded = name;
    if (name === 'hardsigmoid') {
      const alpha = alphas[parameter] ?? 0.2;
      const beta = betas[parameter] ?? 0.5;
      parameter++;
      if (Math.abs(alpha - 0.2) > 1e-6 || Math.abs(beta - 0.5) > 1e-6)
        ctx.refuse(`HardSigmoid with alpha ${alpha}, beta ${beta}: rnn-node's hardSigmoid is 0.2x + 0.5 (Keras 2, tfjs, ONNX's default); Keras 3's x/6 + 0.5 is not one of its cells`);
      decoded = 'hardSigmoid';
    }
    const isGate = cell !== 'rnn' && i % per === 0;
    (isGate ? gates : outputs).push(decoded);
  });
  const outputSet = new Set(outputs);
  const activation = Object.hasOwn(ACTIVATIONS, outputs[0]) ? ACTIVATIONS[outputs[0]] : undefined;
  if (outputSet.size !== 1 || !activation) ctx.refuse(`activations [${names.join(', ')}]: rnn-node's cells use one of Tanh or Relu for their outputs, in every direction`);
  const gateSet = new Set(gates);
  if (cell !== 'rnn' && (gateSet.size !== 1 || !['sigmoid', 'hardSigmoid'].includes(gates[0]))) ctx.refuse(`gate activations [${gates.join(', ')}]: rnn-node's gates use Sigmoid or HardSigmoid, the same in every direction`);
  return { activation, recurrentActivation: cell === 'rnn' ? 'sigmoid' : (gates[0] as 'sigmoid' | 'hardSigmoid') };
}

function headOf(ctx: Context, a: Value, b: Value, c: Value | null): Value {
  if (a.kind !== 'pooled') return ctx.refuse(`the dense layer reads ${describe(a)}; rnn-node's reads the pooled features of the last recurrent layer`);
  if (a.axes.join() !== 'N,F') ctx.refuse(`the dense layer reads pooled features of axes [${a.axes.join(', ')}], not [batch, features]`);
  if (b.kind !== 'const' || b.tensor.type !== 'float' || b.tensor.dims.length !== 2) return ctx.refuse(`the dense weights are ${describe(b)}, not a float matrix`);
  if (ctx.attrs.int('transA', 0) !== 0) ctx.refuse('transA=1');
  const transB = ctx.op === 'Gemm' && ctx.attrs.int('transB', 0) === 1;
  const alpha = ctx.op === 'Gemm' ? ctx.attrs.float('alpha', 1) : 1;
  const beta = ctx.op === 'Gemm' ? ctx.attrs.float('beta', 1) : 1;
  const [rows, classes] = transB ? [b.tensor.dims[1], b.tensor.dims[0]] : b.tensor.dims;
  const kernel = new Float32Array(rows * classes);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < classes; j++) kernel[i * classes + j] = alpha * b.tensor.data[transB ? j * rows + i : i * classes + j];
  const bias = new Float32Array(classes);
  if (c !== null && c.kind !== 'zeros') {
    if (c.kind !== 'const' || c.tensor.type !== 'float') return ctx.refuse(`the dense bias is ${describe(c)}`);
    const n = c.tensor.data.length;
    if (n !== classes && n !== 1) ctx.refuse(`the dense bias has ${n} values for ${classes} classes`);
    for (let j = 0; j < classes; j++) bias[j] = beta * c.tensor.data[n === 1 ? 0 : j];
  }
  const { layer, dirs, merge, source } = a;
  return { kind: 'logits', pooled: { layer, dirs, merge, source }, kernel, bias, rows, classes };
}

function assemble(head: Extract<Value, { kind: 'logits' | 'probabilities' }>, layers: LayerFound[], embedding: Tensor | null, path: string): OnnxClassifier {
  const refuse = (why: string): never => {
    throw new UnsupportedModelError(`${path}: ${why}`);
  };
  if (layers.length === 0) refuse('no LSTM, GRU or RNN node feeds the output: rnn-node imports recurrent classifiers');
  const top = layers.length - 1;
  const { pooled } = head;
  if (pooled.layer !== top) refuse(`the dense layer reads layer ${pooled.layer}, not the last recurrent layer (${top})`);
  const last = layers[top];
  if (last.bidirectional && pooled.dirs.length !== 2)
    refuse(pooled.source === 'state'
      ? "the classifier reads one direction of a bidirectional layer's final states (h_n[-1] is the backward direction alone); rnn-node reads both: torch.cat((h_n[-2], h_n[-1]), 1)"
      : "the classifier reads one direction of a bidirectional layer's outputs; rnn-node reads both, merged");
  last.mergeMode = pooled.merge;
  const features = last.units * (last.bidirectional && pooled.merge === 'concat' ? 2 : 1);
  if (head.rows !== features) refuse(`the dense layer takes ${head.rows} features; the last recurrent layer gives ${features}`);
  layers.forEach((l, i) => {
    const expected = i === 0 ? (embedding ? embedding.dims[1] : l.inputSize) : layers[i - 1].units * (layers[i - 1].bidirectional && layers[i - 1].mergeMode === 'concat' ? 2 : 1);
    if (l.inputSize !== expected) refuse(`layer ${i} takes ${l.inputSize} features; what feeds it gives ${expected}`);
  });
  const config: SequenceClassifierConfig = {
    input: embedding
      ? { type: 'tokens', vocabSize: embedding.dims[0], embeddingDim: embedding.dims[1], maskZero: false }
      : { type: 'dense', features: layers[0].inputSize },
    layers: layers.map((l) => ({
      cell: l.cell,
      units: l.units,
      bidirectional: l.bidirectional,
      ...(l.bidirectional ? { mergeMode: l.mergeMode ?? 'concat' } : {}),
      activation: l.activation,
      ...(l.cell !== 'rnn' ? { recurrentActivation: l.recurrentActivation } : {}),
      ...(l.cell === 'gru' ? { resetAfter: l.resetAfter } : {}),
    })),
    pooling: pooled.source === 'state' || pooled.source === 'step' ? 'last' : pooled.source,
    classes: head.classes,
  };
  const weights: OnnxClassifier['weights'] = [];
  if (embedding) weights.push({ shape: embedding.dims, values: embedding.data as Float32Array });
  for (const l of layers) {
    const G = l.cell === 'lstm' ? 4 : l.cell === 'gru' ? 3 : 1;
    for (const w of l.weights) {
      weights.push({ shape: [l.inputSize, G * l.units], values: w.kernel });
      weights.push({ shape: [l.units, G * l.units], values: w.recurrent });
      weights.push({ shape: w.biasShape, values: w.bias });
    }
  }
  weights.push({ shape: [head.rows, head.classes], values: head.kernel });
  weights.push({ shape: [head.classes], values: head.bias });
  return { config, weights };
}
