/**
 * The output of a sharded or queued job: one part file per shard (or chunk), named by its
 * position, written atomically, then a sidecar `.done.json` with its record count and the
 * SHA-256 of its (uncompressed) lines. A part without its sidecar is unfinished. Parts are
 * idempotent: running a shard or a chunk again writes the same bytes under the same name,
 * which is what makes at-least-once processing give exactly-once output.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';

import { writeFileAtomic } from '../util/atomic-file';
import type { Sink } from '../inference/sinks';

export const PART_FORMAT = 'rnn-node-part';

export type Compression = 'none' | 'gzip';

const pad = (n: number) => String(n).padStart(5, '0');

/** part-KKKKK-of-NNNNN.jsonl[.gz]: K 0-based. */
export function partName(k: number, n: number, compression: Compression): string {
  return `part-${pad(k)}-of-${pad(n)}.jsonl${compression === 'gzip' ? '.gz' : ''}`;
}

export function sidecarName(k: number, n: number): string {
  return `part-${pad(k)}-of-${pad(n)}.done.json`;
}

export interface PartSidecar {
  format: typeof PART_FORMAT;
  version: 1;
  part: string;
  index: number;
  of: number;
  records: number;
  /** SHA-256 (hex) of the part's lines, before any compression. */
  sha256: string;
  /** The job's input files and model, for the record. */
  inputs: string[];
  model: string;
}

/** A sink that also counts the lines it passes on and hashes them. */
export function countingSink(inner: Sink): Sink & { records(): number; sha256(): string } {
  const hash = createHash('sha256');
  let records = 0;
  return {
    async write(data) {
      hash.update(data);
      const newline = typeof data === 'string' ? '\n' : 0x0a;
      for (let at = data.indexOf(newline as never); at >= 0; at = data.indexOf(newline as never, at + 1)) records++;
      await inner.write(data);
    },
    commit: () => inner.commit(),
    abort: () => inner.abort(),
    records: () => records,
    sha256: () => hash.copy().digest('hex'),
  };
}

export async function writeSidecar(dir: string, sidecar: PartSidecar): Promise<void> {
  await writeFileAtomic(join(dir, sidecarName(sidecar.index, sidecar.of)), Buffer.from(JSON.stringify(sidecar, null, 2) + '\n'));
}

/** A part's lines (decompressed), chunk by chunk. */
export function readPart(path: string): AsyncIterable<Buffer> {
  const file = createReadStream(path);
  if (!path.endsWith('.gz')) return file;
  const gunzip = createGunzip();
  file.on('error', (e) => gunzip.destroy(e));
  return file.pipe(gunzip);
}

/** What a part directory holds: for each part index, its file and sidecar. */
export interface PartListing {
  of: number;
  parts: Map<number, { file?: string; sidecar?: PartSidecar; sidecarError?: string }>;
  /** Names that look like parts of another count (a mixed directory). */
  strays: string[];
}

const PART = /^part-(\d{5})-of-(\d{5})\.(jsonl(?:\.gz)?|done\.json)$/;

/** Lists a part directory; `of` is the count the names agree on (the most common one). */
export async function listParts(dir: string): Promise<PartListing> {
  const names = (await readdir(dir)).filter((n) => PART.test(n));
  const counts = new Map<number, number>();
  for (const n of names) {
    const of = Number(PART.exec(n)![2]);
    counts.set(of, (counts.get(of) ?? 0) + 1);
  }
  const of = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 0;
  const parts: PartListing['parts'] = new Map();
  const strays: string[] = [];
  for (const n of names.sort()) {
    const [, k, count, kind] = PART.exec(n)!;
    if (Number(count) !== of) {
      strays.push(n);
      continue;
    }
    const entry = parts.get(Number(k)) ?? {};
    if (kind === 'done.json') {
      try {
        const sidecar = JSON.parse(await readFile(join(dir, n), 'utf8')) as PartSidecar;
        if (sidecar === null || typeof sidecar !== 'object' || sidecar.format !== PART_FORMAT || typeof sidecar.records !== 'number' || typeof sidecar.sha256 !== 'string') throw new Error('not a part sidecar');
        // A sidecar copied from another part (or count) describes other records.
        if (sidecar.index !== Number(k) || sidecar.of !== Number(count)) throw new Error(`it says it is part ${String(sidecar.index)} of ${String(sidecar.of)}`);
        entry.sidecar = sidecar;
      } catch (e) {
        entry.sidecarError = `${n}: ${(e as Error).message}`;
      }
    } else if (entry.file) {
      strays.push(n); // both .jsonl and .jsonl.gz for one part
    } else {
      entry.file = n;
    }
    parts.set(Number(k), entry);
  }
  return { of, parts, strays };
}
