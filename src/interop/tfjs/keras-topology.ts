/**
 * A Keras/tfjs layers topology (model.json's `modelTopology`) as a rnn-node config: the chain
 * [InputLayer] [Embedding] RNN... [GlobalAverage|GlobalMaxPooling1D] [Dropout...] Dense
 * [Activation('softmax')], from Sequential models and linear Functional graphs, written by
 * tfjs-layers' `model.save`, by the Keras→tfjs converter (Keras 2: `batch_input_shape`,
 * `model_config`) or Keras 3 (`batch_shape`, `module`/`registered_name`).
 *
 * Semantics follow the tool that wrote the file: where rnn-node would compute something else,
 * the layer is refused with the reason (UnsupportedModelError), never imported to differ
 * silently:
 *   - GlobalMaxPooling1D ignores the mask in Keras (2 and 3) and tfjs, and so does tfjs-layers'
 *     GlobalAveragePooling1D (Keras's masks): pooled padded steps are refused, rnn-node pools
 *     only the valid steps;
 *   - Keras 3's hard_sigmoid is x/6 + 0.5, rnn-node's (Keras 2, tfjs, ONNX) 0.2x + 0.5;
 *   - a Dense without softmax gives logits: the import predicts softmax(logits).
 */
import { orList } from '../../util/text';
import { UnsupportedModelError } from '../../util/errors';
import { CELL_TYPES, CELLS, cellOfKerasClass } from '../../model/cells';
import type { LayerConfig, SequenceClassifierConfig } from '../../model/config';

type Json = Record<string, unknown>;

export interface KerasLayer {
  className: string;
  name: string;
  config: Json;
}

export interface ImportedTopology {
  config: Omit<SequenceClassifierConfig, 'classes'> & { classes: number };
  /** The layers that own weights, in order, each with the tensors it has (Keras names). */
  weightLayers: { name: string; className: string; tensors: string[] }[];
  /** What wrote the file: 'tfjs-layers x', 'keras 2.x', 'keras 3.x' or ''. */
  writer: string;
  /** Dense ended in logits (softmax added by the import). */
  logits: boolean;
}

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function refuse(layer: KerasLayer | null, reason: string): never {
  throw new UnsupportedModelError(layer ? `layer ${JSON.stringify(layer.name)} (${layer.className}): ${reason}` : reason);
}

/** The topology object, whichever writer's nesting it has. */
function modelConfig(topology: Json): { className: string; config: unknown; writer: string } {
  const nested = isObject(topology.model_config) ? (topology.model_config as Json) : topology;
  const className = String(nested.class_name ?? '');
  const kerasVersion = String(topology.keras_version ?? nested.keras_version ?? '');
  const writer = kerasVersion.startsWith('tfjs') ? kerasVersion : kerasVersion ? `keras ${kerasVersion}` : '';
  return { className, config: nested.config, writer };
}

function layersOf(className: string, config: unknown): KerasLayer[] {
  const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(list)) refuse(null, `the ${className || 'model'} topology has no list of layers`);
  const layers = list.map((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) refuse(null, `layer ${i} of the topology is not {class_name, config}`);
    return { className: l.class_name as string, name: String((l.config as Json).name ?? l.name ?? `layer_${i}`), config: l.config as Json, inbound: l.inbound_nodes };
  });
  if (className === 'Sequential') return layers;
  if (className === 'Model' || className === 'Functional') {
    if (layers.length === 0) refuse(null, `the ${className} topology has no layers`);
    // The model's one output is its last layer's (a graph read out elsewhere is not this chain).
    const outputs = isObject(config) ? config.output_layers : undefined;
    if (Array.isArray(outputs)) {
      const named = JSON.stringify(outputs);
      const last = layers[layers.length - 1];
      if (outputs.length !== 1 && !(outputs.length === 3 && typeof outputs[0] === 'string')) refuse(null, `the model has ${outputs.length} outputs (only one, the last layer's, is imported)`);
      if (!named.includes(JSON.stringify(last.name))) refuse(null, `the model's output is ${named}, not its last layer ${JSON.stringify(last.name)} (only chains of layers are imported)`);
    }
    // A linear graph: each layer's one input is the layer before it.
    layers.forEach((l, i) => {
      if (i === 0) return;
      const inbound = JSON.stringify(l.inbound ?? []);
      if (!inbound.includes(JSON.stringify(layers[i - 1].name))) refuse(l, `not a linear graph: its input is not ${JSON.stringify(layers[i - 1].name)} (only chains of layers are imported)`);
      const sources = new Set([...inbound.matchAll(/"([^"]+)"/g)].map((m) => m[1]).filter((n) => layers.some((other) => other.name === n)));
      if (sources.size > 1) refuse(l, `not a linear graph: it has several inputs (${[...sources].join(', ')})`);
    });
    return layers;
  }
  refuse(null, `a ${JSON.stringify(className)} model (only Sequential and linear Functional models are imported)`);
}

