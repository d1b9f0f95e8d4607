/**
 * The end of an interpreted ONNX graph: the classifier head (Gemm/MatMul over pooled features)
 * and the assembly of the layers found into a config and weights in rnn-node's order.
 */
import { orList } from '../../util/text';
import { CELL_TYPES, CELLS, gateCount } from '../../model/cells';
import type { SequenceClassifierConfig } from '../../model/config';
import { UnsupportedModelError } from '../../util/errors';
import type { Tensor } from './onnx-model';
import { type Value, type LayerFound, type Context, describe } from './onnx-values';

export interface OnnxClassifier {
  config: SequenceClassifierConfig;
  /** In rnn-node's getWeights() order. */
  weights: { shape: number[]; values: Float32Array }[];
}

export function headOf(ctx: Context, a: Value, b: Value, c: Value | null): Value {
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

export function assemble(head: Extract<Value, { kind: 'logits' | 'probabilities' }>, layers: LayerFound[], embedding: Tensor | null, path: string): OnnxClassifier {
  const refuse = (why: string): never => {
    throw new UnsupportedModelError(`${path}: ${why}`);
  };
  if (layers.length === 0) refuse(`no ${orList(CELL_TYPES.map((c) => CELLS[c].onnx.op))} node feeds the output: rnn-node imports recurrent classifiers`);
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
      ...(CELLS[l.cell].options.recurrentActivation ? { recurrentActivation: l.recurrentActivation } : {}),
      ...(CELLS[l.cell].options.resetAfter ? { resetAfter: l.resetAfter } : {}),
    })),
    pooling: pooled.source === 'state' || pooled.source === 'step' ? 'last' : pooled.source,
    classes: head.classes,
  };
  const weights: OnnxClassifier['weights'] = [];
  if (embedding) weights.push({ shape: embedding.dims, values: embedding.data as Float32Array });
  for (const l of layers) {
    const G = gateCount(l.cell);
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
