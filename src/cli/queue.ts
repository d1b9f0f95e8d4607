/**
 * `rnn-node queue submit|work|status|collect`: a batch prediction job spread over any number
 * of workers on any number of machines through a BullMQ queue on Redis (src/scale/queue).
 * BullMQ is loaded only when one of these runs.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';

import { SequenceClassifier } from '../classifier/classifier';
import { setNumThreads } from '../native/threads';
import { checkReachable, DEFAULT_PREFIX, parseRedisUrl, QueueRuntimeError, QueueUsageError } from '../scale/queue/connection';
import { JOB_NAME } from '../scale/queue/job';
import { submitJob } from '../scale/queue/submit';
import { jobStatus, waitForJob, type JobStatus } from '../scale/queue/status';
import { runWorker } from '../scale/queue/work';
import { mergeParts } from '../scale/merge-parts';
import type { Compression } from '../scale/parts';
import type { GroupCommand } from './command';
import { UsageError, type Flag, type FlagValues } from './flags';
import { FORMAT_FLAG, ID_FLAGS, idxPrefixFlag, jsonFlag, MODEL_FLAG, predictSettingFlags, RECORD_FLAGS, schemaFromFlags, THREADS_FLAG } from './common-flags';
import { fileSha256 } from '../inference/model-file';
import { settingsFromFlags } from '../inference/predict-settings';
import { schemaOf } from './shared';

const REDIS_FLAG: Flag = { name: 'redis', kind: 'string', help: 'Redis URL: redis://[user:password@]host[:port][/db] (rediss:// for TLS)', required: true };
const PREFIX_FLAG: Flag = { name: 'prefix', kind: 'string', help: 'queue namespace in Redis', default: DEFAULT_PREFIX };
const NAME_FLAG: Flag = { name: 'name', kind: 'string', help: 'the job name submit printed', required: true };

const QUEUE_SUBMIT_FLAGS: Flag[] = [
  REDIS_FLAG,
  MODEL_FLAG,
  { name: 'input', kind: 'path', aliases: ['data'], multiple: true, help: 'records on storage every worker sees: files, quoted globs or directories, as predict --data', required: true },
  { name: 'output', kind: 'path', output: 'any', help: 'directory for the part files (created; every worker writes there)', required: true },
  { name: 'chunk-size', kind: 'int', min: 1, help: 'records per chunk (submit reads the input once to count them)', shown: 'none' },
  { name: 'chunk-bytes', kind: 'int', min: 1, help: 'bytes of input per chunk (no scan)', shown: '64 MiB' },
  { name: 'name', kind: 'string', help: 'job name (letters, digits, . _ -)', shown: 'job-<time>-<random>' },
  { name: 'attempts', kind: 'int', min: 1, max: 100, help: 'tries per chunk before it counts as failed (exponential backoff from 1 s)', default: 5 },
  { name: 'compress', kind: { choices: ['none', 'gzip'] }, help: 'gzip the part files', default: 'none' },
  ...predictSettingFlags('queue submit'),
  FORMAT_FLAG,
  idxPrefixFlag('t10k'),
  ...RECORD_FLAGS,
  ...ID_FLAGS,
  PREFIX_FLAG,
];

const QUEUE_WORK_FLAGS: Flag[] = [
  REDIS_FLAG,
  { name: 'concurrency', kind: 'int', min: 1, max: 64, help: 'chunks this worker processes at once', default: 1 },
  THREADS_FLAG,
  { name: 'exit-when-idle', kind: 'bool', help: 'exit 0 once the queue has nothing waiting or active', default: false },
  { name: 'lock-duration', kind: 'int', min: 100, help: "ms a chunk's lock lasts unless renewed (renewed every half of it); a killed worker's chunk is redone after it expires", default: 30000 },
  { name: 'max-stalled', kind: 'int', min: 0, help: 'times a chunk may lose its worker before it counts as failed', default: 2 },
  PREFIX_FLAG,
];

const QUEUE_STATUS_FLAGS: Flag[] = [
  REDIS_FLAG,
  NAME_FLAG,
  { name: 'wait', kind: 'bool', help: 'keep reporting until every chunk is done or failed', default: false },
  { name: 'timeout', kind: 'float', min: 0, help: 'with --wait: give up (exit 1) after this many seconds', shown: 'none: wait for the job' },
  jsonFlag('print one JSON object: name, total, done, failed, active, records, recordsPerSecond, etaSeconds'),
  PREFIX_FLAG,
];

const QUEUE_COLLECT_FLAGS: Flag[] = [
  REDIS_FLAG,
  NAME_FLAG,
  { name: 'output', kind: 'path', output: 'file', help: "the merged JSONL file, gzip'd when it ends in .gz (written atomically)", required: true },
  { name: 'wait', kind: 'bool', help: 'wait until every chunk is done or failed first', default: false },
  { name: 'timeout', kind: 'float', min: 0, help: 'with --wait: give up (exit 1) after this many seconds', shown: 'none: wait for the job' },
  PREFIX_FLAG,
];

function target(v: FlagValues) {
  return parseRedisUrl(v.redis as string);
}

function prefixOf(v: FlagValues): string {
  const prefix = v.prefix as string;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) throw new QueueUsageError(`--prefix must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(prefix)}`);
  return prefix;
}

function nameOf(v: FlagValues): string {
  const name = v.name as string;
  if (!JOB_NAME.test(name)) throw new QueueUsageError(`--name must be 1-100 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`);
  return name;
}

async function submit(v: FlagValues): Promise<number> {
  if (v['chunk-size'] !== undefined && v['chunk-bytes'] !== undefined) throw new QueueUsageError('give --chunk-size or --chunk-bytes, not both');
  const t = target(v);
  const prefix = prefixOf(v);
  if (v.name === undefined) v.name = `job-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const name = nameOf(v);
  // The model must load here: its schema says how the records read, and a bad model fails now, not in every worker.
  const modelPath = v.model as string;
  const model = await SequenceClassifier.load(modelPath);
  const schema = schemaOf(model, schemaFromFlags(v));
  model.dispose();
  const { chunks } = await submitJob({
    target: t, prefix, name, model: modelPath, modelSha256: fileSha256(modelPath), inputs: v.input as string[], format: v.format as 'auto', schema,
    idxPrefix: v['idx-prefix'] as string | undefined, output: v.output as string, compression: v.compress as Compression,
    chunk: v['chunk-size'] !== undefined ? { records: v['chunk-size'] as number } : { bytes: (v['chunk-bytes'] as number | undefined) ?? 64 << 20 },
    settings: settingsFromFlags(v), attempts: v.attempts as number,
  });
  process.stderr.write(`rnn-node queue submit: ${name}: ${chunks} chunk${chunks === 1 ? '' : 's'} queued\n`);
  process.stdout.write(`${name}\n`);
  return 0;
}

async function work(v: FlagValues): Promise<number> {
  const t = target(v);
  if (v.threads !== undefined) setNumThreads(v.threads as number);
  return runWorker({
    target: t, prefix: prefixOf(v), concurrency: v.concurrency as number, exitWhenIdle: v['exit-when-idle'] as boolean,
    lockDuration: v['lock-duration'] as number, maxStalledCount: v['max-stalled'] as number,
    log: (line) => process.stderr.write(`rnn-node queue work [${process.pid}]: ${line}\n`),
  });
}

function bar(s: JobStatus): string {
  const width = 30;
  const filled = Math.round((width * s.done) / Math.max(1, s.total));
  const eta = s.etaSeconds === null ? '?' : `${Math.ceil(s.etaSeconds)} s`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${s.done}/${s.total} done, ${s.failed} failed, ${s.active} active, ${Math.round(s.recordsPerSecond)} records/s, ETA ${eta}`;
}

/** The Redis target, namespace and job name of status and collect, the server reached first. */
async function jobOf(v: FlagValues) {
  const t = target(v);
  const prefix = prefixOf(v);
  const name = nameOf(v);
  await checkReachable(t);
  return { t, prefix, name };
}

