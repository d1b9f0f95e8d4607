/**
 * Output paths given as options, checked before any work (so a run cannot fail at its end
 * for a path it could never write).
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { invalidType } from './errors';

/** Checks an output path option: a non-empty string whose folder exists (so a run cannot fail at its end for it). */
export function checkOutputPath(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.includes('\0')) throw invalidType(name, 'a file path', value);
  const folder = dirname(resolve(value));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isFolder) throw invalidType(name, `a file path in an existing folder (${folder} is not one)`, value);
  let isDirectory = false;
  try {
    isDirectory = statSync(resolve(value)).isDirectory();
  } catch {
    // not there yet: written then
  }
  if (isDirectory) throw invalidType(name, 'a file path, not a folder', value);
  return value;
}
