/** The data source of a shard or queue chunk: its pieces read one after another. */
import { ChainedSource, openSource, type DataSource, type SourceOptions } from '../data/sources';
import type { Piece } from './plan';

export function chunkSource(pieces: Piece[], options: SourceOptions): DataSource {
  return new ChainedSource(pieces.map((p) => openSource(p.path, p.format, options, p.part, p.name ?? p.path)));
}
