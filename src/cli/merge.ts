/** `rnn-node merge`: one output file from the parts of a sharded `predict` (or a queue job). */
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

import { mergeParts } from '../scale/merge-parts';
import type { FlagCommand } from './command';
import { UsageError, type Flag, type FlagValues } from './flags';

const MERGE_FLAGS: Flag[] = [
  { name: 'input', kind: 'path', help: 'the directory of part-KKKKK-of-NNNNN.jsonl[.gz] files and their .done.json', required: true },
  { name: 'output', kind: 'path', output: 'file', help: "the merged JSONL file, gzip'd when it ends in .gz (written atomically), or '-' for stdout", required: true },
];

export const MERGE_COMMAND: FlagCommand = {
  name: 'merge',
  summary: 'join the part files of a sharded predict into one, in input order',
  description: 'Check that every part of a sharded predict is present and whole, then write them as one file in the original record order.',
  flags: MERGE_FLAGS,
  run: ({ values }) => merge(values),
};

async function merge(v: FlagValues): Promise<number> {
  const dir = v.input as string;
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UsageError(`rnn-node merge: --input must be a directory of part files, got ${JSON.stringify(dir)}`);
  const output = v.output as string;
  if (output !== '-' && resolve(dirname(output)) === resolve(dir) && /^part-\d{5}-of-\d{5}\./.test(basename(output)))
    throw new UsageError(`rnn-node merge: --output ${JSON.stringify(output)} is one of the part files it reads; write elsewhere`);
  const { parts, records } = await mergeParts(dir, v.output as string);
  process.stderr.write(`rnn-node merge: ${parts} parts, ${records} records → ${v.output}\n`);
  return 0;
}
