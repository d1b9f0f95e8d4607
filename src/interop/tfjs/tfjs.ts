/**
 * tfjs/Keras layers models in and out: `SequenceClassifier.fromTfjs(model.json)` and
 * `model.toTfjs(dir)`. Weights are matched by layer and shape (Keras names differ between
 * versions; within a layer the tensor's role, kernel/recurrent_kernel/bias, decides), and the
 * labels and preprocessing travel in `userDefinedMetadata.rnnNode`, which makes a round trip
 * exact.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '../../util/atomic-file';
import { CELLS } from '../../model/cells';
import { recurrentLayerName, type ModelDescription, type TensorInfo } from '../../model/description';
import { checkExportable } from '../export-common';
import { invalidType, ModelFileError, UnsupportedModelError } from '../../util/errors';
import { readRegularFileSync } from '../../util/read-file';
import { describeImported, type ImportOptions, type RnnNodeMetadata } from '../import-common';
import { importTopology } from './keras-topology';
import { readTfjsWeights, type NamedWeight } from './tfjs-weights';

export type { ImportOptions } from '../import-common';

const MAX_MODEL_JSON_BYTES = 64 << 20;

function readModelJson(path: string): Record<string, unknown> {
  let json: unknown;
  let text: string;
  try {
    text = readRegularFileSync(path, MAX_MODEL_JSON_BYTES, 'a model.json holds (weights belong in the shards)').toString('utf8');
  } catch (e) {
    throw new ModelFileError(`${path}: ${(e as Error).message}`);
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${path}: not valid JSON, truncated or corrupt (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ModelFileError(`${path}: not a tfjs model.json object`);
  return json as Record<string, unknown>;
}

/** The role of a Keras weight within its layer, from the last part of its name. */
function role(name: string): string | null {
  const last = name.split('/').pop()!.replace(/:\d+$/, '');
  const direction = /(^|\/)backward_/.test(name) ? 'backward/' : /(^|\/)forward_/.test(name) ? 'forward/' : '';
  return ['kernel', 'recurrent_kernel', 'bias', 'embeddings'].includes(last) ? `${direction}${last}` : null;
}

/**
 * The manifest's weights in rnn-node's order: layer by layer (the topology's weight layers,
 * each taking its next tensors from the manifest), within a layer by role when the names say
 * it, then every shape checked.
 */
function orderWeights(path: string, weights: NamedWeight[], layers: { name: string; className: string; tensors: string[] }[], expected: TensorInfo[]): NamedWeight[] {
  const total = layers.reduce((a, l) => a + l.tensors.length, 0);
  if (weights.length !== total) throw new ModelFileError(`${path}: the manifest has ${weights.length} weights; the topology's layers need ${total}`);
  const out: NamedWeight[] = [];
  let at = 0;
  for (const layer of layers) {
    const group = weights.slice(at, at + layer.tensors.length);
    at += layer.tensors.length;
    const roles = group.map((w) => role(w.name));
    const byRole = new Map(group.map((w, i) => [roles[i], w]));
    const named = roles.every((r) => r !== null) && byRole.size === group.length && layer.tensors.every((t) => byRole.has(t));
    out.push(...(named ? layer.tensors.map((t) => byRole.get(t)!) : group));
  }
  out.forEach((w, i) => {
    const want = expected[i];
    if (w.shape.join(',') !== want.shape.join(','))
      throw new ModelFileError(`${path}: weight ${w.name} has shape [${w.shape.join(', ')}]; ${want.name} needs [${want.shape.join(', ')}]`);
  });
  return out;
}

/** A tfjs/Keras layers model (model.json and its weight shards) as a model description. */
export async function importTfjs(path: string, options: ImportOptions = {}): Promise<ModelDescription> {
  if (typeof path !== 'string' || path === '') throw invalidType('path', 'the path of a model.json', path);
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const json = readModelJson(path);
  const topology = importTopology(json.modelTopology);
  const meta = ((json.userDefinedMetadata as Record<string, unknown> | undefined)?.rnnNode ?? {}) as RnnNodeMetadata;
  const weights = readTfjsWeights(path, json.weightsManifest);
  return describeImported(path, topology.config, meta, options, (tensors) => orderWeights(path, weights, topology.weightLayers, tensors));
}

const SHARD_BYTES = 4 << 20; // tfjs's default shard size

