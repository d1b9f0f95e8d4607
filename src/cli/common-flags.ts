/**
 * Flags several commands share, defined once so that their names, kinds, limits and help
 * read the same everywhere (and in docs/CLI.md, which is generated from the help).
 */
import type { Flag } from './flags';

export const MODEL_FLAG: Flag = { name: 'model', kind: 'path', help: 'model file', required: true };

export const FORMAT_FLAG: Flag = {
  name: 'format',
  kind: { choices: ['auto', 'jsonl', 'csv', 'idx'] },
  help: 'input format (auto: directory = idx, .csv/.tsv = csv, else jsonl)',
  default: 'auto',
};

/** `--idx-prefix`; `preferred` is the set used when a directory holds several. */
export function idxPrefixFlag(preferred: 'train' | 't10k'): Flag {
  return { name: 'idx-prefix', kind: 'string', help: 'IDX file prefix inside the directory', shown: `'${preferred}' or the only one` };
}

export const THREADS_FLAG: Flag = { name: 'threads', kind: 'int', min: 1, max: 1024, help: 'threads for native work', shown: 'all CPUs available' };

export function jsonFlag(what = 'print one JSON object'): Flag {
  return { name: 'json', kind: 'bool', help: what, default: false };
}
