/**
 * `rnn-node tune`: a study over a JSON search space on `train`'s data (tune/), the best model
 * saved to --out with its trial's settings; `rnn-node tune status`: the study's trials.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

import { packageVersion } from '../native/backend';
import { setNumThreads } from '../native/threads';
import { StudyError } from '../util/errors';
import { bestTrial } from '../tune/asha';
import { checkReachable, metaClient, parseRedisUrl } from '../scale/queue/connection';
import { elapsedSeconds, readStudy } from '../tune/journal';
import { RedisJournal, studyKeys } from '../tune/queue/redis-journal';
import { jsonSpaceFunction, parseJsonSpace } from '../tune/json-space';
import { TrialRecorder } from '../tune/space';
import { writeStudyReport } from '../tune/study-report';
import { studyReportData } from '../tune/study-report-data';
import { tune, type TuneBudget } from '../tune/tune';
import type { Choice } from '../tune/space';
import type { TrialRecord } from '../tune/types';
import type { GroupCommand } from './command';
import { jsonFlag, schemaFromFlags, THREADS_FLAG } from './common-flags';
import { UsageError, type Flag, type FlagValues } from './flags';
import { loadData } from './inputs';
import { datasetFor } from './shared';
import { retrainCommand } from './retrain-command';
import { studyProgress } from './tune-progress';
import { TUNE_PREFIX_FLAG, TUNE_REDIS_FLAG, TUNE_WORK_FLAGS, tuneWork } from './tune-work';
import { preprocessingFor, TRAINING_DATA_FLAGS } from './training-data';

const RUN_FLAGS: Flag[] = [
  ...TRAINING_DATA_FLAGS.slice(0, 1),
  { name: 'space', kind: 'path', help: 'the search space: a JSON object keyed like train\'s flags, each a fixed value or {"choice": [...]}, {"int": [lo, hi]}, {"float": [lo, hi]} (optionally "log": true, "step": s); epochs is the scheduler\'s', required: true },
  { name: 'budget', kind: 'string', help: "the whole study's budget, across restarts: Ns, Nm, Nh (wall clock), 'N trials' or 'N epochs'", required: true },
  { name: 'out', kind: 'path', output: 'file', aliases: ['output'], help: 'where to write the best model (atomically)', required: true },
  { name: 'study', kind: 'path', help: 'the study journal (JSONL): the same path continues the study; with --redis, the study\'s name', shown: 'none (not resumable)' },
  ...TRAINING_DATA_FLAGS.slice(1),
  { name: 'embedding', kind: 'int', min: 1, max: 16384, help: 'embedding width for text (unless the space searches "embedding")', default: 32 },
  { name: 'objective', kind: { choices: ['valAccuracy', 'valLoss', 'valMacroF1'] }, help: 'what the study optimises (valLoss is minimised)', default: 'valAccuracy' },
  { name: 'sampler', kind: { choices: ['tpe', 'random', 'grid'] }, help: 'how trials are proposed', default: 'tpe' },
  { name: 'scheduler', kind: { choices: ['asha', 'none'] }, help: 'asha: successive halving on epochs; none: every trial to --max-epochs', default: 'asha' },
  { name: 'min-epochs', kind: 'int', min: 1, help: "epochs of the first rung (no trial is judged before)", default: 1 },
  { name: 'max-epochs', kind: 'int', min: 1, max: 1e6, help: 'epochs of the last rung', default: 9 },
  { name: 'eta', kind: 'int', min: 2, max: 100, help: 'ASHA: rungs grow by this factor, the top 1/eta is promoted', default: 3 },
  { name: 'patience', kind: 'int', min: 0, help: 'ASHA: judge a rung on the best of the last N + 1 epochs (noisy curves)', default: 0 },
  { name: 'parallel', kind: 'int', min: 1, max: 256, help: 'trials trained at once (the threads are split between them); with --redis, trials on the queue at once', shown: 'one per thread, up to 8; with --redis, one per connected worker' },
  { name: 'seed', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'the same seed proposes the same configurations', default: 0 },
  { name: 'max-latency-ms', kind: 'float', min: 0, help: 'constraint: one sequence, measured on this machine (median); slower trials are infeasible', shown: 'none' },
  { name: 'max-model-bytes', kind: 'int', min: 1, help: 'constraint: the model file size', shown: 'none' },
  { name: 'constraint-precision', kind: { choices: ['float32', 'int8'] }, help: 'measure the constraints on the float32 model or after quantize (int8)', default: 'float32' },
  { name: 'report', kind: 'path', output: 'file', help: 'write the HTML study report here (rewritten as trials end)', shown: 'none' },
  { ...TUNE_REDIS_FLAG, help: "put the trials on a BullMQ queue on this Redis: 'rnn-node tune work' processes train them (the journal is kept in Redis)" },
  { name: 'checkpoints', kind: 'path', help: "with --redis: a folder every worker sees (shared storage) for the trials' checkpoints and the study's data", shown: 'none' },
  TUNE_PREFIX_FLAG,
  THREADS_FLAG,
  jsonFlag('print one JSON object with the study'),
];

const STATUS_FLAGS: Flag[] = [
  { name: 'study', kind: 'path', help: "the study journal (with --redis, the study's name)", required: true },
  { ...TUNE_REDIS_FLAG, help: 'read a distributed study from this Redis' },
  TUNE_PREFIX_FLAG,
  { name: 'report', kind: 'path', output: 'file', help: 'also write the HTML study report here', shown: 'none' },
  jsonFlag('print {"study", "objective", "direction", "trials": [...], "best"}'),
];

export const TUNE_COMMAND: GroupCommand = {
  name: 'tune',
  summary: 'search a space of models and training settings (ASHA, TPE), resumable',
  description: "Tune: 'rnn-node tune --data ... --space space.json --budget 30m --out best.rnn' runs (or continues, with --study) a study; 'status' shows its trials.",
  defaultSubcommand: 'run',
  subcommands: [
    { name: 'run', description: 'Run the study until its budget is spent; save the best model to --out.', flags: RUN_FLAGS, run: ({ values }) => runStudy(values) },
    { name: 'status', description: "Show a study's trials.", flags: STATUS_FLAGS, run: ({ values }) => status(values) },
    { name: 'work', description: "Train the trials that 'rnn-node tune --redis' puts on the queue (run any number, anywhere that sees --checkpoints).", flags: TUNE_WORK_FLAGS, run: ({ values }) => tuneWork(values) },
  ],
  // Bad options and another study's file are usage errors (exit 2); the rest is runtime (1).
  mapError: (e) =>
    e instanceof RangeError || e instanceof TypeError || (e instanceof StudyError && /another study|space changed/.test(e.message))
      ? new UsageError(`rnn-node tune: ${(e as Error).message}`)
      : e,
};

/** '30m', '90s', '2h', '20 trials', '50 epochs'. */
export function parseBudget(text: string): TuneBudget {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|trials?|epochs?)\s*$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0)) throw new UsageError(`rnn-node tune: --budget takes Ns, Nm, Nh, 'N trials' or 'N epochs' with N > 0, got '${text}'`);
  const unit = m[2];
  if (unit.startsWith('trial') || unit.startsWith('epoch')) {
    if (!Number.isInteger(n)) throw new UsageError(`rnn-node tune: --budget: a whole number of ${unit}, got '${text}'`);
    return unit.startsWith('trial') ? { trials: n } : { epochs: n };
  }
  return { seconds: n * (unit === 's' ? 1 : unit === 'm' ? 60 : 3600) };
}