/** Writes `dir`/`fileName` (model.json) and its weight shards beside it, which `@tensorflow/tfjs`'s loadLayersModel reads. */
export async function exportTfjs(model: ModelDescription, dir: string, version: string, fileName = 'model.json'): Promise<void> {
  const c = model.config;
  checkExportable(c, 'tfjs');
  if (typeof dir !== 'string' || dir === '') throw invalidType('dir', 'a directory path', dir);
  c.layers.forEach((l, i) => {
    if (CELLS[l.cell].options.resetAfter && l.resetAfter)
      throw new UnsupportedModelError(`layer ${i} (${l.cell}, resetAfter: true): tfjs-layers' ${CELLS[l.cell].kerasClass} has no reset_after; it computes only the reset-before form`);
  });
  const masked = c.input.type === 'tokens' ? c.input.maskZero : c.input.maskValue !== null;
  if (masked && c.pooling !== 'last')
    throw new UnsupportedModelError(`pooling '${c.pooling}' over masked input: tfjs-layers' global pooling ignores the mask and would pool the padding`);
  const weights = model.weights;
  const keras: Record<string, unknown>[] = [];
  if (c.input.type === 'tokens') {
    keras.push({ class_name: 'Embedding', config: { name: 'embedding', input_dim: c.input.vocabSize, output_dim: c.input.embeddingDim, mask_zero: c.input.maskZero, batch_input_shape: [null, null], dtype: 'float32', trainable: true } });
  }
  const masking = c.input.type === 'dense' && c.input.maskValue !== null;
  if (masking && c.input.type === 'dense') keras.push({ class_name: 'Masking', config: { name: 'masking', mask_value: c.input.maskValue, batch_input_shape: [null, null, c.input.features], dtype: 'float32', trainable: true } });
  c.layers.forEach((l, i) => {
    const returnSequences = i < c.layers.length - 1 || c.pooling !== 'last';
    const cellConfig: Record<string, unknown> = {
      units: l.units, activation: l.activation, use_bias: true, return_sequences: returnSequences, return_state: false,
      go_backwards: false, stateful: false, unroll: false, dropout: 0, recurrent_dropout: 0, trainable: true, dtype: 'float32',
      ...(CELLS[l.cell].options.recurrentActivation ? { recurrent_activation: l.recurrentActivation === 'hardSigmoid' ? 'hard_sigmoid' : 'sigmoid' } : {}),
      ...(i === 0 && c.input.type === 'dense' && !masking && !l.bidirectional ? { batch_input_shape: [null, null, c.input.features] } : {}),
    };
    const { name, inner } = recurrentLayerName(l, i);
    if (l.bidirectional) {
      keras.push({
        class_name: 'Bidirectional',
        config: {
          name, merge_mode: l.mergeMode, trainable: true,
          layer: { class_name: CELLS[l.cell].kerasClass, config: { ...cellConfig, name: inner ?? l.cell } },
          ...(i === 0 && c.input.type === 'dense' && !masking ? { batch_input_shape: [null, null, c.input.features] } : {}),
        },
      });
    } else {
      keras.push({ class_name: CELLS[l.cell].kerasClass, config: { ...cellConfig, name } });
    }
  });
  if (c.pooling === 'mean') keras.push({ class_name: 'GlobalAveragePooling1D', config: { name: 'global_average_pooling1d', trainable: true } });
  if (c.pooling === 'max') keras.push({ class_name: 'GlobalMaxPooling1D', config: { name: 'global_max_pooling1d', trainable: true } });
  keras.push({ class_name: 'Dense', config: { name: 'dense', units: c.classes, activation: 'softmax', use_bias: true, trainable: true, dtype: 'float32' } });

  // One group of float32 weights, sharded as tfjs shards (4 MB).
  const data = Buffer.concat(weights.map((w) => Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength)));
  const shards = Math.max(1, Math.ceil(data.length / SHARD_BYTES));
  // tfjs's shard names beside model.json; beside another .json, named after it, so that two
  // models written into one folder (a.json, b.json) never share (and overwrite) shards.
  const stem = fileName.replace(/\.json$/i, '');
  const prefix = stem === 'model' ? '' : `${stem}.`;
  const paths = Array.from({ length: shards }, (_, i) => `${prefix}group1-shard${i + 1}of${shards}.bin`);
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < shards; i++) await writeFileAtomic(join(dir, paths[i]), data.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES));
  const modelJson = {
    format: 'layers-model',
    generatedBy: `rnn-node ${version}`,
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: 'rnn_node_classifier', layers: keras }, keras_version: `rnn-node ${version}`, backend: 'tensor_flow.js' },
    weightsManifest: [{ paths, weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
    userDefinedMetadata: { rnnNode: { labels: c.labels, preprocessing: model.preprocessing, config: { ...c, classes: c.classes } } },
  };
  // model.json last: a reader that finds it finds its shards.
  await writeFileAtomic(join(dir, fileName), Buffer.from(JSON.stringify(modelJson)));
}

/** For messages: what a path holds, if not a model.json. */
export function assertModelJson(path: string): void {
  if (!/\.json$/i.test(path)) throw new ModelFileError(`${path}: a tfjs model is a model.json file`);
}
