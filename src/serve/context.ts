/** What `rnn-node serve` is started with, and what its route handlers share (server.ts makes it). */
import type { FastifyReply } from 'fastify';
import type { ModelRegistry, ModelSpec, ModelVersion } from './models';
import type { ServerMetrics } from './metrics';
import type { SessionStore } from './sessions';

export interface ServeOptions {
  models: ModelSpec[];
  host: string;
  port: number;
  maxBatchSize: number;
  maxDelayMs: number;
  /** Requests in flight (queued or running) past which new ones get 429. */
  maxQueue: number;
  requestTimeoutMs: number;
  bodyLimit: number;
  sessionTtlMs: number;
  maxSessions: number;
  logLevel: string;
}

/** What each route handler needs: the registry, sessions, metrics, admission. */
export interface ServerContext {
  registry: ModelRegistry;
  sessions: SessionStore;
  metrics: ServerMetrics;
  options: ServeOptions;
  /** Runs `work` as one admitted request on a model (by name: the version serving now) or a
   * session's version: 429 past the queue bound, 504 past the deadline
   * (its signal aborts what is still waiting). The model version is held meanwhile. */
  admit<T>(reply: FastifyReply, target: string | ModelVersion, work: (v: ModelVersion, signal: AbortSignal) => Promise<T>): Promise<T>;
}

