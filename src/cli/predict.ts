/**
 * `rnn-node predict`: stream records through a saved model to JSONL, in input order, with
 * bounded memory (at most two batches in flight: one computing while the next is read and
 * tokenized). Output to a file is atomic (temp file, fsync, rename); a failed job leaves no
 * output file behind.
 */
import { fileSink, stdoutSink } from './sinks';
import { SequenceClassifier } from '../classifier';
import { setNumThreads } from '../threads';
import { DataFormatError } from '../errors';
import type { TypedSequences } from '../data';
import { helpText, parseFlags, type Flag } from './flags';
import { FORMAT_FLAG, ID_FLAGS, idxPrefixFlag, MODEL_FLAG, RECORD_FLAGS, schemaFromFlags, THREADS_FLAG } from './common-flags';
import { sourcesOf } from './inputs';
import { preprocessorOf, schemaOf } from './shared';

export const PREDICT_FLAGS: Flag[] = [
  MODEL_FLAG,
  { name: 'data', kind: 'path', aliases: ['input'], multiple: true, help: "records: JSONL, CSV/TSV (optionally .gz), an IDX directory, or '-' for stdin (JSONL). Repeat it, or quote a glob, or name a directory of such files: each output line then says its 'file'", required: true },
  { name: 'output', kind: 'path', help: "JSONL output file, gzip'd when it ends in .gz (written atomically), or '-' for stdout", default: '-' },
  FORMAT_FLAG,
  idxPrefixFlag('t10k'),
  ...RECORD_FLAGS,
  ...ID_FLAGS,
  { name: 'batch-size', kind: 'int', min: 1, max: 1 << 20, help: 'records per batch', default: 512 },
  { name: 'top-k', kind: 'int', min: 1, help: "add the K most probable labels as 'top'", shown: 'off' },
  { name: 'on-error', kind: { choices: ['fail', 'skip'] }, help: 'a bad record stops the job (fail) or is reported on stderr and skipped', default: 'fail' },
  THREADS_FLAG,
  { name: 'stats', kind: 'bool', help: 'end with one JSON line on stderr: records/s and where the time went', default: false },
];

export const PREDICT_HELP = helpText('predict', 'Predict labels for records, streaming one JSONL line per record in input order.', PREDICT_FLAGS);

export async function predict(argv: string[]): Promise<number> {
  const { values: v, help } = parseFlags('predict', argv, PREDICT_FLAGS);
  if (help) {
    process.stdout.write(PREDICT_HELP + '\n');
    return 0;
  }
  if (v.threads !== undefined) setNumThreads(v.threads as number);
  const model = await SequenceClassifier.load(v.model as string);
  const pre = preprocessorOf(model);
  const inputs = v.data as string[];
  const format = v.format as 'auto' | 'jsonl' | 'csv' | 'idx';
  const skip = v['on-error'] === 'skip';
  const batchSize = v['batch-size'] as number;
  const topK = v['top-k'] as number | undefined;
  const names = model.labels ?? Array.from({ length: model.config.classes }, (_, i) => String(i));
  const sink = v.output === '-' ? stdoutSink() : await fileSink(v.output as string);
  let written = 0;
  let skipped = 0;
  // Where the time goes (--stats). Reading, encoding and formatting run on the JavaScript
  // thread; inference runs on native threads at the same time, so the stages overlap and
  // their sum exceeds the wall time when the pipeline works.
  const started = performance.now();
  const stages = { readParse: 0, encode: 0, inference: 0, formatWrite: 0 };
  const timed = <T>(stage: keyof typeof stages, t0: number, value: T): T => {
    stages[stage] += performance.now() - t0;
    return value;
  };
  const report = (e: DataFormatError) => {
    skipped++;
    process.stderr.write(`rnn-node predict: skipped ${e.message}\n`);
  };

  const lineFor = (probs: Float32Array, row: number, where: Record<string, number | string>) => {
    const p = probs.subarray(row * names.length, (row + 1) * names.length);
    let best = 0;
    const probabilities: Record<string, number> = {};
    for (let c = 0; c < names.length; c++) {
      probabilities[names[c]] = Number(p[c].toPrecision(6));
      if (p[c] > p[best]) best = c;
    }
    const out: Record<string, unknown> = { ...where, label: model.labels ? names[best] : best, probabilities };
    if (topK !== undefined) {
      out.top = Array.from(p, (q, c) => [c, q] as const)
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, topK)
        .map(([c, q]) => ({ label: model.labels ? names[c] : c, p: Number(q.toPrecision(6)) }));
    }
    return JSON.stringify(out) + '\n';
  };

  try {
    // Two batches in flight at most: batch k computes while batch k+1 is read and encoded.
    let inflight: Promise<void> = Promise.resolve();
    const pipeline = async (encoded: { x: TypedSequences; count: number }, whereOf: (row: number) => Record<string, number | string>) => {
      const t0 = performance.now();
      const probs = encoded.count
        ? (model.predictProba(encoded.x, { batchSize }) as Promise<Float32Array>).then((p) => timed('inference', t0, p))
        : Promise.resolve(new Float32Array(0));
      probs.catch(() => undefined); // surfaced through `inflight`
      const previous = inflight;
      inflight = (async () => {
        const p = await probs;
        await previous;
        const t1 = performance.now();
        let text = '';
        for (let row = 0; row < encoded.count; row++) text += lineFor(p, row, whereOf(row));
        await sink.write(text);
        timed('formatWrite', t1, undefined);
        written += encoded.count;
      })();
      inflight.catch(() => undefined);
      await previous;
    };
    const { source, files } = sourcesOf(inputs, format, 't10k', v['idx-prefix'] as string | undefined, schemaOf(model, schemaFromFlags(v)));
    // With several files, each line says which one, numbered within it.
    const fileOf = (file: string | undefined): Record<string, string> => (files > 1 && file !== undefined ? { file } : {});
    let t0 = performance.now();
    for await (const chunk of source.chunks(batchSize, skip ? report : undefined)) {
      timed('readParse', t0, undefined);
      if (chunk.kind === 'typed') {
        // Numeric already (IDX): each row is written with its index in the source.
        await pipeline({ x: chunk.x, count: chunk.y.length }, (row) => ({ ...fileOf(chunk.file), index: chunk.firstIndex + row }));
      } else {
        const encoded = timed('encode', performance.now(), pre.encode(chunk.records, skip ? (_r, e) => report(e) : undefined));
        await pipeline({ x: encoded.x, count: encoded.kept.length }, (row): Record<string, number | string> => {
          const record = chunk.records[encoded.kept[row]];
          return { ...(record.id === undefined ? {} : { id: record.id }), ...fileOf(record.file), [record.unit ?? 'line']: record.line };
        });
      }
      t0 = performance.now();
    }
    await inflight;
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    model.dispose();
  }
  process.stderr.write(`rnn-node predict: ${written} records predicted${skipped ? `, ${skipped} skipped` : ''}\n`);
  if (v.stats) {
    const seconds = (performance.now() - started) / 1000;
    const round = (ms: number) => Math.round(ms) / 1000;
    process.stderr.write(
      JSON.stringify({
        records: written,
        skipped,
        seconds: Math.round(seconds * 1000) / 1000,
        recordsPerSecond: Math.round(written / seconds),
        stageSeconds: { readParse: round(stages.readParse), encode: round(stages.encode), inference: round(stages.inference), formatWrite: round(stages.formatWrite) },
      }) + '\n',
    );
  }
  return 0;
}
