/**
 * `rnn-node convert`: models between formats, the format taken from each file name:
 * `.json` a tfjs/Keras layers model (model.json and its shards beside it), `.rnn` rnn-node's,
 * `.onnx` (rnn-node's own exports exactly; torch.onnx.export recurrent classifiers).
 */
import { existsSync } from 'node:fs';
import { readRegularFileSync } from '../util/read-file';
import { basename, dirname, extname } from 'node:path';

import { packageVersion } from '../native/backend';
import { describeCheckpoint, encodeModelFile, readCheckpoint } from '../model/checkpoint';
import { carriedOver, type SessionSnapshot } from '../training/session';
import type { ModelDescription } from '../model/description';
import { exportOnnx } from '../interop/onnx/onnx-export';
import { importOnnx } from '../interop/onnx/onnx-import';
import { exportTfjs, importTfjs, type ImportOptions } from '../interop/tfjs/tfjs';
import { writeFileAtomic } from '../util/atomic-file';
import type { FlagCommand } from './command';
import { UsageError, type Flag, type FlagValues } from './flags';

const CONVERT_FLAGS: Flag[] = [
  { name: 'input', kind: 'path', help: 'the model to read: model.json (tfjs/Keras layers, weight shards beside it), .onnx (rnn-node\'s or torch.onnx.export\'s recurrent classifiers) or .rnn', required: true },
  { name: 'output', kind: 'path', output: 'any', help: 'the model to write: a .json (tfjs layers: shards are written beside it, named after it unless it is model.json), .rnn or .onnx (inputs x and lengths, output probabilities)', required: true },
  { name: 'labels', kind: 'string', help: 'class names when the source has none: a,b,c or a file with one per line', shown: "the source's, else class indices" },
  { name: 'vocabulary', kind: 'path', help: 'text models: the token of each id, one per line (line N = id N, from 0), or a .json array; the model then reads raw text. Tokens outside it get the id of its unknown token (<unk>, [UNK], <oov>, UNK, ...); without one they are refused', shown: 'none: the model takes token ids' },
  { name: 'tokenize', kind: { choices: ['char', 'word'] }, help: 'with --vocabulary: how text splits into tokens', default: 'char' },
];

export const CONVERT_COMMAND: FlagCommand = {
  name: 'convert',
  summary: 'convert a model between tfjs/Keras model.json, ONNX and .rnn',
  description: 'Convert a model between tfjs/Keras model.json, ONNX and rnn-node .rnn, formats from the file names.',
  flags: CONVERT_FLAGS,
  run: ({ values }) => convert(values),
};

type Format = 'tfjs' | 'rnn' | 'onnx';

function formatOf(path: string, flag: string): Format {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'tfjs';
  if (ext === '.rnn') return 'rnn';
  if (ext === '.onnx') return 'onnx';
  throw new UsageError(`rnn-node convert: --${flag} ${JSON.stringify(path)}: name a .json (tfjs), .rnn or .onnx file`);
}

function readLines(path: string, what: string): string[] {
  let text: string;
  try {
    text = readRegularFileSync(path, 256 << 20, 'a list file holds (256 MiB)').toString('utf8');
  } catch (e) {
    throw new Error(`cannot read the ${what} file ${path} (${(e as Error).message.replace(/^cannot read \((.*)\)$/, '$1')})`);
  }
  if (/\.json$/i.test(path)) {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) throw new Error(`${path}: expected a JSON array of strings`);
    return list;
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function convert(v: FlagValues): Promise<number> {
  const input = v.input as string;
  const output = v.output as string;
  const from = formatOf(input, 'input');
  const to = formatOf(output, 'output');
  const labelsFlag = v.labels as string | undefined;
  // A file when one is there; else a comma-separated list (a classifier has two labels or
  // more, so a value without a comma can only name a file).
  const labels = labelsFlag === undefined ? undefined : !existsSync(labelsFlag) && labelsFlag.includes(',') ? labelsFlag.split(',').map((l) => l.trim()) : readLines(labelsFlag, 'labels');
  const options: ImportOptions = {
    ...(labels ? { labels } : {}),
    ...(v.vocabulary !== undefined ? { vocabulary: readLines(v.vocabulary as string, 'vocabulary'), tokenize: v.tokenize as 'char' } : {}),
  };
  // Models travel as descriptions (plain data): no native model is built, and the addon is
  // not loaded, so convert runs where the binary does not.
  let model: ModelDescription;
  let training: SessionSnapshot | undefined;
  if (from === 'tfjs') {
    model = await importTfjs(input, options);
  } else if (from === 'onnx') {
    model = await importOnnx(input, options);
  } else {
    if (labels || v.vocabulary !== undefined) throw new UsageError('rnn-node convert: --labels and --vocabulary apply to imported models (a .rnn file has its own)');
    const checkpoint = await readCheckpoint(input);
    model = describeCheckpoint(checkpoint);
    // .rnn to .rnn keeps the training state, as loading and saving the model does.
    training = carriedOver({ training: checkpoint.header.training, moments: checkpoint.moments, kept: checkpoint.kept });
  }
  if (to === 'rnn') {
    await writeFileAtomic(output, encodeModelFile(model, training));
  } else if (to === 'onnx') {
    await writeFileAtomic(output, await exportOnnx(model, packageVersion()));
  } else {
    await exportTfjs(model, dirname(output), packageVersion(), basename(output));
  }
  process.stderr.write(`rnn-node convert: ${input} → ${output} (${model.config.layers.map((l) => `${l.bidirectional ? 'bi-' : ''}${l.cell}(${l.units})`).join(' → ')}, ${model.config.classes} classes)\n`);
  return 0;
}