/** The space's fixed keys and their values. */
function fixedOf(space: ReturnType<typeof parseJsonSpace>): Record<string, Choice> {
  return Object.fromEntries([...space.params].flatMap(([k, p]) => ('fixed' in p ? [[k, p.fixed]] : [])));
}

function readSpace(path: string): ReturnType<typeof parseJsonSpace> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`rnn-node tune: --space ${path}: ${code ? `cannot be read (${code})` : `not JSON (${(e as Error).message})`}`);
  }
  try {
    return parseJsonSpace(json);
  } catch (e) {
    throw new UsageError(`rnn-node tune: --space ${path}: ${(e as Error).message.replace(/^space: /, '')}`);
  }
}

async function runStudy(v: FlagValues): Promise<number> {
  const budget = parseBudget(v.budget as string);
  const space = readSpace(v.space as string);
  if (v.validation !== undefined && v['validation-split'] !== undefined) throw new UsageError('rnn-node tune: use either --validation or --validation-split, not both');
  if (v.validation === undefined && v['validation-split'] === undefined) throw new UsageError('rnn-node tune: a study scores trials on validation data: give --validation or --validation-split');
  if (v.threads !== undefined) setNumThreads(v.threads as number);
  const schema = schemaFromFlags(v);
  const data = await loadData(v.data as string[], v.format as 'auto', 'train', v['idx-prefix'] as string | undefined, schema);
  const { pre, classes } = preprocessingFor(v, data);
  const shape = { count: Array.isArray(classes) ? classes.length : classes, names: Array.isArray(classes) ? classes : null };
  const train = datasetFor(data, shape, pre);
  const validationData = v.validation !== undefined
    ? datasetFor(await loadData([v.validation as string], v.format as 'auto', 't10k', v['idx-prefix'] as string | undefined, schema), shape, pre)
    : undefined;
  const constraints = {
    ...(v['max-latency-ms'] !== undefined ? { maxLatencyMs: v['max-latency-ms'] as number } : {}),
    ...(v['max-model-bytes'] !== undefined ? { maxModelBytes: v['max-model-bytes'] as number } : {}),
  };
  const constrained = Object.keys(constraints).length > 0;
  const started = Date.now();
  // The earlier runs of a file study count against a time budget (the bar shows what is left).
  const earlier = v.study !== undefined && v.redis === undefined && existsSync(v.study as string) ? earlierStudySeconds(v.study as string) : 0;
  const progress = v.json ? null : studyProgress(budget, v.objective as string, v.objective !== 'valLoss', earlier);
  const study = await tune({
    data: train,
    ...(validationData ? { validationData } : { validationSplit: v['validation-split'] as number, stratify: v.stratify as boolean }),
    input: pre.inputConfig(v.embedding as number),
    classes,
    space: space.json,
    objective: v.objective as 'valAccuracy',
    budget,
    sampler: v.sampler as 'tpe',
    scheduler: v.scheduler as 'asha',
    minEpochs: v['min-epochs'] as number,
    maxEpochs: v['max-epochs'] as number,
    eta: v.eta as number,
    patience: v.patience as number,
    seed: v.seed as number,
    ...(v.parallel !== undefined ? { parallel: v.parallel as number } : {}),
    ...(v.redis !== undefined ? { redis: v.redis as string, prefix: v.prefix as string } : {}),
    ...(v.checkpoints !== undefined ? { checkpoints: v.checkpoints as string } : {}),
    ...(v.threads !== undefined ? { threads: v.threads as number } : {}),
    ...(v.study !== undefined ? { study: v.study as string } : {}),
    ...(constrained ? { constraints: { ...constraints, precision: v['constraint-precision'] as 'float32' } } : {}),
    ...(v.report !== undefined ? { report: v.report as string, retrainCommand: (t: TrialRecord) => retrainCommand(TRAINING_DATA_FLAGS, v, fixedOf(space), t, v.seed as number, space.params.has('embedding') || pre.inputConfig(v.embedding as number).type !== 'tokens' ? undefined : (v.embedding as number)) } : {}),
    ...(progress ? { onTrial: progress.onTrial } : {}),
  }).finally(() => progress?.finish());
  const seconds = (Date.now() - started) / 1000;
  if (!study.best || !study.bestModel) {
    process.stderr.write(`rnn-node tune: no trial finished an epoch within the budget (${study.trials.length} trials)\n`);
    return 1;
  }
  const best = study.best;
  const model = study.bestModel;
  model.preprocessing = {
    ...pre.toJSON(),
    source: schema,
    tune: { ...(v.study !== undefined ? { study: v.study } : {}), trial: best.id, params: best.params, objective: v.objective, value: best.value, epochs: best.epochs },
  };
  await model.save(v.out as string);
  model.dispose();
  if (v.json) {
    process.stdout.write(JSON.stringify({ out: v.out, seconds, best: trialJson(best), trials: study.trials.map(trialJson) }) + '\n');
  } else {
    process.stdout.write(
      `${study.trials.length} trials in ${seconds.toFixed(1)} s; best: trial ${best.id}, ${v.objective} ${best.value?.toFixed(4)} after ${best.epochs} epochs\n` +
        `  ${Object.entries(best.params).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ')}\n` +
        `saved ${v.out}\n`,
    );
  }
  return 0;
}

