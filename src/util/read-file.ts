/**
 * Reading a whole file that must be a regular file (a model, a checkpoint, a weight shard).
 * `readFile` would wait forever on a named pipe with no writer and read /dev/zero until memory
 * runs out; here the file is opened without blocking, checked with fstat to be a regular
 * file of at most `maxBytes`, and read to exactly the size fstat gave.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Why a path could not be read, for the caller to name in its own error type. */
export class UnreadableFileError extends Error {}

const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** `limit` says what maxBytes is, for the message ("any model this version can hold"). */
function checkStats(stats: { isFile(): boolean; isDirectory(): boolean; size: number }, maxBytes: number, limit: string): number {
  if (stats.isDirectory()) throw new UnreadableFileError('is a directory, not a file');
  if (!stats.isFile()) throw new UnreadableFileError('is not a regular file (a device, pipe or socket)');
  if (stats.size > maxBytes) throw new UnreadableFileError(`${stats.size} bytes is larger than ${limit}`);
  return stats.size;
}

const reason = (e: unknown) => (e instanceof UnreadableFileError ? e : new UnreadableFileError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`));

export async function readRegularFile(path: string, maxBytes: number, limit = `${maxBytes} bytes`): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, FLAGS);
  } catch (e) {
    throw reason(e);
  }
  try {
    const size = checkStats(await handle.stat(), maxBytes, limit);
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, size - done, done);
      if (bytesRead === 0) throw new UnreadableFileError(`ended after ${done} of its ${size} bytes (changed while being read)`);
      done += bytesRead;
    }
    return bytes;
  } catch (e) {
    throw reason(e);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export function readRegularFileSync(path: string, maxBytes: number, limit = `${maxBytes} bytes`): Buffer {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (e) {
    throw reason(e);
  }
  try {
    const size = checkStats(fstatSync(fd), maxBytes, limit);
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const read = readSync(fd, bytes, done, size - done, done);
      if (read === 0) throw new UnreadableFileError(`ended after ${done} of its ${size} bytes (changed while being read)`);
      done += read;
    }
    return bytes;
  } catch (e) {
    throw reason(e);
  } finally {
    closeSync(fd);
  }
}
