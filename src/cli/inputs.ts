/** Reading a CLI data argument: the command's flags turned into a data source (src/sources.ts). */
import type { RecordSchema } from '../record-schema';
import { openSource, readAll, type DataSource, type LoadedData, type RecordFormat } from '../sources';

export type { LoadedData } from '../sources';

/** The source `--data`/`--input` and `--format`/`--idx-prefix` name; `preferredPrefix` is
 * the IDX set a command uses when a directory holds several ('train' or 't10k'). */
export function sourceOf(path: string, format: RecordFormat | 'auto', preferredPrefix: string, explicitPrefix?: string, schema: RecordSchema = {}): DataSource {
  return openSource(path, format, { preferredPrefix, idxPrefix: explicitPrefix, schema });
}

/** Everything the source holds (train, evaluate). */
export function loadData(path: string, format: RecordFormat | 'auto', preferredPrefix: string, explicitPrefix?: string, schema: RecordSchema = {}): Promise<LoadedData> {
  return readAll(sourceOf(path, format, preferredPrefix, explicitPrefix, schema));
}
