/**
 * Where `predict` writes: stdout, or a file that appears only complete (a temp file beside
 * it, fsynced, then renamed; removed if the job fails). A `.gz` path is written gzip'd.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface Sink {
  /** Text, or bytes passed on as they are (merging parts: no decoding a character split across reads). */
  write(data: string | Buffer): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function fileSink(path: string): Promise<Sink> {
  // At most 40 characters of the target's name: a name near the 255-character limit must not
  // fail for its temp file's sake (as writeFileAtomic).
  const temp = join(dirname(path), `.${basename(path).slice(0, 40)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const file = createWriteStream(temp, { mode: 0o644 });
  const gzip = path.endsWith('.gz') ? createGzip() : null;
  if (gzip) gzip.pipe(file);
  const input: Writable = gzip ?? file;
  const written = finished(file);
  written.catch(() => undefined); // observed in write, commit and abort
  let done = false;
  return {
    async write(text) {
      // Awaiting the drain is the backpressure: at most one batch waits in memory.
      if (!input.write(text)) await Promise.race([once(input, 'drain'), written]);
    },
    async commit() {
      input.end();
      await written;
      const handle = await open(temp, 'r+');
      await handle.sync();
      await handle.close();
      await rename(temp, path);
      done = true;
    },
    async abort() {
      if (done) return;
      gzip?.destroy();
      file.destroy();
      await written.catch(() => undefined);
      await unlink(temp).catch(() => undefined);
    },
  };
}

export function stdoutSink(): Sink {
  return {
    async write(text) {
      if (!process.stdout.write(text)) await once(process.stdout, 'drain');
    },
    async commit() {},
    async abort() {},
  };
}

/** Runs a job into a sink: committed when it succeeds, removed when it fails. */
export async function runTo<T>(sink: Sink, job: () => Promise<T>): Promise<T> {
  try {
    const result = await job();
    await sink.commit();
    return result;
  } catch (e) {
    await sink.abort();
    throw e;
  }
}
