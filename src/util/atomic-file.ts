/**
 * Atomic file writes for everything the library writes whole: models, reports, metrics
 * logs. A reader sees the old file or the new one, never a part: the bytes go to a temp file
 * beside the target, are fsynced, and the temp file is renamed over the target.
 */
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Distinguishes temp files of writes started in the same millisecond. */
let tempCounter = 0;

/** Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync dir. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const target = await stat(path).catch(() => null);
  if (target?.isDirectory()) throw atomicError(path, 'is a folder; give a file path', 'EISDIR');
  // The temp name keeps at most 40 characters of the target's (a target name near the file
  // system's 255-character limit must not fail for its temp file's sake).
  const temp = join(dirname(path), `.${basename(path).slice(0, 40)}.${process.pid}.${Date.now().toString(36)}.${(tempCounter++).toString(36)}.tmp`);
  let file;
  try {
    file = await open(temp, 'w', 0o644);
  } catch (e) {
    // Name the file asked for, not the temp file (a missing folder, no permission, ...).
    const code = (e as NodeJS.ErrnoException).code;
    throw atomicError(path, `cannot be written (${code ?? (e as Error).message})`, code);
  }
  try {
    await file.writeFile(bytes);
    await file.sync();
  } catch (e) {
    await file.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await file.close();
  try {
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  try {
    const dir = await open(dirname(path), 'r');
    await dir.sync().catch(() => undefined);
    await dir.close();
  } catch {
    // Some platforms cannot open or sync a directory; the rename is still atomic.
  }
}

function atomicError(path: string, what: string, code: string | undefined): Error {
  const error = new Error(`${path}: ${what}`) as NodeJS.ErrnoException;
  if (code) error.code = code;
  return error;
}
