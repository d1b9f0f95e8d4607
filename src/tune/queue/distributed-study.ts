/**
 * Opening a distributed study (tune's `redis` option): the URL checked, Redis reached, the
 * study's journal opened in Redis (another study of the same name refused), and the
 * study's data written where every worker reads it.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';

import type { Dataset } from '../../data/sequence-set';
import type { DenseInputConfig, TokenInputConfig } from '../../model/config';
import { checkReachable, DEFAULT_PREFIX, parseRedisUrl, QueueUsageError, type RedisTarget } from '../../scale/queue/connection';
import type { StudyHeader, StudyState } from '../journal';
import { writeStudyData } from '../study-data-file';
import { RedisJournal, STUDY_NAME, studyClient, studyKeys } from './redis-journal';

export interface DistributedStudy {
  target: RedisTarget;
  prefix: string;
  client: Redis;
  journal: RedisJournal;
  state: StudyState;
  data: { path: string; sha256: string };
}

/** The options' Redis URL, prefix and study name, checked (RangeError/TypeError naming them). */
export function checkDistributed(redis: unknown, prefix: unknown, study: unknown, checkpoints: unknown): { target: RedisTarget; prefix: string; study: string; checkpoints: string } {
  if (typeof redis !== 'string') throw new TypeError('options.redis must be a redis:// URL');
  let target: RedisTarget;
  try {
    target = parseRedisUrl(redis);
  } catch (e) {
    if (e instanceof QueueUsageError) throw new RangeError(`options.redis: ${e.message.replace(/^--redis /, '')}`);
    throw e;
  }
  const p = prefix ?? DEFAULT_PREFIX;
  if (typeof p !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(p)) throw new RangeError(`options.prefix: letters, digits, '.', '_' or '-', got ${JSON.stringify(p)}`);
  if (typeof study !== 'string' || !STUDY_NAME.test(study)) throw new RangeError(`options.study: with redis, the study's name (letters, digits, '.', '_', '-'), got ${JSON.stringify(study)}`);
  if (typeof checkpoints !== 'string' || checkpoints === '') throw new TypeError('options.checkpoints: with redis, a folder every worker sees (shared storage) for the trials\' checkpoints and the study\'s data');
  return { target, prefix: p, study, checkpoints };
}

export async function openDistributedStudy(
  o: { target: RedisTarget; prefix: string; study: string; checkpoints: string },
  header: StudyHeader,
  sets: Record<'train' | 'validation', Dataset>,
  input: DenseInputConfig | TokenInputConfig,
): Promise<DistributedStudy> {
  await checkReachable(o.target);
  const client = studyClient(o.target.connection);
  try {
    const writer = `coordinator@${hostname()}:${process.pid}`;
    const { journal, state } = await RedisJournal.open(client, studyKeys(o.prefix, o.study), header, writer);
    mkdirSync(o.checkpoints, { recursive: true });
    const path = join(o.checkpoints, `${o.study}.data`);
    const sha256 = await writeStudyData(path, sets, input);
    return { target: o.target, prefix: o.prefix, client, journal, state, data: { path, sha256 } };
  } catch (e) {
    client.disconnect();
    throw e;
  }
}
