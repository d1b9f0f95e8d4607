/**
 * `rnn-node predict`: stream records through a saved model to JSONL, in input order, with
 * bounded memory (src/inference/predict-job.ts). Output to a file is atomic (temp file, fsync,
 * rename); a failed job leaves no output file behind. With `--shard K/N` it processes shard K
 * of N of the input (src/scale/plan.ts) into DIR/part-KKKKK-of-NNNNN.jsonl plus a sidecar,
 * for `rnn-node merge`.
 */
import { oneLine } from './terminal-text';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { fileSink, runTo, stdoutSink, type Sink } from '../inference/sinks';
import { fileSha256, preprocessorOf } from '../inference/model-file';
import { SequenceClassifier } from '../classifier/classifier';
import { setNumThreads } from '../native/threads';
import type { DataFormatError } from '../util/errors';
import { chunkSource } from '../scale/chunk-source';
import { countingSink, partName, sidecarName, writeSidecar, type Compression } from '../scale/parts';
import { rm } from 'node:fs/promises';
import { describeInputs, shardPieces } from '../scale/plan';
import { parseShard, ShardSpecError } from '../scale/shard-spec';
import type { FlagCommand } from './command';
import { checkOutputFile, UsageError, type Flag, type FlagValues } from './flags';
import { FORMAT_FLAG, ID_FLAGS, idxPrefixFlag, inputFormatsText, MODEL_FLAG, predictSettingFlags, RECORD_FLAGS, schemaFromFlags, THREADS_FLAG } from './common-flags';
import { sourcesOf } from './inputs';
import { runPrediction, type PredictionStats } from '../inference/predict-job';
import { settingsFromFlags } from '../inference/predict-settings';
import { schemaOf } from './shared';

const PREDICT_FLAGS: Flag[] = [
  MODEL_FLAG,
  { name: 'data', kind: 'path', aliases: ['input'], multiple: true, help: `records: ${inputFormatsText({ stdin: true })}. Repeat it, or quote a glob, or name a directory of such files: each output line then says its 'file'`, required: true },
  { name: 'output', kind: 'path', output: 'any', help: "JSONL output file, gzip'd when it ends in .gz (written atomically), or '-' for stdout; with --shard, a directory for the part files", default: '-' },
  FORMAT_FLAG,
  idxPrefixFlag('t10k'),
  ...RECORD_FLAGS,
  ...ID_FLAGS,
  ...predictSettingFlags('predict'),
  THREADS_FLAG,
  { name: 'shard', kind: 'string', help: "process shard K of N of the input (K/N, 0-based), or 'auto' from the array-job environment (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX); writes --output DIR/part-KKKKK-of-NNNNN.jsonl and its .done.json", shown: 'off' },
  { name: 'shards', kind: 'int', min: 1, max: 99999, help: 'with --shard auto: the number of shards (Kubernetes and AWS Batch do not say it)', shown: 'none' },
  { name: 'compress', kind: { choices: ['none', 'gzip'] }, help: 'with --shard: gzip the part file (.jsonl.gz)', default: 'none' },
  { name: 'stats', kind: 'bool', help: 'end with one JSON line on stderr: records/s and where the time went', default: false },
];

export const PREDICT_COMMAND: FlagCommand = {
  name: 'predict',
  summary: 'stream records through a model to JSONL',
  description: 'Predict labels for records, streaming one JSONL line per record in input order.',
  flags: PREDICT_FLAGS,
  run: ({ values }) => predict(values),
};