/** The input shape a layer declares: [steps|null, features] or [steps|null] for token ids. */
function declaredShape(c: Json): (number | null)[] | null {
  const shape = (c.batch_input_shape ?? c.batch_shape ?? c.batchInputShape) as unknown;
  if (Array.isArray(shape)) return shape.slice(1) as (number | null)[];
  const input = (c.input_shape ?? c.inputShape) as unknown;
  return Array.isArray(input) ? (input as (number | null)[]) : null;
}

/** A layer of one of the cells' Keras classes (CELLS[cell].kerasClass), in the switch over layer classes. */
const RECURRENT = Symbol('recurrent layer');

/** The recurrent layer classes, for messages: 'LSTM, GRU or SimpleRNN'. */
const RNN_CLASS_LIST = orList(CELL_TYPES.map((c) => CELLS[c].kerasClass));

function recurrentLayer(layer: KerasLayer, inner: KerasLayer, bidirectional: boolean, writer: string): { layer: LayerConfig; returnSequences: boolean } {
  const c = inner.config;
  const cell = cellOfKerasClass(inner.className)!;
  const options = CELLS[cell].options;
  for (const flag of ['return_state', 'stateful', 'go_backwards', 'unroll', 'time_major'] as const)
    if (c[flag] === true) refuse(layer, `${flag}=true is not supported (a classifier reads the sequence once, forward)`);
  if (c.use_bias === false) refuse(layer, 'use_bias=false is not supported');
  const activation = String(c.activation ?? 'tanh');
  if (activation !== 'tanh' && activation !== 'relu') refuse(layer, `activation ${JSON.stringify(activation)} (tanh or relu)`);
  const out: LayerConfig = { cell, units: Number(c.units), activation, bidirectional };
  if (!Number.isInteger(out.units) || out.units < 1) refuse(layer, `units must be a positive integer, got ${JSON.stringify(c.units)}`);
  if (options.recurrentActivation) {
    const rec = String(c.recurrent_activation ?? 'sigmoid');
    if (rec === 'hard_sigmoid' && writer.startsWith('keras 3')) refuse(layer, "Keras 3's hard_sigmoid is x/6 + 0.5; rnn-node's hardSigmoid is Keras 2's, tfjs's and ONNX's 0.2x + 0.5");
    if (rec !== 'sigmoid' && rec !== 'hard_sigmoid') refuse(layer, `recurrent_activation ${JSON.stringify(rec)} (sigmoid or hard_sigmoid)`);
    out.recurrentActivation = rec === 'hard_sigmoid' ? 'hardSigmoid' : 'sigmoid';
  }
  if (options.resetAfter) out.resetAfter = c.reset_after === true; // tfjs-layers writes none: reset before
  return { layer: out, returnSequences: c.return_sequences === true };
}

// What a recurrent layer computes, from its config (names, initialisers and seeds aside).
const COMPUTES = ['units', 'activation', 'recurrent_activation', 'use_bias', 'return_sequences', 'return_state', 'stateful', 'unroll', 'reset_after', 'time_major'];

/**
 * Keras 3 writes every Bidirectional's `backward_layer` (Keras 2 only one the user gave): the
 * forward layer's copy with `go_backwards=true`. That is what rnn-node's backward direction
 * computes; any other backward layer (another class, size or activation) is refused.
 */
