/** `rnn-node info MODEL`: what a model file holds. */
import { oneLine } from './terminal-text';
import { statSync } from 'node:fs';
import { readCheckpoint } from '../model/checkpoint';
import type { FlagCommand } from './command';
import { UsageError, type FlagValues } from './flags';
import { jsonFlag } from './common-flags';
import { lowPrecisionKernel, portableWarning, type LowPrecision } from '../native/low-precision';

/** The portable-kernel warning as info prints it (the words quantize() warns with). */
const portable = (precision: LowPrecision) => {
  const warning = portableWarning(precision);
  return warning === null ? '' : `; warning: ${warning}`;
};

export const INFO_COMMAND: FlagCommand = {
  name: 'info',
  summary: 'describe a model file',
  description: 'Describe a model file: architecture, labels, parameters, preprocessing, training state.',
  flags: [jsonFlag()],
  positional: { usage: 'MODEL', count: 1 },
  run: ({ values, positionals }) => info(values, positionals),
};

async function info(v: FlagValues, positionals: string[]): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('rnn-node info: expected one MODEL file');
  const path = positionals[0];
  const { header } = await readCheckpoint(path);
  const pre = header.preprocessing as { kind?: string; tokenizer?: { kind: string; vocabulary: string[] }; features?: number; vocabSize?: number } | null;
  const tuned = (header.preprocessing as { tune?: { trial?: number; params?: Record<string, unknown>; objective?: string; value?: number; study?: string } } | null)?.tune ?? null;
  const summary = {
    file: path,
    bytes: statSync(path).size,
    format: header.format,
    library: header.library,
    input: header.config.input,
    layers: header.config.layers,
    pooling: header.config.pooling,
    precision: header.config.precision,
    classes: header.config.classes,
    labels: header.config.labels,
    params: header.paramCount,
    tensors: header.tensors,
    preprocessing: pre ? { kind: pre.kind, tokenizer: pre.tokenizer ? { kind: pre.tokenizer.kind, vocabularySize: pre.tokenizer.vocabulary.length } : undefined, features: pre.features } : null,
    training: header.training ? { epochs: header.training.epochs, optimizer: header.training.optimizer, optimizerSteps: header.training.optimizerSteps } : null,
    // A model `rnn-node tune` chose: its trial's settings.
    ...(tuned ? { tune: tuned } : {}),
    // An int8/bf16 model: the kernel it runs on here, and the warning when that is the slow one.
    ...(header.config.precision === 'float32' ? {} : { kernel: lowPrecisionKernel(header.config.precision), warning: portableWarning(header.config.precision) }),
  };
  if (v.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return 0;
  }
  const layers = header.config.layers.map((l) => `${l.bidirectional ? 'bidirectional ' : ''}${l.cell.toUpperCase()}(${l.units})${l.dropout ? ` dropout ${l.dropout}` : ''}`).join(' -> ');
  const input = header.config.input.type === 'dense' ? `dense, ${header.config.input.features} features` : `tokens, vocabulary ${header.config.input.vocabSize}, embedding ${header.config.input.embeddingDim}`;
  const c = header.config;
  // The record schema train used (saved in the preprocessing): what evaluate/predict read by default.
  const saved = (header.preprocessing as { source?: Record<string, unknown> } | null)?.source;
  const described = saved ? Object.entries(saved).map(([k, v]) => `${k} ${JSON.stringify(v)}`) : [];
  const source = described.length ? described.join(', ') : '';
  const perLayer = [...new Set(c.layers.map((l) => `kernel ${l.kernelInitializer}, recurrent ${l.recurrentInitializer}, bias ${l.biasInitializer}`))];
  const init = `${c.input.type === 'tokens' ? `embedding ${c.input.embeddingInitializer}; ` : ''}${perLayer.join(' | ')}`;
  const lines = [
    `${path}: rnn-node model, format ${header.format}, ${summary.bytes} bytes (${header.library})`,
    `input:    ${input}`,
    `layers:   ${layers}; pooling ${header.config.pooling}`,
    `classes:  ${header.config.labels ? oneLine(header.config.labels.map((l) => (/^[\w .-]+$/.test(l) ? l : JSON.stringify(l))).join(', ')) : header.config.classes}`,
    `init:     ${init}`,
    ...(source ? [`source:   ${source}`] : []),
    `params:   ${header.paramCount}${header.config.precision === 'float32' ? '' : ` (${header.config.precision}: inference-only)`}`,
    ...(c.precision === 'float32' ? [] : [`kernel:   ${c.precision} runs on ${lowPrecisionKernel(c.precision)} here${portable(c.precision)}`]),
    `preprocessing: ${pre ? (pre.tokenizer ? `${pre.tokenizer.kind} tokenizer, ${pre.tokenizer.vocabulary.length} ids` : pre.kind === 'ids' ? `token ids below ${pre.vocabSize} ({"ids": [...]} records)` : `${pre.features} dense features`) : 'none'}`,
    ...(tuned ? [`tuned:    trial ${tuned.trial}${tuned.study ? ` of ${oneLine(String(tuned.study))}` : ''}, ${tuned.objective} ${tuned.value}: ${oneLine(Object.entries(tuned.params ?? {}).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' '))}`] : []),
    `training: ${summary.training ? `${summary.training.epochs} epochs, ${summary.training.optimizer.type}, ${summary.training.optimizerSteps} steps (resumable)` : 'no training state'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
