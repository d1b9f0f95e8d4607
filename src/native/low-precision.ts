/**
 * Which kernel an int8 or bf16 model runs on here, and the warning when it is the portable
 * one: that path runs the quantized values through the float kernels, so a quantized model
 * can be slower than its float32 model. Never a silent slowdown: `quantize()` warns once per
 * process and precision (process.emitWarning, codes RNN_NODE_PORTABLE_INT8 / _BF16), and
 * `rnn-node info` and `rnn-node quantize` print the same words.
 */
import { native } from './addon';

export type LowPrecision = 'int8' | 'bf16';

export const PORTABLE_WARNING_CODES: Record<LowPrecision, string> = {
  int8: 'RNN_NODE_PORTABLE_INT8',
  bf16: 'RNN_NODE_PORTABLE_BF16',
};

/** The kernels that make each precision pay, for the message. */
const FAST_KERNELS: Record<LowPrecision, string> = {
  int8: 'AVX2, AVX-VNNI or AVX-512 VNNI',
  bf16: 'AVX512-BF16',
};

/** The kernel a `precision` model runs on in this process (backendInfo().int8Kernel / .bf16Kernel). */
export function lowPrecisionKernel(precision: LowPrecision): string {
  const info = native().buildInfo();
  return precision === 'int8' ? info.int8Kernel : info.bf16Kernel;
}

/** The warning for a `precision` model here, or null when a fast kernel runs it. */
export function portableWarning(precision: LowPrecision): string | null {
  if (lowPrecisionKernel(precision) !== 'portable') return null;
  return `this CPU has no fast ${precision} kernel (${FAST_KERNELS[precision]}): ${precision} models run on the portable path here, which can be slower than their float32 model`;
}

const warned = new Set<LowPrecision>();

/** Emits the portable-kernel warning once per process and precision. */
export function warnIfPortable(precision: LowPrecision): void {
  if (warned.has(precision)) return;
  const warning = portableWarning(precision);
  if (warning === null) return;
  warned.add(precision);
  process.emitWarning(`rnn-node: ${warning}`, { code: PORTABLE_WARNING_CODES[precision] });
}
