/**
 * A distributed study's journal: a Redis list of events, appended with RPUSH (atomic, in one
 * order every reader sees), by the study's coordinator (its decisions: trials, promotions)
 * and by the workers (what happened: epochs, rungs, ends). Each entry is
 * `{"w": writer, "e": event}`, so a process can tell its own events from the others' and a
 * reader can see which worker trained what. The first entry is the study's header, pushed
 * only into an empty list (a Lua check), so two coordinators cannot both start a study.
 *
 *   <prefix>:tune:<study>:events   the list
 *   <prefix>:tune:<study>:stop     set while the study's budget is spent: workers stop at their next epoch end
 *   <prefix>:tune:<study>:once     a hash of the results recorded once (a rung reached, a trial's end)
 *   <prefix>:tune:<study>:coordinator   the running coordinator's lease
 */
import type Redis from 'ioredis';

import { StudyError } from '../../util/errors';
import { checkEventObject, openState, type StudyEvent, type StudyHeader, type StudyState } from '../journal';

export const STUDY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function studyKeys(prefix: string, study: string): { events: string; stop: string; once: string; lease: string } {
  const base = `${prefix}:tune:${study}`;
  return { events: `${base}:events`, stop: `${base}:stop`, once: `${base}:once`, lease: `${base}:coordinator` };
}

/**
 * Pushes a worker's event if it still holds its job's lock (KEYS[3], BullMQ's, holding the
 * token ARGV[2]): 1 pushed, 0 already recorded once (ARGV[3] a field of the `once` hash, or ''
 * for an event that may repeat), -1 the lock is lost (another worker has the job now).
 */
export const PUSH_AS_HOLDER = `if redis.call('GET', KEYS[3]) ~= ARGV[2] then return -1 end
if ARGV[3] ~= '' and redis.call('HSETNX', KEYS[2], ARGV[3], '1') == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1`;

/** A Redis client for a study: it keeps reconnecting for about a minute before commands fail. */
export function studyClient(connection: object): Redis {
  const { default: IORedis } = require('ioredis') as typeof import('ioredis');
  const client = new IORedis({ ...connection, maxRetriesPerRequest: 30, retryStrategy: (times: number) => (times > 30 ? null : Math.min(2000, 200 * times)) });
  client.on('error', () => undefined);  // surfaced by the commands
  return client;
}

// A new study (an empty list) also forgets the once-markers of any earlier study of its name.
const PUSH_HEADER = "if redis.call('LLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) return redis.call('RPUSH', KEYS[1], ARGV[1]) else return 0 end";

/** The entries from `start` on, checked: StudyError naming the entry otherwise. */
async function readEntries(client: Redis, key: string, start: number): Promise<{ w: string; e: StudyEvent }[]> {
  const raw = await client.lrange(key, start, -1);
  return raw.map((text, i) => {
    let entry: { w?: unknown; e?: unknown };
    try {
      entry = JSON.parse(text) as typeof entry;
    } catch {
      throw new StudyError(`${key}[${start + i}]: not a study journal entry`);
    }
    if (typeof entry !== 'object' || entry === null || typeof entry.w !== 'string') throw new StudyError(`${key}[${start + i}]: not a study journal entry`);
    return { w: entry.w, e: checkEventObject(`${key}[${start + i}]`, entry.e) };
  });
}

export class RedisJournal {
  #offset: number;
  #writes: Promise<unknown> = Promise.resolve();
  #failure: Error | null = null;

  private constructor(private readonly client: Redis, readonly key: string, readonly writer: string, offset: number) {
    this.#offset = offset;
  }

  /** Opens (or starts) the study in the list at `key`: its state replayed, another study's refused. */
  static async open(client: Redis, keys: { events: string; once: string }, header: StudyHeader, writer: string): Promise<{ journal: RedisJournal; state: StudyState }> {
    const key = keys.events;
    await client.eval(PUSH_HEADER, 2, key, keys.once, JSON.stringify({ w: writer, e: { type: 'study', version: 1, ...header } }));
    const entries = await readEntries(client, key, 0);
    if (entries.length === 0 || entries[0].e.type !== 'study') throw new StudyError(`${key}: not a study journal (its first entry is no study header)`);
    const state = openState(key, entries.map((x) => x.e), header);
    return { journal: new RedisJournal(client, key, writer, entries.length), state };
  }

  /** Reads a study's header and state (tune status). */
  static async read(client: Redis, key: string): Promise<{ header: StudyHeader; state: StudyState }> {
    const entries = await readEntries(client, key, 0);
    if (entries.length === 0) throw new StudyError(`${key}: no such study in Redis`);
    if (entries[0].e.type !== 'study') throw new StudyError(`${key}: not a study journal`);
    const { type: _type, version: _version, ...header } = entries[0].e as { type: 'study'; version: 1 } & StudyHeader;
    return { header, state: openState(key, entries.map((x) => x.e), header) };
  }

  /** Queues an event's RPUSH (in call order); flush() waits for it. The caller applies it. */
  append(event: StudyEvent): void {
    const entry = JSON.stringify({ w: this.writer, e: event });
    this.#writes = this.#writes.then(() => this.client.rpush(this.key, entry)).catch((e: Error) => {
      this.#failure ??= new StudyError(`${this.key}: an event could not be written to Redis (${e.message.split('\n')[0]})`);
    });
  }

  /** Every queued event is in Redis (or the first failure is thrown). */
  async flush(): Promise<void> {
    await this.#writes;
    if (this.#failure) throw this.#failure;
  }

  /** The other writers' events since the last sync, in the list's order. */
  async sync(): Promise<StudyEvent[]> {
    await this.flush();
    const entries = await readEntries(this.client, this.key, this.#offset);
    this.#offset += entries.length;
    return entries.filter((x) => x.w !== this.writer).map((x) => x.e);
  }

  async close(): Promise<void> {
    await this.#writes;
  }
}
