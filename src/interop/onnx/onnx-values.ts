/**
 * The abstract values an ONNX graph is interpreted on (onnx-graph.ts), and the tensor
 * operators on them: Gather, Squeeze, Transpose, Reshape, Concat, arithmetic and Slice follow
 * what a tensor *is* (the input sequence, a layer's Y or Y_h with named axes, pooled features)
 * through the graph, and refuse what rnn-node's model cannot express.
 */
import type { CellType } from '../../model/cells';
import { UnsupportedModelError } from '../../util/errors';
import { Attributes, readTensor, type NodeProto, type Tensor } from './onnx-model';

/** ONNX element types: float (float, double) and integer (int8/16/32/64, uint8). */
export const FLOAT_TYPES = new Set([1, 11]);
export const INT_TYPES = new Set([2, 3, 5, 6, 7]);

export type Axis = 'x0' | 'x1' | 'T' | 'N' | 'F' | 'D' | 'U' | 'S';

export type Merge = 'concat' | 'sum' | 'ave' | 'mul';

/** Features made of one layer's directions: `dirs` in order, joined by `merge` (null: one direction). */
export interface Parts {
  layer: number; // -1: the model's input (features or embedded tokens)
  dirs: number[];
  merge: Merge | null;
}

export type Value =
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

export interface LayerFound {
  cell: CellType;
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

export interface Context {
  op: string;
  attrs: Attributes;
  refuse: (why: string) => never;
  required: (i: number) => Value;
  input: (i: number) => Value | null;
  layers: LayerFound[];
  path: string;
  where: string;
}

export function describe(v: Value): string {
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

export const isShapeLike = (v: Value) => v.kind === 'dynamic' || v.kind === 'zeros' || (v.kind === 'const' && v.tensor.type === 'int');

export function normaliseAxis(ctx: Context, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.refuse(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function constInts(ctx: Context, v: Value, what: string): number[] {
  if (v.kind !== 'const' || v.tensor.type !== 'int') return ctx.refuse(`${what} must be constant integers (they are ${describe(v)})`);
  return v.tensor.data;
}

export function axesOf(ctx: Context, inputIndex: number): number[] | null {
  const fromAttribute = ctx.attrs.ints('axes');
  if (fromAttribute) return fromAttribute;
  const v = ctx.input(inputIndex);
  return v ? constInts(ctx, v, 'axes') : null;
}

export function constantOf(node: NodeProto, attrs: Attributes, where: string): Tensor {
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

export function castOf(ctx: Context): Value {
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

export function gatherOf(ctx: Context, data: Value, indices: Value): Value {
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
export function without(axes: Axis[], a: number): Axis[] {
  return axes.filter((_, i) => i !== a).map((x) => (x === 'U' ? 'F' : x));
}

export function squeezeOf(ctx: Context, data: Value, axes: number[] | null): Value {
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

export function transposeOf(ctx: Context, data: Value): Value {
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

export function reshapeOf(ctx: Context, data: Value, shapeValue: Value): Value {
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
export function join(ctx: Context, a: Parts, b: Parts, merge: Merge): Parts {
  if (a.layer !== b.layer || a.dirs.length !== 1 || b.dirs.length !== 1 || a.dirs[0] === b.dirs[0] || a.merge !== null || b.merge !== null)
    ctx.refuse(`joins features that are not the two directions of one layer (rnn-node merges a bidirectional layer's forward and backward outputs)`);
  if (merge === 'concat' && a.dirs[0] !== 0) ctx.refuse('concatenates the backward direction before the forward one; rnn-node puts forward first');
  return { layer: a.layer, dirs: [0, 1], merge };
}

function sameAxes(ctx: Context, a: Axis[], b: Axis[]): void {
  if (a.join() !== b.join()) ctx.refuse(`joins tensors with different axis orders ([${a}] and [${b}])`);
}

export function concatOf(ctx: Context, parts: Value[]): Value {
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

export function arithmeticOf(ctx: Context, a: Value, b: Value): Value {
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

export function sliceOf(ctx: Context, data: Value): Value {
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
