/** Glue between CLI data and a model: preprocessing, labels, typed datasets. */
import type { SequenceClassifier } from '../classifier/classifier';
import type { TypedSequences } from '../data/sequence-set';
import { DataFormatError } from '../util/errors';
import type { Preprocessor } from '../data/preprocessing';
import { checkRecordSchema, mergeSchemas, type RecordSchema } from '../data/record-schema';
import type { DataRecord } from '../data/readers';
import type { ReportOptions } from '../training/report-options';
import { checkOutputPath } from '../util/output-path';
import { UsageError, type FlagValues } from './flags';
import type { LoadedData } from './inputs';

// The model's preprocessing is library code (queue workers need it too); re-exported for the
// commands and for bench/batch-job.mjs, which loads it from dist/cli/shared.js.
export { preprocessorOf } from '../inference/model-file';

/** The record schema a model was trained with (saved as preprocessing.source), overridden by
 * whatever `given` names. */
export function schemaOf(model: SequenceClassifier, given: RecordSchema): RecordSchema {
  const saved = (model.preprocessing as { source?: unknown } | null)?.source;
  return mergeSchemas(checkRecordSchema(saved, 'the model\'s record schema'), given);
}

/** The classes labels are read against: how many, and their names when they have some (a
 * model's, or those fitted to training data). */
export interface Classes {
  count: number;
  names: readonly string[] | null;
}

export const classesOfModel = (model: SequenceClassifier): Classes => ({ count: model.config.classes, names: model.labels });

/** Class index of each record's label among `classes`. */
export function labelsOf(records: readonly DataRecord[], classes: Classes): Int32Array {
  const names = classes.names;
  const index = names ? new Map(names.map((n, i) => [n, i])) : null;
  return Int32Array.from(records, (r) => {
    const where = r.file ?? 'data';
    if (r.label === undefined) throw new DataFormatError(where, r.line, 'the record has no "label"');
    if (index) {
      const k = index.get(String(r.label));
      if (k === undefined) throw new DataFormatError(where, r.line, `label ${JSON.stringify(r.label)} is not one of the model's labels (${names!.join(', ')})`);
      return k;
    }
    if (typeof r.label !== 'number' || r.label >= classes.count)
      throw new DataFormatError(where, r.line, `label ${JSON.stringify(r.label)} is not a class index in [0, ${classes.count})`);
    return r.label;
  });
}

/** Typed inputs and labels of loaded data, read with this preprocessing against `classes`. */
export function datasetFor(data: LoadedData, classes: Classes, pre: Preprocessor): { x: TypedSequences; y: Int32Array } {
  if (data.kind === 'typed') {
    for (let i = 0; i < data.y.length; i++)
      if (data.y[i] >= classes.count) throw new DataFormatError('labels', i + 1, `label ${data.y[i]} is outside the model's ${classes.count} classes`);
    return { x: data.x, y: data.y };
  }
  const { x } = pre.encode(data.records);
  return { x, y: labelsOf(data.records, classes) };
}

/** How a record reads in a report's mistakes table: where it is, its id, and its text or first steps. */
export function describeRecords(data: LoadedData): ((index: number) => string) | undefined {
  if (data.kind === 'typed') return undefined; // IDX: the report shows the sequence's first steps
  return (index) => {
    const r = data.records[index];
    if (!r) return `record ${index}`;
    const where = `${r.file ? `${r.file.split(/[\\/]/).pop()}:` : ''}${r.unit === 'row' ? 'row ' : ''}${r.line}`;
    const id = r.id !== undefined ? ` (${r.id})` : '';
    const body =
      r.kind === 'text' ? r.text
      : r.kind === 'ids' ? `ids ${r.ids.slice(0, 40).join(' ')}${r.ids.length > 40 ? ' …' : ''}`
      : `${r.sequence.length} steps: ${r.sequence.slice(0, 6).map((s) => `[${s.map((v) => +v.toPrecision(3)).join(', ')}]`).join(', ')}`;
    return `${where}${id}: ${body}`;
  };
}

/** The report options of `--report`, `--metrics-log` and `--report-title`, or undefined. */
export function reportOptionsOf(v: FlagValues, describeRecord: ((index: number) => string) | undefined): { report?: ReportOptions; metricsLog?: string } {
  checkReportFlags(v);
  const metricsLog = v['metrics-log'] as string | undefined;
  const title = v['report-title'] as string | undefined;
  if (v.report === undefined) return metricsLog ? { metricsLog } : {};
  return { report: { path: v.report as string, ...(title ? { title } : {}), ...(describeRecord ? { describeRecord } : {}) }, ...(metricsLog ? { metricsLog } : {}) };
}

/** `--report` and `--metrics-log` name files in existing folders: a usage error otherwise, before any work. */
export function checkReportFlags(v: FlagValues): void {
  for (const flag of ['report', 'metrics-log']) {
    try {
      checkOutputPath(`--${flag}`, v[flag]);
    } catch (error) {
      throw new UsageError(`${(error as Error).message}`);
    }
  }
}