async function status(v: FlagValues): Promise<number> {
  const { t, prefix, name } = await jobOf(v);
  const tty = process.stderr.isTTY && !v.json;
  const show = (s: JobStatus) => {
    if (tty) process.stderr.write(`\r${bar(s)}`);
  };
  if (v.timeout !== undefined && !v.wait) throw new QueueUsageError('--timeout goes with --wait');
  const s = v.wait ? await waitForJob(t, prefix, name, show, 500, v.timeout as number | undefined) : await jobStatus(t, prefix, name);
  if (tty) process.stderr.write('\n');
  if (v.json) {
    const { failures, output, ...summary } = s;
    process.stdout.write(JSON.stringify({ ...summary, recordsPerSecond: Math.round(s.recordsPerSecond), etaSeconds: s.etaSeconds === null ? null : Math.ceil(s.etaSeconds), failures, output }) + '\n');
  } else {
    process.stdout.write(`${name}: ${bar(s)}\n`);
    for (const f of s.failures) process.stdout.write(`  chunk ${f.chunk} failed: ${f.error}\n`);
  }
  return 0;
}

async function collect(v: FlagValues): Promise<number> {
  const { t, prefix, name } = await jobOf(v);
  if (v.timeout !== undefined && !v.wait) throw new QueueUsageError('--timeout goes with --wait');
  const s = v.wait ? await waitForJob(t, prefix, name, () => undefined, 500, v.timeout as number | undefined) : await jobStatus(t, prefix, name);
  if (s.failed > 0) throw new QueueRuntimeError(`${name}: ${s.failed} chunk${s.failed === 1 ? '' : 's'} failed: ${s.failures.slice(0, 5).map((f) => `chunk ${f.chunk}: ${f.error}`).join('; ')}`);
  if (s.done < s.total) throw new QueueRuntimeError(`${name}: ${s.total - s.done} of ${s.total} chunks not done yet (use --wait)`);
  try {
    statSync(s.output);
  } catch {
    throw new QueueRuntimeError(`${name}: its output directory ${s.output} is not reachable here`);
  }
  const { parts, records } = await mergeParts(s.output, v.output as string, s.total);
  process.stderr.write(`rnn-node queue collect: ${name}: ${parts} parts, ${records} records → ${v.output}\n`);
  return 0;
}

