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
import { ModelFileError, UnsupportedModelError } from '../../util/errors';
import { Attributes, defaultOpset, readTensor, type ModelProto, type NodeProto, type Tensor } from './onnx-model';
import { CELLS, cellOfOnnxOp } from '../../model/cells';
import { FLOAT_TYPES, INT_TYPES, type Value, type LayerFound, type Context, describe, isShapeLike, normaliseAxis, constInts, axesOf, constantOf, castOf, gatherOf, squeezeOf, transposeOf, reshapeOf, concatOf, arithmeticOf, sliceOf } from './onnx-values';
import { recurrentOf } from './onnx-recurrent';
import { assemble, headOf, type OnnxClassifier } from './onnx-assemble';
/** Operators torch writes when it sorts and packs sequences (pack_padded_sequence). */
const PACKING_OPS = new Set(['TopK', 'ScatterElements', 'ScatterND', 'NonZero', 'Loop', 'If', 'SequenceConstruct', 'SplitToSequence']);

/** Operators that only ever compute shapes here: dynamic in, dynamic out. */
const SHAPE_OPS = new Set(['Range', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Where', 'Sub', 'Neg', 'Abs', 'Min', 'Max', 'ReduceProd', 'ReduceSum', 'Floor', 'Ceil', 'Sqrt', 'Expand', 'Mod', 'Tile']);

/** The case of the node switch for an operator of one of the cells (CELLS[cell].onnx.op). */
const RECURRENT = Symbol('recurrent operator');

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
    switch (cellOfOnnxOp(op) !== undefined ? RECURRENT : op) {
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
      case RECURRENT: {
        const { Y, Yh } = recurrentOf(ctx);
        set(Y, 0);
        set(Yh, 1);
        if (CELLS[cellOfOnnxOp(op)!].onnx.outputs > 2) set({ kind: 'cellState' }, 2);
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
        const axis = attrs.int('axis', defaultOpset(model, path) >= 13 ? -1 : 1);
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

export type { OnnxClassifier } from './onnx-assemble';
