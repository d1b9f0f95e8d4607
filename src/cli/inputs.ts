/** Reading CLI data arguments: JSONL/CSV records through the model's preprocessing, or an
 * IDX directory as typed sequences. */
import { existsSync, readdirSync } from 'node:fs';
import type { TypedSequences } from '../data';
import { DataFormatError } from '../errors';
import { readIdxDataset } from '../idx';
import { detectFormat, readAllRecords, type DataRecord, type RecordFormat } from '../readers';

/** The IDX prefix to use in a directory: the only one, else `preferred` if present. */
export function idxPrefix(dir: string, preferred: string, explicit?: string): string {
  if (explicit) return explicit;
  if (!existsSync(dir)) throw new DataFormatError(dir, 0, 'no such directory');
  const prefixes = [...new Set(readdirSync(dir).filter((f) => /-images-idx3-ubyte(\.gz)?$/.test(f)).map((f) => f.replace(/-images-idx3-ubyte(\.gz)?$/, '')))];
  if (prefixes.length === 0) throw new DataFormatError(dir, 0, 'no *-images-idx3-ubyte[.gz] file in the directory');
  if (prefixes.length === 1) return prefixes[0];
  if (prefixes.includes(preferred)) return preferred;
  throw new DataFormatError(dir, 0, `several IDX sets (${prefixes.join(', ')}): choose one with --idx-prefix`);
}

export type LoadedData =
  | { kind: 'records'; format: 'jsonl' | 'csv'; records: DataRecord[] }
  | { kind: 'idx'; x: TypedSequences & { values: Float32Array }; y: Int32Array };

export async function loadData(path: string, format: RecordFormat | 'auto', preferredPrefix: string, explicitPrefix?: string): Promise<LoadedData> {
  const f = format === 'auto' ? detectFormat(path) : format;
  if (f === 'idx') {
    const prefix = idxPrefix(path, preferredPrefix, explicitPrefix);
    return { kind: 'idx', ...readIdxDataset(path, prefix) };
  }
  if (!existsSync(path)) throw new DataFormatError(path, 0, 'no such file');
  const records = await readAllRecords(path, f);
  if (records.length === 0) throw new DataFormatError(path, 0, 'no records');
  return { kind: 'records', format: f, records };
}
