/**
 * Redis for the work queue: the URL checked (a malformed one is a usage error), the server
 * reached within a timeout before anything else (a dead server is one clear error, never a
 * hang), and BullMQ loaded only here, when a `queue` command runs: library users who never
 * touch the queue do not load it.
 */
import type { ConnectionOptions } from 'bullmq';

export class QueueUsageError extends Error {}
export class QueueRuntimeError extends Error {}

export const DEFAULT_PREFIX = 'rnn-node';
/** The BullMQ queue every rnn-node job's chunks go through (within the prefix). */
export const QUEUE_NAME = 'predict';
/** How long to wait for Redis to answer before giving up. */
export const CONNECT_TIMEOUT_MS = 5000;

export interface RedisTarget {
  url: string;
  connection: ConnectionOptions;
}

/** redis://[user:password@]host[:port][/db] or rediss:// (TLS). */
export function parseRedisUrl(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new QueueUsageError(`--redis expects a URL like redis://host:6379, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new QueueUsageError(`--redis expects a redis:// or rediss:// URL, got ${JSON.stringify(text)}`);
  if (!url.hostname) throw new QueueUsageError(`--redis ${JSON.stringify(text)} names no host`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueUsageError(`--redis ${JSON.stringify(text)}: the database must be a number, got ${JSON.stringify(url.pathname.slice(1))}`);
  return {
    url: `${url.protocol}//${url.hostname}:${port}/${db}`,
    connection: {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      db,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
      connectTimeout: CONNECT_TIMEOUT_MS,
      // BullMQ's workers need commands to wait across reconnects instead of failing.
      maxRetriesPerRequest: null,
    },
  };
}

/** BullMQ, loaded on first use. */
export function bullmq(): typeof import('bullmq') {
  return require('bullmq') as typeof import('bullmq');
}

/** Pings the server once, within CONNECT_TIMEOUT_MS; throws a one-line QueueRuntimeError. */
export async function checkReachable(target: RedisTarget): Promise<void> {
  const { default: Redis } = require('ioredis') as typeof import('ioredis');
  const client = new Redis({ ...(target.connection as object), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, ...) says more than connect()'s "Connection is closed".
  let socketError: Error | undefined;
  client.on('error', (e: Error) => {
    socketError ??= e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (e) {
    throw new QueueRuntimeError(`cannot reach Redis at ${target.url}: ${(socketError ?? (e as Error)).message.split('\n')[0]}`);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** A plain client for the job metadata, whose commands fail (instead of waiting) when Redis is gone. */
export function metaClient(target: RedisTarget): import('ioredis').default {
  const { default: Redis } = require('ioredis') as typeof import('ioredis');
  const client = new Redis({ ...(target.connection as object), maxRetriesPerRequest: 2, retryStrategy: (times: number) => (times > 5 ? null : 200 * times) });
  client.on('error', () => undefined); // surfaced by the commands
  return client;
}