async function predict(v: FlagValues): Promise<number> {
  if (v.threads !== undefined) setNumThreads(v.threads as number);
  const stdin = (v.data as string[]).filter((p) => p === '-').length;
  if (stdin > 1) throw new UsageError("rnn-node predict: --data - (stdin) is given more than once; it can be read only once");
  if (stdin > 0 && v.shard !== undefined) throw new UsageError('rnn-node predict: --shard splits files; stdin (--data -) cannot be split, give a file');
  let shard: ReturnType<typeof parseShard> | null = null;
  if (v.shard !== undefined) {
    try {
      shard = parseShard(v.shard as string, v.shards as number | undefined);
    } catch (e) {
      if (e instanceof ShardSpecError) throw new UsageError(`rnn-node predict: ${e.message}`);
      throw e;
    }
    if (v.output === '-') throw new UsageError('rnn-node predict: --shard needs --output DIR (a directory for the part files)');
    let isDir = false;
    try {
      isDir = statSync(v.output as string).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw new UsageError(`rnn-node predict: with --shard, --output must be an existing directory, got ${JSON.stringify(v.output)}`);
  } else if (v.shards !== undefined || v.compress !== 'none') {
    throw new UsageError('rnn-node predict: --shards and --compress go with --shard');
  } else if (v.output !== '-') {
    checkOutputFile('predict', 'output', v.output as string, ' (a folder takes part files with --shard)');
  }
  const model = await SequenceClassifier.load(v.model as string);
  const onSkip = (e: DataFormatError) => process.stderr.write(`rnn-node predict: skipped ${oneLine(e.message)}\n`);
  const started = performance.now();
  let stats: PredictionStats;
  try {
    const pre = preprocessorOf(model);
    const inputs = v.data as string[];
    const format = v.format as 'auto';
    const schema = schemaOf(model, schemaFromFlags(v));
    const job = { model, pre, settings: settingsFromFlags(v), onSkip };
    if (shard) {
      const units = await describeInputs(inputs, format, schema);
      const source = chunkSource(shardPieces(units, shard.k, shard.n), { schema, idxPrefix: v['idx-prefix'] as string | undefined, preferredPrefix: 't10k' });
      const dir = v.output as string;
      const compression = v.compress as Compression;
      // A rerun first removes this shard's old sidecar: if it fails, the shard shows as unfinished
      // instead of its previous run's part being merged with the new ones.
      await rm(join(dir, sidecarName(shard.k, shard.n)), { force: true });
      const sink = countingSink(await fileSink(join(dir, partName(shard.k, shard.n, compression))));
      stats = await removedOnInterrupt(sink, () => runTo(sink, () => runPrediction({ ...job, source, files: units.length, sink })), false);
      await writeSidecar(dir, {
        format: 'rnn-node-part', version: 1, part: partName(shard.k, shard.n, compression), index: shard.k, of: shard.n,
        records: sink.records(), sha256: sink.sha256(), inputs: units.map((u) => resolve(u.path)), model: fileSha256(v.model as string),
      });
      process.stderr.write(`rnn-node predict: shard ${shard.k}/${shard.n} (${shard.from}): ${stats.records} records → ${join(dir, partName(shard.k, shard.n, compression))}\n`);
    } else {
      const { source, files } = sourcesOf(inputs, format, 't10k', v['idx-prefix'] as string | undefined, schema);
      const sink = v.output === '-' ? stdoutSink() : await fileSink(v.output as string);
      stats = await removedOnInterrupt(sink, () => runTo(sink, () => runPrediction({ ...job, source, files, sink })), v.output === '-');
    }
  } finally {
    model.dispose();
  }
  process.stderr.write(`rnn-node predict: ${stats.records} records predicted${stats.skipped ? `, ${stats.skipped} skipped` : ''}\n`);
  if (v.stats) {
    const seconds = (performance.now() - started) / 1000;
    const round = (ms: number) => Math.round(ms) / 1000;
    const s = stats.stages;
    process.stderr.write(
      JSON.stringify({
        records: stats.records,
        skipped: stats.skipped,
        seconds: Math.round(seconds * 1000) / 1000,
        recordsPerSecond: Math.round(stats.records / seconds),
        stageSeconds: { readParse: round(s.readParse), encode: round(s.encode), inference: round(s.inference), formatWrite: round(s.formatWrite) },
      }) + '\n',
    );
  }
  return 0;
}

/**
 * Ctrl-C or SIGTERM while `predict` writes: the unfinished output (its temp file) is removed
 * and the process exits 130 / 143 with one line, instead of dying with the temp file left.
 * (Queue workers finish their chunk on SIGTERM instead: src/scale/queue/work.ts.)
 */
async function removedOnInterrupt<T>(sink: Sink, job: () => Promise<T>, toStdout: boolean): Promise<T> {
  let interrupted = false;
  const stop = (signal: NodeJS.Signals) => {
    interrupted = true;
    void sink.abort().finally(() => {
      process.stderr.write(`rnn-node predict: interrupted (${signal}); ${toStdout ? 'the output on stdout is incomplete' : 'no output written'}\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await job();
  } catch (e) {
    // The job fails because its sink was taken away: the exit above says why, alone.
    if (interrupted) return new Promise<T>(() => undefined);
    throw e;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
