/**
 * The `report` and `metricsLog` options of fit() and evaluate(), checked before any work.
 */
import { invalidType } from '../util/errors';
import { checkKnownKeys } from '../util/validate';
import { resolve } from 'node:path';
import { checkOutputPath } from '../util/output-path';

/** How a record of the evaluated data reads in the report (its text, or its first steps). */
export type DescribeRecord = (index: number) => string;

export interface ReportOptions {
  /** Where to write the HTML report (atomically; during fit, again after every epoch). */
  path: string;
  /** The page's title. Default: a summary of the model and the data. */
  title?: string;
  /**
   * How record `index` of the evaluated data reads in the mistakes table (its text, say).
   * `index` counts in the data given to fit() or evaluate(): in `validationData` when that is
   * what was evaluated, else in `data` (a validationSplit's records keep their index in
   * `data`). Default: text decoded through the model's tokenizer, token ids, or the first
   * steps of a dense sequence.
   */
  describeRecord?: DescribeRecord;
}

export interface ResolvedReportOptions {
  report?: string;
  metricsLog?: string;
  title?: string;
  describeRecord?: DescribeRecord;
}

/** Null when neither a report nor a metrics log is asked for. */
export function resolveReportOptions(report: unknown, metricsLog: unknown): ResolvedReportOptions | null {
  const resolved = resolveTargets(report, metricsLog);
  // One file cannot be both: the HTML would overwrite the log every epoch.
  if (resolved?.report && resolved.metricsLog && resolve(resolved.report) === resolve(resolved.metricsLog))
    throw invalidType('options.metricsLog', 'a file other than options.report', metricsLog);
  return resolved;
}

function resolveTargets(report: unknown, metricsLog: unknown): ResolvedReportOptions | null {
  const log = checkOutputPath('options.metricsLog', metricsLog);
  if (report === undefined) return log ? { metricsLog: log } : null;
  if (typeof report === 'string') return { report: checkOutputPath('options.report', report), metricsLog: log };
  if (report === null || typeof report !== 'object') throw invalidType('options.report', "a file path or { path, title?, describeRecord? }", report);
  const r = report as Partial<ReportOptions>;
  checkKnownKeys('options.report', r, ['path', 'title', 'describeRecord']);
  const title = r.title;
  if (title !== undefined && typeof title !== 'string') throw invalidType('options.report.title', 'a string', title);
  if (r.describeRecord !== undefined && typeof r.describeRecord !== 'function') throw invalidType('options.report.describeRecord', 'a function (index) => string', r.describeRecord);
  return { report: checkOutputPath('options.report.path', r.path ?? ''), metricsLog: log, title, describeRecord: r.describeRecord };
}
