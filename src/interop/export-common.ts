/**
 * What every exporter checks first: the formats run weights in float32, so an int8 or bf16
 * model (made by `quantize()`, computing on rnn-node's own kernels) would become a different
 * model there. It is refused; the float32 model it came from exports.
 */
import type { ResolvedConfig } from '../model/config';
import { UnsupportedModelError } from '../util/errors';

export function checkExportable(config: ResolvedConfig, format: 'ONNX' | 'tfjs'): void {
  if (config.precision !== 'float32')
    throw new UnsupportedModelError(`Cannot export this ${config.precision} model to ${format}: its arithmetic is rnn-node's kernels', and ${format} would run its weights in float32; export the float32 model it was quantized from`);
}