function checkMirror(layer: KerasLayer, forward: Json, backward: unknown) {
  if (!isObject(backward) || !isObject(backward.config)) refuse(layer, 'backward_layer is not {class_name, config}');
  if (backward.class_name !== forward.class_name) refuse(layer, `backward_layer is a ${String(backward.class_name)}, the forward layer a ${String(forward.class_name)} (only the forward layer's mirror is supported)`);
  const f = forward.config as Json;
  const b = backward.config as Json;
  if (b.go_backwards !== true) refuse(layer, 'backward_layer does not have go_backwards=true');
  for (const key of COMPUTES)
    if (JSON.stringify(f[key] ?? null) !== JSON.stringify(b[key] ?? null))
      refuse(layer, `backward_layer's ${key} ${JSON.stringify(b[key] ?? null)} differs from the forward layer's ${JSON.stringify(f[key] ?? null)} (only the forward layer's mirror is supported)`);
}

/** The rnn-node config of a topology, and the layers whose weights the manifest holds. */
export function importTopology(topology: unknown): ImportedTopology {
  if (!isObject(topology)) refuse(null, 'model.json has no modelTopology object (a graph model? only layers models are imported)');
  const { className, config, writer } = modelConfig(topology);
  const layers = layersOf(className, config);
  let features: number | null = null;
  let tokens: { vocabSize: number; embeddingDim: number; maskZero: boolean } | null = null;
  let maskValue: number | null = null;
  const recurrent: LayerConfig[] = [];
  let lastReturnsSequences = false;
  let pooling: 'last' | 'mean' | 'max' = 'last';
  let classes = 0;
  let logits = false;
  let stage: 'input' | 'rnn' | 'pooled' | 'dense' | 'done' = 'input';
  const weightLayers: ImportedTopology['weightLayers'] = [];
  for (const layer of layers) {
    const c = layer.config;
    const shape = declaredShape(c);
    if (shape && stage === 'input' && !tokens) {
      const last = shape[shape.length - 1];
      if (layer.className === 'Embedding' || shape.length === 1) {
        // token ids [steps]: the Embedding says the rest
      } else if (shape.length === 2 && typeof last === 'number') features = last;
      else refuse(layer, `input shape ${JSON.stringify(shape)} (expected [steps, features] or token ids [steps])`);
    }
    switch (cellOfKerasClass(layer.className) !== undefined ? RECURRENT : layer.className) {
      case 'InputLayer':
        if (stage !== 'input') refuse(layer, 'an InputLayer after other layers');
        break;
      case 'Embedding': {
        if (stage !== 'input' || tokens) refuse(layer, 'an Embedding must come first');
        tokens = { vocabSize: Number(c.input_dim), embeddingDim: Number(c.output_dim), maskZero: c.mask_zero === true };
        if (!(tokens.vocabSize >= 1 && tokens.embeddingDim >= 1)) refuse(layer, 'input_dim and output_dim must be positive integers');
        weightLayers.push({ name: layer.name, className: layer.className, tensors: ['embeddings'] });
        break;
      }
      case 'Masking': {
        if (stage !== 'input' || tokens) refuse(layer, 'Masking must come first, on dense input');
        maskValue = Number(c.mask_value ?? 0);
        if (!Number.isFinite(maskValue)) refuse(layer, `mask_value ${JSON.stringify(c.mask_value)} is not a finite number`);
        break;
      }
      case RECURRENT:
      case 'Bidirectional': {
        if (stage !== 'input' && stage !== 'rnn') refuse(layer, 'a recurrent layer after pooling or the classifier head');
        if (stage === 'rnn' && !lastReturnsSequences) refuse(layer, 'the recurrent layer before it has return_sequences=false');
        let inner: KerasLayer = layer;
        const bidirectional = layer.className === 'Bidirectional';
        if (bidirectional) {
          const wrapped = c.layer;
          if (!isObject(wrapped) || typeof wrapped.class_name !== 'string' || !isObject(wrapped.config)) refuse(layer, 'no wrapped layer');
          inner = { className: wrapped.class_name as string, name: String((wrapped.config as Json).name ?? layer.name), config: wrapped.config as Json };
          if (cellOfKerasClass(inner.className) === undefined) refuse(layer, `wraps a ${inner.className} (${RNN_CLASS_LIST})`);
          if (c.merge_mode === null) refuse(layer, 'merge_mode None (the two directions as a list) is not supported');
          const merge = c.merge_mode ?? 'concat';
          if (!['concat', 'sum', 'ave', 'mul'].includes(String(merge))) refuse(layer, `merge_mode ${JSON.stringify(merge)} (concat, sum, ave or mul)`);
          if (c.backward_layer !== undefined && c.backward_layer !== null) checkMirror(layer, wrapped, c.backward_layer);
        }
        if (features === null && !tokens) {
          const innerShape = declaredShape(inner.config);
          const f = innerShape?.[innerShape.length - 1];
          if (typeof f !== 'number') refuse(layer, 'the model declares no input shape (add an InputLayer or input_shape)');
          features = f;
        }
        const { layer: out, returnSequences } = recurrentLayer(layer, inner, bidirectional, writer);
        if (bidirectional) out.mergeMode = String(c.merge_mode ?? 'concat') as LayerConfig['mergeMode'];
        recurrent.push(out);
        lastReturnsSequences = returnSequences;
        const names = ['kernel', 'recurrent_kernel', 'bias'];
        weightLayers.push({ name: layer.name, className: layer.className, tensors: bidirectional ? [...names.map((n) => `forward/${n}`), ...names.map((n) => `backward/${n}`)] : names });
        stage = 'rnn';
        break;
      }
      case 'GlobalAveragePooling1D':
      case 'GlobalMaxPooling1D': {
        if (stage !== 'rnn' || !lastReturnsSequences) refuse(layer, 'pooling must follow a recurrent layer with return_sequences=true');
        const masked = tokens?.maskZero || maskValue !== null;
        if (masked && layer.className === 'GlobalMaxPooling1D')
          refuse(layer, 'GlobalMaxPooling1D ignores the mask (in Keras and tfjs) and pools the padded steps; rnn-node pools the valid steps');
        if (masked && writer.startsWith('tfjs'))
          refuse(layer, "tfjs-layers' global pooling ignores the mask and pools the padded steps; rnn-node pools the valid steps (as Keras does)");
        pooling = layer.className === 'GlobalAveragePooling1D' ? 'mean' : 'max';
        stage = 'pooled';
        break;
      }
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'GaussianNoise':
        break; // identity at inference
      case 'Dense': {
        if (stage === 'rnn' && lastReturnsSequences) refuse(layer, 'a Dense on every step (the last recurrent layer has return_sequences=true and no pooling follows)');
        if (stage !== 'rnn' && stage !== 'pooled') refuse(layer, 'the Dense head must follow the recurrent layers');
        const activation = String(c.activation ?? 'linear');
        if (activation !== 'softmax' && activation !== 'linear') refuse(layer, `activation ${JSON.stringify(activation)} (softmax, or linear: logits whose softmax is predicted)`);
        if (c.use_bias === false) refuse(layer, 'use_bias=false is not supported');
        logits = activation === 'linear';
        classes = Number(c.units);
        if (!Number.isInteger(classes) || classes < 2) refuse(layer, `a classifier needs at least 2 units, got ${JSON.stringify(c.units)}`);
        weightLayers.push({ name: layer.name, className: layer.className, tensors: ['kernel', 'bias'] });
        stage = 'dense';
        break;
      }
      case 'Activation': {
        if (stage !== 'dense' || c.activation !== 'softmax') refuse(layer, 'only Activation("softmax") right after the Dense head');
        if (!logits) refuse(layer, 'Activation("softmax") after a Dense that already applies softmax (softmax twice is not supported)');
        logits = false;
        stage = 'done';
        break;
      }
      default:
        refuse(layer, `this layer is not supported (InputLayer, Masking, Embedding, ${CELL_TYPES.map((t) => CELLS[t].kerasClass).join(', ')}, Bidirectional, GlobalAverage/MaxPooling1D, Dropout, Dense, Activation)`);
    }
  }
  if (recurrent.length === 0) refuse(null, 'the model has no recurrent layer');
  if (classes === 0) refuse(null, 'the model does not end in a Dense classifier head');
  const input = tokens ? { type: 'tokens' as const, ...tokens } : { type: 'dense' as const, features: features!, maskValue };
  return { config: { input, layers: recurrent, pooling, classes }, weightLayers, writer, logits };
}