export const QUEUE_COMMAND: GroupCommand = {
  name: 'queue',
  summary: 'a predict job over many workers through a BullMQ queue on Redis',
  description: [
    'A batch prediction job through a BullMQ queue on Redis: submit splits the input into chunks, any number of workers',
    'predict them into part files, status follows the job, collect merges the parts in input order.',
  ].join('\n'),
  subcommands: [
    { name: 'submit', description: 'Split the input into chunks and queue them; prints the job name alone on stdout.', flags: QUEUE_SUBMIT_FLAGS, run: ({ values }) => submit(values) },
    { name: 'work', description: 'Predict queued chunks until SIGTERM/SIGINT (the current chunk finishes first).', flags: QUEUE_WORK_FLAGS, run: ({ values }) => work(values) },
    { name: 'status', description: 'Chunks done, failed and active, records/s and the ETA of a job.', flags: QUEUE_STATUS_FLAGS, run: ({ values }) => status(values) },
    { name: 'collect', description: "Merge a finished job's parts into one file, in input order (exit 1 naming missing or failed chunks).", flags: QUEUE_COLLECT_FLAGS, run: ({ values }) => collect(values) },
  ],
  // The queue's errors (src/scale/queue) as the CLI's: usage (exit 2) or runtime (exit 1), naming the subcommand.
  mapError(e, sub) {
    if (e instanceof QueueUsageError) return new UsageError(`rnn-node queue ${sub}: ${e.message}`);
    if (e instanceof QueueRuntimeError) return new Error(`${sub}: ${e.message}`);
    return e;
  },
};
