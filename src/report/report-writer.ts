/**
 * Writing a report and its metrics log, each atomically (a reader sees a whole file, old or
 * new), and the checks of where they go, made before any work starts.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { writeFileAtomic } from '../util/atomic-file';
import { invalidType } from '../util/errors';
import { reportHtml } from './page';
import { metricsLogOf, type ReportData } from './report-data';

export interface ReportTargets {
  /** HTML report path. */
  report?: string;
  /** Metrics log path (JSON Lines). */
  metricsLog?: string;
}

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

export async function writeReportFiles(targets: ReportTargets, data: ReportData): Promise<void> {
  if (targets.metricsLog) await writeFileAtomic(targets.metricsLog, Buffer.from(metricsLogOf(data)));
  if (targets.report) await writeFileAtomic(targets.report, Buffer.from(await reportHtml(data)));
}
