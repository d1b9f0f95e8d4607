/**
 * `model.quantize({ type })`: the weights an int8 or bf16 model runs on. The recurrent
 * products' matrices (each direction's kernel W and recurrent kernel U) go onto the grid the
 * native packer uses (native/core/quantized_gemm.cc), so `getWeights()` of a quantized model
 * shows the values it computes with and a saved model reloads to the same predictions:
 *   int8, per output column j:  s_j = max_k |w_kj| / 127,  w_kj ← s_j · round(w_kj / s_j)
 *   bf16:                       w ← w rounded to bfloat16 (to nearest, ties to even)
 * The packer re-derives the same levels from these values (s_j · q is q levels of s_j up to
 * one rounding, far from a tie). Embeddings, biases and the dense head stay float32: they are
 * not products the kernels run, and the head is a small share of the work.
 */
import { resolveConfig, type Precision, type SequenceClassifierConfig } from './config';
import { tensorsOf, type ModelDescription, type WeightTensor } from './description';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x rounded to the nearest bfloat16 (ties to even), as a float. */
export function roundToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
  return f32[0];
}

/** Per-column symmetric int8 levels of a row-major [rows, cols] matrix, as their float values. */
function int8Grid(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let j = 0; j < cols; j++) {
    let max = 0;
    for (let r = 0; r < rows; r++) max = Math.max(max, Math.abs(values[r * cols + j]));
    if (max === 0) continue;
    const scale = Math.fround(max / 127);
    for (let r = 0; r < rows; r++) {
      const q = Math.max(-127, Math.min(127, Math.round(values[r * cols + j] / scale)));
      out[r * cols + j] = Math.fround(q * scale);
    }
  }
  return out;
}

/**
 * Weights of a model of `precision` (tensorsOf(config) order) with each recurrent layer's W and U
 * on that precision's grid; a float32 model's weights as they are.
 */
export function onPrecisionGrid(d: ModelDescription): WeightTensor[] {
  const precision = d.config.precision;
  if (precision === 'float32') return d.weights;
  const roles = tensorsOf(d.config).map((t) => t.role);
  return d.weights.map((w, i) => {
    if ((roles[i] !== 'kernel' && roles[i] !== 'recurrent') || w.shape.length !== 2) return w;
    const values = precision === 'int8' ? int8Grid(w.values, w.shape[0], w.shape[1]) : w.values.map(roundToBf16);
    return { ...w, values };
  });
}

/**
 * A float32 model as an inference-only `precision` model: the same structure and preprocessing,
 * its recurrent matrices on the grid. The config is checked for that precision (int8's depth
 * limit); a RangeError names `config.precision`.
 */
export function quantizeDescription(d: ModelDescription, precision: Exclude<Precision, 'float32'>): ModelDescription {
  const config = resolveConfig({ ...d.config, classes: d.config.labels ?? d.config.classes, precision } as SequenceClassifierConfig);
  return { config, weights: onPrecisionGrid({ ...d, config }), preprocessing: d.preprocessing === null ? null : structuredClone(d.preprocessing) };
}