/** The study time of a journal's earlier runs, or 0 for one that cannot be read (tune says why). */
function earlierStudySeconds(path: string): number {
  try {
    return elapsedSeconds(readStudy(path).state);
  } catch {
    return 0;
  }
}

function trialJson(t: TrialRecord) {
  return { id: t.id, state: t.state, params: t.params, value: t.value, epochs: t.epochs, rung: t.rung, seconds: t.seconds, ...(t.error !== undefined ? { error: t.error } : {}) };
}

async function status(v: FlagValues): Promise<number> {
  const path = v.study as string;
  const { header, state } = v.redis === undefined ? readStudy(path) : await readRedisStudy(v.redis as string, v.prefix as string, path);
  const trials = [...state.trials.values()].map((t) => ({ ...t, state: t.state === 'paused' ? ('pruned' as const) : t.state }));
  const best = bestTrial(trials, header.scheduler, header.direction);
  if (v.report !== undefined) {
    // A declarative space gives the best trial's settings; the data flags are not in the journal.
    const space = header.space === null ? null : jsonSpaceFunction(parseJsonSpace(header.space));
    const settingsOf = (t: TrialRecord) => (space ? space(new TrialRecorder(t.id, () => { throw new StudyError('not in the journal'); }, state.specs, t.params)) : null);
    await writeStudyReport(v.report as string, studyReportData({ title: `Study ${basename(path)}`, header, trials: [...state.trials.values()], specs: state.specs, studySeconds: elapsedSeconds(state), complete: true, settingsOf, version: packageVersion() }));
  }
  if (v.json) {
    process.stdout.write(JSON.stringify({ study: path, objective: header.objective, direction: header.direction, trials: trials.map(trialJson), best: best ? trialJson(best) : null }) + '\n');
    return 0;
  }
  const rows = trials.map((t) => [String(t.id), t.state, t.value === null ? '' : t.value.toFixed(4), String(t.epochs), String(t.rung), t.seconds.toFixed(1), Object.entries(t.params).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ')]);
  const head = ['trial', 'state', header.objective, 'epochs', 'rung', 'seconds', 'params'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  process.stdout.write([line(head), ...rows.map(line), best ? `best: trial ${best.id}` : 'best: none yet'].join('\n') + '\n');
  return 0;
}

/** A distributed study's header and trials, from its journal in Redis. */
async function readRedisStudy(url: string, prefix: string, study: string) {
  const target = parseRedisUrl(url);
  await checkReachable(target);
  const client = metaClient(target);
  try {
    return await RedisJournal.read(client, studyKeys(prefix, study).events);
  } finally {
    client.disconnect();
  }
}
