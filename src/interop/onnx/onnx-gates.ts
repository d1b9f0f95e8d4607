/**
 * One direction's recurrent weights between rnn-node's layout and the ONNX operators'.
 *
 * rnn-node (Keras's layout): kernel [in, G·u] and recurrent [u, G·u], gate blocks side by side
 * in Keras order (LSTM i f c o; GRU z r h; RNN one block); one bias [G·u], or for a reset-after
 * GRU two rows [2, G·u] (input bias, recurrent bias).
 * ONNX LSTM/GRU/RNN: W [G·u, in] and R [G·u, u] per direction, gate blocks stacked in ONNX
 * order (LSTM i o f c; GRU z r h); B [2·G·u] = Wb then Rb. The cell adds both biases:
 *   gates = x·Wᵀ + Wb + h·Rᵀ + Rb,
 * except the GRU's candidate with linear_before_reset=1, where Rbh sits inside the reset:
 *   h̃ = g(x·Whᵀ + Wbh + r ⊙ (h·Rhᵀ + Rbh)),
 * which is exactly the reset-after GRU's two-bias form.
 */

// The `order` arguments below: ONNX gate block g holds rnn-node's block order[g]
// (onnxGateOrder in model/cells.ts, derived from each cell's two gate orders).

/** [rows, G·u] with rnn-node's blocks → [G·u, rows] with the blocks in `order`. */
export function toOnnxMatrix(values: Float32Array, rows: number, units: number, order: number[]): Float32Array {
  const G = order.length;
  const out = new Float32Array(G * units * rows);
  for (let g = 0; g < G; g++) {
    const src = order[g];
    for (let j = 0; j < units; j++) for (let r = 0; r < rows; r++) out[(g * units + j) * rows + r] = values[r * G * units + src * units + j];
  }
  return out;
}

/** The inverse of toOnnxMatrix: ONNX [G·u, rows] → rnn-node [rows, G·u]. */
export function fromOnnxMatrix(values: Float32Array, rows: number, units: number, order: number[]): Float32Array {
  const G = order.length;
  const out = new Float32Array(G * units * rows);
  for (let g = 0; g < G; g++) {
    const dst = order[g];
    for (let j = 0; j < units; j++) for (let r = 0; r < rows; r++) out[r * G * units + dst * units + j] = values[(g * units + j) * rows + r];
  }
  return out;
}

/** rnn-node's gate blocks [G·u] in `order`. */
export function toOnnxVector(values: Float32Array, units: number, order: number[]): Float32Array {
  const out = new Float32Array(order.length * units);
  order.forEach((src, g) => out.set(values.subarray(src * units, (src + 1) * units), g * units));
  return out;
}

/** ONNX's gate blocks [G·u] back in rnn-node's order. */
export function fromOnnxVector(values: Float32Array, units: number, order: number[]): Float32Array {
  const out = new Float32Array(order.length * units);
  order.forEach((dst, g) => out.set(values.subarray(g * units, (g + 1) * units), dst * units));
  return out;
}

/**
 * One direction's ONNX B [2·G·u] as rnn-node's bias: two rows [Wb; Rb] for the reset-after GRU
 * (its candidate needs Rbh apart), else the sum Wb + Rb in one [G·u] (b + 0 = b, so our own
 * exports, which put the bias in Wb, come back exactly).
 */
export function fromOnnxBias(B: Float32Array, units: number, order: number[], twoBiases: boolean): Float32Array {
  const G = order.length;
  const Wb = B.subarray(0, G * units);
  const Rb = B.subarray(G * units, 2 * G * units);
  if (twoBiases) {
    const out = new Float32Array(2 * G * units);
    out.set(fromOnnxVector(Wb, units, order), 0);
    out.set(fromOnnxVector(Rb, units, order), G * units);
    return out;
  }
  const sum = new Float32Array(G * units);
  for (let i = 0; i < sum.length; i++) sum[i] = Wb[i] + Rb[i];
  return fromOnnxVector(sum, units, order);
}
