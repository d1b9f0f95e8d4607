/**
 * IDX sets (the MNIST family): a directory holding PREFIX-images-idx3-ubyte[.gz] and
 * PREFIX-labels-idx1-ubyte[.gz], parsed by ../idx.ts. A set is read in one go, so it goes
 * whole to one shard.
 */
import { existsSync, readdirSync } from 'node:fs';

import { DataFormatError } from '../../util/errors';
import { readIdxDataset } from '../idx';
import type { DataSource, InputFormat, SourceChunk } from './source';

const IMAGES = /-images-idx3-ubyte(\.gz)?$/;

/** An IDX image/label pair (MNIST family): pixels / 255, rows as steps. */
class IdxSource implements DataSource {
  constructor(
    readonly name: string,
    private readonly prefix: string,
    private readonly path: string = name,
  ) {}

  async *chunks(size: number): AsyncIterable<SourceChunk> {
    const { x, y } = readIdxDataset(this.path, this.prefix);
    const [count, steps, features] = x.shape;
    for (let start = 0; start < count; start += size) {
      const end = Math.min(count, start + size);
      yield {
        kind: 'typed',
        x: { values: x.values.subarray(start * steps * features, end * steps * features), shape: [end - start, steps, features] },
        y: y.subarray(start, end),
        firstIndex: start,
        file: this.name,
      };
    }
  }
}

/** The IDX prefix to use in a directory: the one named, the only one, else `preferred`. */
export function idxPrefix(dir: string, preferred: string, explicit?: string): string {
  if (explicit) return explicit;
  if (!existsSync(dir)) throw new DataFormatError(dir, 0, 'no such directory');
  const prefixes = [...new Set(readdirSync(dir).filter((f) => IMAGES.test(f)).map((f) => f.replace(IMAGES, '')))];
  if (prefixes.length === 0) throw new DataFormatError(dir, 0, 'no *-images-idx3-ubyte[.gz] file in the directory');
  if (prefixes.length === 1) return prefixes[0];
  if (prefixes.includes(preferred)) return preferred;
  throw new DataFormatError(dir, 0, `several IDX sets (${prefixes.join(', ')}): choose one with --idx-prefix`);
}

export const IDX: InputFormat<'idx'> = {
  name: 'idx',
  description: 'an IDX directory',
  // A directory holding *-images-idx3-ubyte[.gz] is one set, not a directory of files.
  inputs: { directory: true, holds: (dir) => readdirSync(dir).some((f) => IMAGES.test(f)) },
  // readIdxDataset reads the set whole: a part of it could not be read alone.
  split: 'whole-files',
  open: (path, options, name) => new IdxSource(name, idxPrefix(path, options.preferredPrefix ?? 'train', options.idxPrefix), path),
};
