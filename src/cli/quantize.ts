/** `rnn-node quantize`: an inference-only int8 or bf16 copy of a trained model file. */
import { SequenceClassifier } from '../classifier/classifier';
import type { FlagCommand } from './command';
import { UsageError, type Flag, type FlagValues } from './flags';

const QUANTIZE_FLAGS: Flag[] = [
  { name: 'model', kind: 'path', help: 'the trained float32 model (.rnn)', required: true },
  { name: 'output', kind: 'path', output: 'file', help: 'the quantized model to write (.rnn, atomically); predict and evaluate take it as it is', required: true },
  { name: 'type', kind: { choices: ['int8', 'bf16'] }, help: 'int8: per-channel int8 weights, per-row dynamic int8 activations (VNNI where the CPU has it); bf16: bfloat16 operands, float sums', default: 'int8' },
];

export const QUANTIZE_COMMAND: FlagCommand = {
  name: 'quantize',
  summary: 'write an inference-only int8 or bf16 copy of a trained model',
  description: 'Write an inference-only int8 or bf16 copy of a trained model: faster predict and evaluate, within a few tenths of a point of its accuracy (bench/QUANTIZE.md).',
  flags: QUANTIZE_FLAGS,
  run: ({ values }) => quantize(values),
};

async function quantize(v: FlagValues): Promise<number> {
  const input = v.model as string;
  const output = v.output as string;
  if (!/\.rnn$/i.test(output)) throw new UsageError(`rnn-node quantize: --output ${JSON.stringify(output)}: name a .rnn file`);
  const model = await SequenceClassifier.load(input);
  try {
    if (model.config.precision !== 'float32') throw new Error(`${input} is already ${model.config.precision}: quantize the float32 model it came from`);
    const quantized = await model.quantize({ type: v.type as 'int8' | 'bf16' });
    try {
      await quantized.save(output);
    } finally {
      quantized.dispose();
    }
  } finally {
    model.dispose();
  }
  process.stderr.write(`rnn-node quantize: ${input} → ${output} (${v.type})\n`);
  return 0;
}
