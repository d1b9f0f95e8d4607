/**
 * `SequenceClassifier.fromOnnx(path)`. Two kinds of file:
 * - written by rnn-node's `toOnnx` (producer "rnn-node", metadata_props "rnn-node" holding
 *   the config): the config comes from the metadata, each weight from the initializer the
 *   exporter named for it, shapes checked against that config, gate orders and biases mapped
 *   back (onnx-gates.ts). Exact: rnn → onnx → rnn returns the same numbers.
 * - anything else (torch.onnx.export and other writers): onnx-graph.ts reads what the graph
 *   computes, or refuses naming the node.
 * Labels, vocabulary and preprocessing: import-common.ts.
 */
import { biasRows, gateCount, onnxGateOrder } from '../../model/cells';
import { resolveConfig, type SequenceClassifierConfig } from '../../model/config';
import { layerOutputWidth, type ModelDescription } from '../../model/description';
import { invalidType, ModelFileError } from '../../util/errors';
import { describeImported, checkImportOptions, type ImportOptions, type RnnNodeMetadata } from '../import-common';
import { fromOnnxBias, fromOnnxMatrix } from './onnx-gates';
import { interpretOnnx, type OnnxClassifier } from './onnx-graph';
import { readOnnxFile, readTensor, type ModelProto, type Tensor } from './onnx-model';

export async function importOnnx(path: string, options: ImportOptions = {}): Promise<ModelDescription> {
  if (typeof path !== 'string' || path === '') throw invalidType('path', 'the path of an .onnx file', path);
  checkImportOptions(options);
  const model = readOnnxFile(path);
  const meta = metadataOf(model, path);
  const found = meta?.config && model.producerName === 'rnn-node' ? ownExport(model, meta.config, path) : interpretOnnx(model, path);
  return describeImported(path, found.config, meta ?? {}, options, () => found.weights);
}

function metadataOf(model: ModelProto, path: string): RnnNodeMetadata | null {
  const entry = (model.metadataProps ?? []).find((p) => p.key === 'rnn-node');
  if (!entry) return null;
  try {
    const parsed = JSON.parse(entry.value ?? '') as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as RnnNodeMetadata;
  } catch (e) {
    throw new ModelFileError(`${path}: metadata_props "rnn-node" is not the JSON object rnn-node writes (${(e as Error).message})`);
  }
}

/** The weights of a file `toOnnx` wrote, by the names it gave them (see onnx-export.ts). */
function ownExport(model: ModelProto, rawConfig: Record<string, unknown>, path: string): OnnxClassifier {
  let config;
  try {
    config = resolveConfig(rawConfig as unknown as SequenceClassifierConfig, false);
  } catch (e) {
    throw new ModelFileError(`${path}: the config in metadata_props "rnn-node" is not one this version reads (${(e as Error).message})`);
  }
  const initializers = new Map((model.graph!.initializer ?? []).map((t) => [t.name ?? '', t]));
  const tensor = (name: string, dims: number[]): Tensor & { type: 'float' } => {
    const t = initializers.get(name);
    if (!t) throw new ModelFileError(`${path}: initializer ${name} is missing (the file is not what rnn-node wrote)`);
    const read = readTensor(t, `${path}: initializer ${name}`);
    if (read.type !== 'float' || read.dims.join() !== dims.join())
      throw new ModelFileError(`${path}: initializer ${name} has shape [${read.dims.join(', ')}]; the model in its metadata needs [${dims.join(', ')}]`);
    return read;
  };
  const weights: OnnxClassifier['weights'] = [];
  let input: number;
  if (config.input.type === 'tokens') {
    const shape = [config.input.vocabSize, config.input.embeddingDim];
    weights.push({ shape, values: tensor('embedding', shape).data });
    input = config.input.embeddingDim;
  } else {
    input = config.input.features;
  }
  config.layers.forEach((layer, l) => {
    const u = layer.units;
    const dirs = layer.bidirectional ? 2 : 1;
    const G = gateCount(layer.cell);
    const order = onnxGateOrder(layer.cell);
    const W = tensor(`layer${l}_W`, [dirs, G * u, input]).data;
    const R = tensor(`layer${l}_R`, [dirs, G * u, u]).data;
    const B = tensor(`layer${l}_B`, [dirs, 2 * G * u]).data;
    const twoBiases = biasRows(layer) === 2;
    for (let d = 0; d < dirs; d++) {
      weights.push({ shape: [input, G * u], values: fromOnnxMatrix(W.subarray(d * G * u * input, (d + 1) * G * u * input), input, u, order) });
      weights.push({ shape: [u, G * u], values: fromOnnxMatrix(R.subarray(d * G * u * u, (d + 1) * G * u * u), u, u, order) });
      weights.push({ shape: twoBiases ? [2, G * u] : [G * u], values: fromOnnxBias(B.subarray(d * 2 * G * u, (d + 1) * 2 * G * u), u, order, twoBiases) });
    }
    input = layerOutputWidth(layer);
  });
  weights.push({ shape: [input, config.classes], values: tensor('dense_kernel', [input, config.classes]).data });
  weights.push({ shape: [config.classes], values: tensor('dense_bias', [config.classes]).data });
  const { labels: _labels, ...structure } = config;
  return { config: structure as unknown as SequenceClassifierConfig, weights };
}
