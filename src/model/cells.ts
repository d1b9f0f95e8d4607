/**
 * Every fact about a recurrent cell kind, in one table. The config, the model file, the
 * quantizer, the tfjs and ONNX importers and exporters and the report read their cell facts
 * here instead of branching on a cell's name, so a new kind is one entry (the compiler refuses
 * a `CellType` without one) plus its kernels. The native core keeps the same table
 * (native/core/cells.h): a test compares the two through the addon's `buildInfo().cells`.
 */

export type CellType = 'lstm' | 'gru' | 'rnn';

/** The role of a tensor in a model's flat parameters (native/core/param_layout.h's TensorRole). */
export type TensorRole = 'embedding' | 'kernel' | 'recurrent' | 'bias' | 'denseKernel' | 'denseBias';

/** Which activation an ONNX recurrent operator's `activations` slot takes from a layer. */
export type OnnxActivationSlot = 'gate' | 'candidate';

export interface CellSpec {
  /**
   * The gate blocks, one letter each, in the order the weights hold them: Keras's, which tfjs
   * and rnn-node's files use. Every W [input, G·units], U [units, G·units] and bias holds G =
   * gates.length blocks of `units` columns side by side.
   */
  gates: readonly string[];
  /** The Keras layer name of the weights (`lstm_0/kernel`, `bidirectional_1/forward_gru/bias`). */
  weightPrefix: string;
  /** The cell-specific options of a LayerConfig that this cell reads (the rest do not apply). */
  options: { recurrentActivation: boolean; resetAfter: boolean; unitForgetBias: boolean };
  /** A layer with `resetAfter: true` has two bias rows [2, G·units]: the input and the recurrent bias. */
  twoBiasesWhenResetAfter: boolean;
  /** Carries a cell state c beside h from step to step (LSTM): a stream's saved state holds both. */
  cellState: boolean;
  /** Keras/tfjs-layers: the layer's class_name (its config fields follow `options`). */
  kerasClass: string;
  onnx: {
    /** The ONNX operator (opset 17). */
    op: 'LSTM' | 'GRU' | 'RNN';
    /** The same gate blocks in the operator's order (W, R and B stack them in this order). */
    gateOrder: readonly string[];
    /** Per direction, the operator's `activations` slots: the gate (f) or the candidate (g, h) activation. */
    activations: readonly OnnxActivationSlot[];
    /** The operator's outputs: Y, Y_h, and Y_c for a cell with a cell state. */
    outputs: number;
  };
}

export const CELLS: Record<CellType, CellSpec> = {
  lstm: {
    gates: ['i', 'f', 'g', 'o'],
    weightPrefix: 'lstm',
    options: { recurrentActivation: true, resetAfter: false, unitForgetBias: true },
    twoBiasesWhenResetAfter: false,
    cellState: true,
    kerasClass: 'LSTM',
    onnx: { op: 'LSTM', gateOrder: ['i', 'o', 'f', 'g'], activations: ['gate', 'candidate', 'candidate'], outputs: 3 },
  },
  gru: {
    gates: ['z', 'r', 'h'],
    weightPrefix: 'gru',
    options: { recurrentActivation: true, resetAfter: true, unitForgetBias: false },
    twoBiasesWhenResetAfter: true,
    cellState: false,
    kerasClass: 'GRU',
    onnx: { op: 'GRU', gateOrder: ['z', 'r', 'h'], activations: ['gate', 'candidate'], outputs: 2 },
  },
  rnn: {
    gates: ['a'],
    weightPrefix: 'simple_rnn',
    options: { recurrentActivation: false, resetAfter: false, unitForgetBias: false },
    twoBiasesWhenResetAfter: false,
    cellState: false,
    kerasClass: 'SimpleRNN',
    onnx: { op: 'RNN', gateOrder: ['a'], activations: ['candidate'], outputs: 2 },
  },
};

/** The cell kinds, in the table's order. */
export const CELL_TYPES = Object.keys(CELLS) as CellType[];

/** G: the gate blocks of a cell. */
export function gateCount(cell: CellType): number {
  return CELLS[cell].gates.length;
}

/** Rows of a layer's bias: 2 (input and recurrent bias) for a reset-after GRU, else 1. */
export function biasRows(layer: { cell: CellType; resetAfter: boolean }): 1 | 2 {
  return CELLS[layer.cell].twoBiasesWhenResetAfter && layer.resetAfter ? 2 : 1;
}

/** ONNX gate block g holds rnn-node's block order[g] (derived from both gate orders). */
export function onnxGateOrder(cell: CellType): number[] {
  const spec = CELLS[cell];
  return spec.onnx.gateOrder.map((g) => spec.gates.indexOf(g));
}

/** The cell whose ONNX operator is `op`, if any. */
export function cellOfOnnxOp(op: string): CellType | undefined {
  return CELL_TYPES.find((c) => CELLS[c].onnx.op === op);
}

/** The cell whose Keras class is `className`, if any. */
export function cellOfKerasClass(className: string): CellType | undefined {
  return CELL_TYPES.find((c) => CELLS[c].kerasClass === className);
}

/** Gate order per cell, as the addon's `buildInfo().gateOrder` reports it. */
export const GATE_ORDER = Object.fromEntries(CELL_TYPES.map((c) => [c, [...CELLS[c].gates]])) as Record<CellType, string[]>;

/**
 * The gate orders model files record (`header.gateOrder`): those of the cells with more than
 * one gate block, comma-separated ({ lstm: 'i,f,g,o', gru: 'z,r,h' }).
 */
export const FILE_GATE_ORDER: Readonly<Record<string, string>> = Object.fromEntries(
  CELL_TYPES.filter((c) => gateCount(c) > 1).map((c) => [c, CELLS[c].gates.join(',')]),
);
