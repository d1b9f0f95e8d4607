/**
 * An ONNX LSTM/GRU/RNN node as one of rnn-node's recurrent layers: its attributes, its
 * activations and its weights in rnn-node's layout and gate order (the cell facts come from
 * model/cells.ts).
 */
import { biasRows, CELLS, cellOfOnnxOp, gateCount, onnxGateOrder, type CellType } from '../../model/cells';
import type { Tensor } from './onnx-model';
import { fromOnnxBias, fromOnnxMatrix } from './onnx-gates';
import { type Axis, type Value, type Context, describe } from './onnx-values';

const ACTIVATIONS: Record<string, 'tanh' | 'relu'> = { tanh: 'tanh', relu: 'relu' };

export function recurrentOf(ctx: Context): { Y: Value; Yh: Value } {
  const cell = cellOfOnnxOp(ctx.op)!;
  const spec = CELLS[cell];
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
  const G = gateCount(cell);
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
  const lbr = spec.options.resetAfter ? attrs.int('linear_before_reset', 0) : 0;
  const order = onnxGateOrder(cell);
  const weights = Array.from({ length: dirs }, (_, d) => {
    const twoBiases = biasRows({ cell, resetAfter: lbr === 1 }) === 2;
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

function activationsOf(ctx: Context, cell: CellType, dirs: number): { activation: 'tanh' | 'relu'; recurrentActivation: 'sigmoid' | 'hardSigmoid' } {
  // The operator's slots per direction: the gate activation (f) and the candidate/output ones (g, h).
  const slots = CELLS[cell].onnx.activations;
  const per = slots.length;
  const defaults = slots.map((s) => (s === 'gate' ? 'Sigmoid' : 'Tanh'));
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
    const isGate = slots[i % per] === 'gate';
    (isGate ? gates : outputs).push(decoded);
  });
  const outputSet = new Set(outputs);
  const activation = Object.hasOwn(ACTIVATIONS, outputs[0]) ? ACTIVATIONS[outputs[0]] : undefined;
  if (outputSet.size !== 1 || !activation) ctx.refuse(`activations [${names.join(', ')}]: rnn-node's cells use one of Tanh or Relu for their outputs, in every direction`);
  const gateSet = new Set(gates);
  if (slots.includes('gate') && (gateSet.size !== 1 || !['sigmoid', 'hardSigmoid'].includes(gates[0]))) ctx.refuse(`gate activations [${gates.join(', ')}]: rnn-node's gates use Sigmoid or HardSigmoid, the same in every direction`);
  return { activation, recurrentActivation: slots.includes('gate') ? (gates[0] as 'sigmoid' | 'hardSigmoid') : 'sigmoid' };
}
