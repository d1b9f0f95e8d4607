/**
 * What `train` and `tune` read the same way: the training data's flags (files, validation,
 * record schema, tokenizer, normalisation) and the preprocessing and classes fitted to the
 * data, with the checks a model of one label needs.
 */
import { MISSING_POLICIES } from '../data/missing';
import { labelSpace, Preprocessor } from '../data/preprocessing';
import { DataFormatError } from '../util/errors';
import type { Flag, FlagValues } from './flags';
import { FORMAT_FLAG, idxPrefixFlag, inputFormatsText, RECORD_FLAGS } from './common-flags';
import type { LoadedData } from './inputs';

/** --data first, then validation, record and preprocessing flags. */
export const TRAINING_DATA_FLAGS: Flag[] = [
  { name: 'data', kind: 'path', multiple: true, help: `training data: ${inputFormatsText()}. Repeat it, or quote a glob ('data/*.jsonl.gz'), or name a directory of such files.`, required: true },
  { name: 'validation', kind: 'path', help: 'validation data, evaluated after every epoch', shown: 'none' },
  { name: 'validation-split', kind: 'float', min: 0, below: 1, help: 'hold out this fraction of --data for validation', shown: 'none' },
  { name: 'stratify', kind: 'bool', help: 'with --validation-split: split each class in proportion', default: false },
  FORMAT_FLAG,
  idxPrefixFlag('train'),
  ...RECORD_FLAGS,
  { name: 'tokenize', kind: { choices: ['char', 'word'] }, help: 'text tokenizer', default: 'char' },
  { name: 'lowercase', kind: 'bool', help: 'lower-case text before tokenizing (word tokens are always lower-cased)', default: false },
  { name: 'min-frequency', kind: 'int', min: 1, help: 'drop tokens seen fewer times', default: 1 },
  { name: 'max-vocab', kind: 'int', min: 3, help: 'largest vocabulary (padding and unknown included)', shown: 'unlimited' },
  { name: 'max-length', kind: 'int', min: 1, help: 'keep the first N tokens or steps of each record', shown: 'unlimited' },
  { name: 'missing', kind: { choices: MISSING_POLICIES }, help: 'missing values in dense records', default: 'error' },
  { name: 'no-normalize', kind: 'bool', help: 'do not standardise dense features (mean/std of the training data)', default: false },
];

/** The preprocessing fitted to the training data (tokenizer, normalisation) and its classes:
 * label names, or max index + 1 for IDX labels. A DataFormatError when it holds one label. */
export function preprocessingFor(v: FlagValues, data: LoadedData): { pre: Preprocessor; classes: number | string[] } {
  let pre: Preprocessor;
  let classes: number | string[];
  if (data.kind === 'typed') {
    pre = Preprocessor.fromJSON({ kind: 'sequence', features: data.x.shape[2], normalization: null, missing: 'error', maxLength: null });
    let max = 1;
    for (const y of data.y) max = Math.max(max, y);
    classes = max + 1;
  } else {
    pre = Preprocessor.fit(data.records, {
      tokenizer: {
        kind: v.tokenize as 'char',
        ...(v.lowercase ? { lowercase: true } : {}),
        minFrequency: v['min-frequency'] as number,
        ...(v['max-vocab'] !== undefined ? { maxSize: v['max-vocab'] as number } : {}),
      },
      normalize: !v['no-normalize'],
      missing: v.missing as 'error',
      ...(v['max-length'] !== undefined ? { maxLength: v['max-length'] as number } : {}),
    });
    classes = labelSpace(data.records).classes;
  }
  if (Array.isArray(classes) && classes.length < 2) throw new DataFormatError((v.data as string[]).join(', '), 0, `training data has only one label (${classes[0]})`);
  // Class indices too: a model of one class seen learns nothing.
  const seen = new Set<number | string>(data.kind === 'typed' ? data.y : data.records.map((r) => r.label as number | string));
  if (seen.size < 2) throw new DataFormatError((v.data as string[]).join(', '), 0, `training data has only one label (${[...seen][0]})`);
  return { pre, classes };
}
