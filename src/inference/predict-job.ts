/**
 * One prediction job: records from a source, through a model, to a sink as JSONL lines in
 * input order, with bounded memory (at most two batches held: one computing while the
 * next is read and encoded, or the last one formatted). `predict`, its shards and the queue workers all run this.
 */
import type { SequenceClassifier } from '../classifier/classifier';
import type { TypedSequences } from '../data/sequence-set';
import type { DataFormatError } from '../util/errors';
import type { Preprocessor } from '../data/preprocessing';
import type { DataSource } from '../data/sources';
import type { PredictSettings } from './predict-settings';
import { lineFormatter } from './prediction-lines';
import type { Sink } from './sinks';

export interface PredictionJob {
  model: SequenceClassifier;
  pre: Preprocessor;
  source: DataSource;
  /** Input files of the whole job: with more than one, each line says its `file`. */
  files: number;
  sink: Sink;
  /** Batch size, top-k, what a bad record does, ...: declared in predict-settings.ts. */
  settings: PredictSettings;
  /** Told of each bad record skipped (settings.onError 'skip'). */
  onSkip?: (error: DataFormatError) => void;
}

export interface PredictionStats {
  records: number;
  skipped: number;
  /** Milliseconds per stage; they overlap (inference runs on native threads meanwhile). */
  stages: { readParse: number; encode: number; inference: number; formatWrite: number };
}

export async function runPrediction(job: PredictionJob): Promise<PredictionStats> {
  const { model, pre, source, sink } = job;
  const { batchSize, onError } = job.settings;
  const names = model.labels ?? Array.from({ length: model.config.classes }, (_, i) => String(i));
  let written = 0;
  let skipped = 0;
  const stages = { readParse: 0, encode: 0, inference: 0, formatWrite: 0 };
  const timed = <T>(stage: keyof typeof stages, t0: number, value: T): T => {
    stages[stage] += performance.now() - t0;
    return value;
  };
  const report =
    onError === 'skip'
      ? (e: DataFormatError) => {
          skipped++;
          job.onSkip?.(e);
        }
      : undefined;

  const lineFor = lineFormatter(names, Boolean(model.labels), job.settings);

  // One native call at a time, overlapped with the JavaScript thread's work: batch k+1 is
  // read and encoded while batch k computes, then batch k+1 starts as soon as k is done and
  // k is formatted and written while k+1 computes. (Starting k+1 before k is done would run
  // two calls' thread teams on the same cores, each slowing the other.)
  // headOf(row): the line's where-fields as JSON text without the closing brace (lineFormatter).
  type Pending = { probs: Promise<Float32Array>; count: number; headOf: (row: number) => string };
  let pending: Pending | null = null;
  const finish = async (batch: Pending) => {
    const p = await batch.probs;
    const t1 = performance.now();
    let text = '';
    for (let row = 0; row < batch.count; row++) text += lineFor(p, row, batch.headOf(row));
    await sink.write(text);
    timed('formatWrite', t1, undefined);
    written += batch.count;
  };
  const pipeline = async (encoded: { x: TypedSequences; count: number }, headOf: (row: number) => string) => {
    const previous = pending;
    if (previous) await previous.probs; // a failed batch stops the job here
    const t0 = performance.now();
    const probs = encoded.count
      ? (model.predictProba(encoded.x, { batchSize }) as Promise<Float32Array>).then((p) => timed('inference', t0, p))
      : Promise.resolve(new Float32Array(0));
    probs.catch(() => undefined); // surfaced by finish() or the next pipeline()
    pending = { probs, count: encoded.count, headOf };
    if (previous) await finish(previous);
  };
  // With several files, each line says which one, numbered within it. The fields are written
  // as JSON.stringify writes them in this order: id, file, then line/row (or index).
  const fileField = (file: string | undefined): string => (job.files > 1 && file !== undefined ? `"file":${JSON.stringify(file)},` : '');
  let t0 = performance.now();
  for await (const chunk of source.chunks(batchSize, report)) {
    timed('readParse', t0, undefined);
    if (chunk.kind === 'typed') {
      // Numeric already (IDX): each row is written with its index in the source.
      const head = `{${fileField(chunk.file)}"index":`;
      await pipeline({ x: chunk.x, count: chunk.y.length }, (row) => `${head}${chunk.firstIndex + row}`);
    } else {
      const encoded = timed('encode', performance.now(), pre.encode(chunk.records, report ? (_r, e) => report(e) : undefined));
      await pipeline({ x: encoded.x, count: encoded.kept.length }, (row) => {
        const record = chunk.records[encoded.kept[row]];
        const id = record.id === undefined ? '' : `"id":${JSON.stringify(record.id)},`;
        return `{${id}${fileField(record.file)}"${record.unit ?? 'line'}":${record.line}`;
      });
    }
    t0 = performance.now();
  }
  if (pending) await finish(pending);
  return { records: written, skipped, stages };
}
