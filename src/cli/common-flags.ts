/**
 * Flags several commands share, defined once so that their names, kinds, limits and help
 * read the same everywhere (and in docs/CLI.md, which is generated from the help).
 */
import type { RecordSchema } from '../data/record-schema';
import { FALLBACK_FORMAT, FORMATS } from '../data/sources/formats';
import { PREDICT_SETTINGS, type SettingSpec } from '../inference/predict-settings';
import type { Flag, FlagValues } from './flags';

export const MODEL_FLAG: Flag = { name: 'model', kind: 'path', help: 'model file', required: true };

/** 'a, b, or c' ('a or b'). */
function listed(items: readonly string[], conjunction = 'or'): string {
  return items.length > 2 ? `${items.slice(0, -1).join(', ')}, ${conjunction} ${items[items.length - 1]}` : items.join(` ${conjunction} `);
}

const gzipped = (f: (typeof FORMATS)[number]) => 'files' in f.inputs && f.inputs.gzip;

/**
 * The formats `--data` reads, from the format table (so a new format shows in every command's
 * help): 'JSONL, CSV/TSV (optionally .gz), an IDX directory, or Parquet'; with `stdin`, then
 * "'-' for stdin (JSONL)" (stdin is read as the fallback format).
 */
export function inputFormatsText(options: { stdin?: boolean } = {}): string {
  // One '(optionally .gz)' after each run of formats that read gzip'd files.
  const items = FORMATS.map((f, i) => (gzipped(f) && !(i + 1 < FORMATS.length && gzipped(FORMATS[i + 1])) ? `${f.description} (optionally .gz)` : f.description));
  if (options.stdin) items.push(`'-' for stdin (${FORMATS.find((f) => f.name === FALLBACK_FORMAT)!.description})`);
  return listed(items);
}

/** `--format`: its choices and the rules of 'auto', from the format table. */
export const FORMAT_FLAG: Flag = {
  name: 'format',
  kind: { choices: ['auto', ...FORMATS.map((f) => f.name)] },
  help: `input format (auto: ${[
    ...FORMATS.filter((f) => f.name !== FALLBACK_FORMAT).map((f) => `${'files' in f.inputs ? f.inputs.files.join('/') : 'directory'} = ${f.name}`),
    `else ${FALLBACK_FORMAT}`,
  ].join(', ')}; .gz is decompressed for ${listed(FORMATS.filter(gzipped).map((f) => f.name), 'and')})`,
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

/** Where text, label and (predict) id sit in the records: saved in the model by `train`. */
export const RECORD_FLAGS: Flag[] = [
  { name: 'text-field', kind: 'string', help: 'JSONL key of the text', shown: "'text' (or the model's)" },
  { name: 'label-field', kind: 'string', help: 'JSONL key of the label', shown: "'label' (or the model's)" },
  { name: 'text-column', kind: 'string', help: 'CSV/TSV column of the text: a header name, or #N (0-based); means the file has a header', shown: 'none: UCR numeric CSV' },
  { name: 'label-column', kind: 'string', help: 'CSV/TSV column of the label (name or #N); without --text-column the other columns are the series', shown: 'none' },
  { name: 'no-header', kind: 'bool', help: 'the CSV/TSV has no header row: name columns as #N', default: false },
];

/** `predict`: an id to copy from each record into its output line. */
export const ID_FLAGS: Flag[] = [
  { name: 'id-field', kind: 'string', help: "JSONL key of an id copied into each output line as 'id'", shown: 'none' },
  { name: 'id-column', kind: 'string', help: "CSV/TSV column (name or #N) of an id copied into each output line as 'id'", shown: 'none' },
];

/** The schema the record flags give (only what was given: the model's saved schema fills the rest). */
export function schemaFromFlags(v: FlagValues): RecordSchema {
  const out: RecordSchema = {};
  const take = (flag: string, key: keyof Omit<RecordSchema, 'header'>) => {
    if (typeof v[flag] === 'string') out[key] = v[flag] as string;
  };
  take('text-field', 'textField');
  take('label-field', 'labelField');
  take('id-field', 'idField');
  take('text-column', 'textColumn');
  take('label-column', 'labelColumn');
  take('id-column', 'idColumn');
  if (v['no-header'] === true) out.header = false;
  return out;
}

/**
 * The predict settings (src/inference/predict-settings.ts) as flags: `predict`'s, or
 * `queue submit`'s, whose help may say it from the workers' side. Read back with
 * settingsFromFlags.
 */
export function predictSettingFlags(command: 'predict' | 'queue submit'): Flag[] {
  return (PREDICT_SETTINGS as readonly SettingSpec[]).map(({ key: _key, flag, help, queueHelp, ...spec }) => ({
    ...spec,
    name: flag,
    help: command === 'queue submit' ? (queueHelp ?? help) : help,
  }));
}

/** `train` and `evaluate`: the HTML report and the metrics log it can be rebuilt from. */
export const REPORT_FLAGS: Flag[] = [
  { name: 'report', kind: 'path', output: 'file', help: 'write a self-contained HTML report here (train: rewritten after every epoch)', shown: 'none' },
  { name: 'metrics-log', kind: 'path', output: 'file', help: "write one JSON line per epoch and a final line with the evaluation here ('rnn-node report' rebuilds the HTML from it)", shown: 'none' },
  { name: 'report-title', kind: 'string', help: 'title of the report', shown: 'a summary of the model and data' },
];
