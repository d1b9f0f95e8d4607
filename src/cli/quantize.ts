/** `rnn-node quantize`: an inference-only int8 or bf16 copy of a trained model file. */
import { SequenceClassifier } from '../model/classifier';
import { helpText, parseFlags, UsageError, type Flag } from './flags';

export const QUANTIZE_FLAGS: Flag[] = [
  { name: 'model', kind: 'path', help: 'the trained float32 model (.rnn)', required: true },
  { name: 'output', kind: 'path', output: 'file', help: 'the quantized model to write (.rnn, atomically); predict and evaluate take it as it is', required: true },
  { name: 'type', kind: { choices: ['int8', 'bf16'] }, help: 'int8: per-channel int8 weights, per-row dynamic int8 activations (VNNI where the CPU has it); bf16: bfloat16 operands, float sums', default: 'int8' },
];

export const QUANTIZE_HELP = helpText('quantize', 'Write an inference-only int8 or bf16 copy of a trained model: faster predict and evaluate, within a few tenths of a point of its accuracy (bench/QUANTIZE.md).', QUANTIZE_FLAGS);

export async function quantize(argv: string[]): Promise<number> {
  const { values: v, help } = parseFlags('quantize', argv, QUANTIZE_FLAGS);
  if (help) {
    process.stdout.write(QUANTIZE_HELP + '\n');
    return 0;
  }
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
