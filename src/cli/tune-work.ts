/**
 * `rnn-node tune work`: trains the trials that `rnn-node tune --redis` puts on the queue, on
 * any machine that sees the study's --checkpoints folder (tune/queue/worker.ts).
 */
import { setNumThreads } from '../native/threads';
import { DEFAULT_PREFIX, parseRedisUrl } from '../scale/queue/connection';
import { runTuneWorker } from '../tune/queue/worker';
import type { Flag, FlagValues } from './flags';
import { THREADS_FLAG } from './common-flags';

export const TUNE_REDIS_FLAG: Flag = { name: 'redis', kind: 'string', help: 'Redis URL: redis://[user:password@]host[:port][/db] (rediss:// for TLS)', shown: 'none' };
export const TUNE_PREFIX_FLAG: Flag = { name: 'prefix', kind: 'string', help: 'queue namespace in Redis', default: DEFAULT_PREFIX };

export const TUNE_WORK_FLAGS: Flag[] = [
  { ...TUNE_REDIS_FLAG, required: true },
  THREADS_FLAG,
  { name: 'exit-when-idle', kind: 'bool', help: 'exit 0 once the queue has had no trial waiting or running for 3 s', default: false },
  { name: 'lock-duration', kind: 'int', min: 100, help: "ms a trial's lock lasts unless renewed (renewed every half of it); a killed worker's trial is resumed elsewhere after it expires", default: 30000 },
  { name: 'max-stalled', kind: 'int', min: 0, help: 'times a trial may lose its worker before it counts as failed', default: 2 },
  TUNE_PREFIX_FLAG,
];

export async function tuneWork(v: FlagValues): Promise<number> {
  const target = parseRedisUrl(v.redis as string);
  if (v.threads !== undefined) setNumThreads(v.threads as number);
  return runTuneWorker({
    target,
    prefix: v.prefix as string,
    threads: v.threads as number | undefined,
    exitWhenIdle: v['exit-when-idle'] as boolean,
    lockDuration: v['lock-duration'] as number,
    maxStalledCount: v['max-stalled'] as number,
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
}
