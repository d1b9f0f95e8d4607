/**
 * What a report says about the model, the data and the environment: the RunDescription, and
 * how a record reads in the mistakes table when the caller gives no words of its own.
 */
import { CELLS } from '../model/cells';
import { backendInfo } from '../native/backend';
import type { ResolvedConfig } from '../model/config';
import type { SequenceSet } from '../data/sequence-set';
import { describeSteps, type DescribeRecord } from './evaluation';
import type { LayerSummary, RunDescription } from './report-data';

/** Layers with their parameter counts, from the weight tensors' names (`<layer>/<tensor>`). */
export function layerSummaries(config: ResolvedConfig, weights: { name: string; shape: number[] }[]): LayerSummary[] {
  const params = new Map<string, number>();
  for (const w of weights) {
    const layer = w.name.split('/')[0];
    params.set(layer, (params.get(layer) ?? 0) + w.shape.reduce((a, b) => a * b, 1));
  }
  const out: LayerSummary[] = [];
  let recurrent = 0;
  for (const [name, count] of params) {
    if (name === 'embedding' && config.input.type === 'tokens') {
      out.push({ name, kind: 'embedding', units: config.input.embeddingDim, params: count });
    } else if (name === 'dense') {
      out.push({ name, kind: 'dense + softmax', units: config.classes, params: count });
    } else {
      const layer = config.layers[recurrent++];
      if (!layer) {
        out.push({ name, kind: 'unknown', units: 0, params: count });
        continue;
      }
      const merge = layer.bidirectional && layer.mergeMode !== 'concat' ? `, ${layer.mergeMode}` : '';
      const kind = `${layer.bidirectional ? 'bidirectional ' : ''}${layer.cell}${CELLS[layer.cell].options.resetAfter ? (layer.resetAfter ? ' (reset after' : ' (reset before') + merge + ')' : merge ? ` (${merge.slice(2)})` : ''}`;
      out.push({ name, kind, units: layer.units * (layer.bidirectional && !merge ? 2 : 1), params: count });
    }
  }
  return out;
}

export function inputDescription(config: ResolvedConfig): string {
  return config.input.type === 'tokens'
    ? `tokens: vocabulary ${config.input.vocabSize}, embedding ${config.input.embeddingDim}`
    : `dense: ${config.input.features} feature${config.input.features === 1 ? '' : 's'} per step`;
}

export function classCounts(labels: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const y of labels) counts[y]++;
  return counts;
}

export function labelNames(config: ResolvedConfig): string[] {
  return config.labels ?? Array.from({ length: config.classes }, (_, c) => String(c));
}

export function describeRun(
  kind: RunDescription['kind'],
  title: string,
  config: ResolvedConfig,
  weights: { name: string; shape: number[] }[],
  data: RunDescription['data'],
  options: RunDescription['options'],
): RunDescription {
  const backend = backendInfo();
  const layers = layerSummaries(config, weights);
  return {
    kind,
    title,
    startedAt: new Date().toISOString(),
    model: { input: inputDescription(config), layers, pooling: config.pooling, params: layers.reduce((a, l) => a + l.params, 0) },
    data,
    options,
    versions: { rnnNode: backend.version, node: process.versions.node, variant: backend.variant, simd: backend.simd, threads: backend.threads },
  };
}

/**
 * How a record of `set` reads when the caller gave no description: text decoded through the
 * model's tokenizer vocabulary when it has one (a model trained by the CLI), token ids
 * otherwise, and a dense sequence's first steps.
 */
export function defaultDescriber(set: SequenceSet, preprocessing: Record<string, unknown> | null): DescribeRecord {
  const tokenizer = (preprocessing as { tokenizer?: { kind?: string; vocabulary?: unknown } } | null)?.tokenizer;
  const vocabulary = Array.isArray(tokenizer?.vocabulary) ? (tokenizer!.vocabulary as unknown[]) : null;
  const separator = tokenizer?.kind === 'word' ? ' ' : '';
  return (index) => {
    const length = set.lengths[index];
    if (set.tokens) {
      const ids = set.tokens.subarray(index * set.steps, index * set.steps + length);
      if (vocabulary) return Array.from(ids, (id) => (id === 1 ? '�' : String(vocabulary[id] ?? '?'))).join(separator);
      return `token ids: ${Array.from(ids.subarray(0, 40)).join(' ')}${length > 40 ? ' …' : ''}`;
    }
    const start = index * set.steps * set.features;
    return describeSteps(set.dense!.subarray(start, start + length * set.features), length, set.features);
  };
}
