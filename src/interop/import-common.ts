/**
 * What every importer (tfjs model.json, ONNX) does once it knows a model's structure and
 * weights: the labels (the caller's, else the file's metadata, else class indices), the
 * preprocessing (a vocabulary given at import, else the file's, else raw sequences or token
 * ids), and — for files rnn-node wrote — the exporting model's whole config (initialisers,
 * seed), used when it agrees with the structure the file itself shows.
 */
import { resolveConfig, type ResolvedConfig, type SequenceClassifierConfig } from '../model/config';
import { packWeights, structureOf, tensorsOf, unpackWeights, type ModelDescription, type TensorInfo, type WeightsInput } from '../model/description';
import { onPrecisionGrid } from '../model/quantize';
import { invalidType, ModelFileError, outOfRange } from '../util/errors';
import { Tokenizer } from '../data/tokenizer';

/** What vocabularies call the token for everything outside them: <unk>, [UNK], <oov>, [OOV],
 * <unknown> (any case), or a bare UNK / OOV (upper case: a lower-case word may be a real one). */
const isUnknownToken = (t: string): boolean => /^(?:<(?:unk|oov|unknown)>|\[(?:unk|oov|unknown)\])$/i.test(t) || t === 'UNK' || t === 'OOV';

export interface ImportOptions {
  /** Class names, when the source model has none (its metadata's, else class indices). */
  labels?: string[];
  /** Token of each id (index = id), for text models: with it the model takes raw text. */
  vocabulary?: string[];
  /** How text splits into tokens with that vocabulary. Default 'char'. */
  tokenize?: 'char' | 'word';
}

/** What rnn-node's exporters put in a file's metadata (tfjs userDefinedMetadata.rnnNode, ONNX metadata_props "rnn-node"). */
export interface RnnNodeMetadata {
  labels?: string[] | null;
  preprocessing?: Record<string, unknown> | null;
  /** The exporting model's whole config (initialisers, seed, ...): restored when it agrees with the structure. */
  config?: Record<string, unknown>;
}

export function checkImportOptions(options: unknown): asserts options is ImportOptions {
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
}

/**
 * The model of `config` (the structure read from the file) with the weights `weightsFor` gives
 * for its tensors, checked as `setWeights` checks them; plain data, no native model.
 */
export function describeImported(path: string, config: SequenceClassifierConfig, meta: RnnNodeMetadata, options: ImportOptions, weightsFor: (tensors: TensorInfo[]) => WeightsInput): ModelDescription {
  checkImportOptions(options);
  const classes = config.classes as number;
  // What the file itself says is the file's error (ModelFileError naming it), not an option's.
  if ((options.labels === undefined || options.labels === null) && meta.labels !== undefined && meta.labels !== null) {
    const l = meta.labels as unknown;
    if (!Array.isArray(l) || l.length !== classes || !l.every((name) => typeof name === 'string' && name !== '') || new Set(l).size !== l.length)
      throw new ModelFileError(`${path}: the labels in its rnn-node metadata are not ${classes} distinct non-empty names (the model's classes); pass options.labels to name them`);
  }
  if (meta.preprocessing !== undefined && meta.preprocessing !== null && (typeof meta.preprocessing !== 'object' || Array.isArray(meta.preprocessing)))
    throw new ModelFileError(`${path}: the preprocessing in its rnn-node metadata is not an object`);
  const labels = options.labels ?? meta.labels ?? null;
  if (labels !== null) {
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' && l !== ''))
      throw invalidType('options.labels', 'a list of non-empty label names', labels);
    if (labels.length !== classes) throw new RangeError(`Expected ${classes} labels (the model's classes) for options.labels but received ${labels.length}`);
  }
  let resolved = resolveConfig({ ...config, classes: labels ?? classes });
  // A file rnn-node exported carries its whole config: initialisers and seed come back too.
  if (meta.config && typeof meta.config === 'object') {
    let restored: ResolvedConfig | null = null;
    try {
      restored = resolveConfig({ ...(meta.config as unknown as SequenceClassifierConfig), classes: labels ?? classes });
    } catch {
      restored = null; // not a config this version reads: the file's structure stands
    }
    if (restored && structureOf(restored) === structureOf(resolved)) resolved = restored;
  }
  const tensors = tensorsOf(resolved);
  const weights = unpackWeights(tensors, packWeights(tensors, weightsFor(tensors)));
  // A quantized model holds its recurrent matrices on its grid, as setWeights puts them.
  return { config: resolved, weights: onPrecisionGrid({ config: resolved, weights, preprocessing: null }), preprocessing: preprocessingOf(resolved, meta, options) };
}

function preprocessingOf(config: ResolvedConfig, meta: RnnNodeMetadata, options: ImportOptions): Record<string, unknown> | null {
  if (options.vocabulary !== undefined) {
    const v = options.vocabulary;
    if (config.input.type !== 'tokens') throw invalidType('options.vocabulary', 'no vocabulary for a model of dense input', v);
    if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) throw invalidType('options.vocabulary', 'a list of tokens (index = id)', v);
    if (v.length !== config.input.vocabSize) throw new RangeError(`Expected ${config.input.vocabSize} tokens (the embedding's rows) for options.vocabulary but received ${v.length}`);
    const kind = options.tokenize ?? 'char';
    if (kind !== 'char' && kind !== 'word') throw new RangeError(`Expected 'char' or 'word' for options.tokenize but received ${JSON.stringify(kind)}`);
    const duplicate = v.find((t, i) => v.indexOf(t) !== i);
    if (duplicate !== undefined) throw outOfRange('options.vocabulary', `distinct tokens (index = id); ${JSON.stringify(duplicate)} is there twice`, v);
    // Tokens outside the vocabulary take the id of its unknown token, wherever it is (Keras's
    // TextVectorization has '[UNK]' at 1, torchtext often '<unk>' at 0); without one they are
    // refused rather than read as some other token.
    const found = v.findIndex(isUnknownToken);
    const tokenizer = { kind, lowercase: kind === 'word', maxLength: null, vocabulary: v, unknownId: found >= 0 ? found : null };
    Tokenizer.fromJSON(tokenizer); // what a saved model will be checked with
    return { kind: 'text', tokenizer, maxLength: null };
  }
  if (meta.preprocessing) return meta.preprocessing;
  // What the command line needs to feed it: dense sequences as they are, or token ids.
  return config.input.type === 'dense'
    ? { kind: 'sequence', features: config.input.features, normalization: null, missing: 'error', maxLength: null }
    : { kind: 'ids', vocabSize: config.input.vocabSize, maxLength: null };
}
