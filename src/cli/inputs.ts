/** Reading a CLI data argument: the command's flags turned into a data source (data/sources/). */
import type { RecordSchema } from '../data/record-schema';
import { openSources, readAll, type DataSource, type LoadedData, type RecordFormat } from '../data/sources';

export type { LoadedData } from '../data/sources';

/** The source the `--data` values and `--format`/`--idx-prefix` name (files, directories,
 * globs: openSources); `preferredPrefix` is the IDX set a command uses when a directory holds
 * several ('train' or 't10k'). */
export function sourcesOf(paths: string[], format: RecordFormat | 'auto', preferredPrefix: string, explicitPrefix?: string, schema: RecordSchema = {}): { source: DataSource; files: number } {
  return openSources(paths, format, { preferredPrefix, idxPrefix: explicitPrefix, schema });
}

/** Everything the sources hold (train, evaluate). */
export function loadData(paths: string[], format: RecordFormat | 'auto', preferredPrefix: string, explicitPrefix?: string, schema: RecordSchema = {}): Promise<LoadedData> {
  return readAll(sourcesOf(paths, format, preferredPrefix, explicitPrefix, schema).source);
}
