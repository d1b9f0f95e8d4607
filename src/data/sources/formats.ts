/**
 * The table of input formats: the one list that openSource, `--format auto`, directory
 * arguments, the `--format` choices and help texts (src/cli/common-flags.ts) and the shard
 * planner (src/scale/plan.ts) all read. A new format is a file beside this one exporting an
 * `InputFormat` (source.ts), and its entry here.
 */
import { orList } from '../../util/text';
import { statSync } from 'node:fs';
import { extname } from 'node:path';

import { IDX } from './idx';
import { PARQUET } from './parquet';
import { CSV, JSONL } from './records';
import type { InputFormat } from './source';

/** In `--format` choice order. */
export const FORMATS = [JSONL, CSV, IDX, PARQUET] as const satisfies readonly InputFormat[];

/** The formats a source can have. */
export type RecordFormat = (typeof FORMATS)[number]['name'];

/**
 * What a path no entry claims is read as under `--format auto`, and stdin ('-'): JSONL, as
 * the help texts say ("else jsonl").
 */
export const FALLBACK_FORMAT: RecordFormat = 'jsonl';

/** The table's entry for a format name. */
export function formatNamed(name: RecordFormat): InputFormat<RecordFormat> {
  const entry = FORMATS.find((f) => f.name === name);
  if (!entry) throw new TypeError(`unknown input format '${name}' (known: ${FORMATS.map((f) => f.name).join(', ')})`);
  return entry;
}

/**
 * The format a path implies: a directory is the directory format (IDX; its reader reports a
 * directory that holds no set), a file the format claiming its extension (a trailing .gz
 * looked through), anything else FALLBACK_FORMAT.
 */
export function detectFormat(path: string): RecordFormat {
  let directory = false;
  try {
    directory = statSync(path).isDirectory();
  } catch {
    // not a directory: the reader reports a missing file
  }
  if (directory) {
    const entry = FORMATS.find((f) => 'directory' in f.inputs);
    if (entry) return entry.name;
  }
  const ext = extname(path.replace(/\.gz$/i, '')).toLowerCase();
  return FORMATS.find((f) => 'files' in f.inputs && f.inputs.files.includes(ext))?.name ?? FALLBACK_FORMAT;
}

/** The format of a path: the one named, or the one the path implies (detectFormat). */
export function formatOf(path: string, format: RecordFormat | 'auto'): RecordFormat {
  return format !== 'auto' ? format : path === '-' ? FALLBACK_FORMAT : detectFormat(path);
}

/** The endings of the files a format claims, and whether .gz of them too. */
function filesOf(entry: InputFormat): { files: readonly string[]; gzip: boolean } {
  return 'files' in entry.inputs ? entry.inputs : { files: [], gzip: false };
}

/** Whether a file in a directory argument is an input: its ending is one a format claims. */
export function isInputFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return FORMATS.some((f) => {
    const { files, gzip } = filesOf(f);
    return files.some((ext) => lower.endsWith(ext) || (gzip && lower.endsWith(`${ext}.gz`)));
  });
}

/** Whether a directory is itself one input (an IDX set) rather than a directory of files. */
export function isInputDirectory(dir: string): boolean {
  return FORMATS.some((f) => 'directory' in f.inputs && f.inputs.holds(dir));
}

/** What a directory argument may hold, for its error: 'no .jsonl, ... or .parquet file and is not an IDX directory'. */
export function directoryInputsText(): string {
  const endings = FORMATS.flatMap((f) => filesOf(f).files);
  const directories = FORMATS.filter((f) => 'directory' in f.inputs).map((f) => f.description);
  return `no ${orList(endings)} file${directories.length > 0 ? ` and is not ${orList(directories)}` : ''}`;
}
