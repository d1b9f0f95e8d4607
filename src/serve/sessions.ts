/**
 * Streaming sessions of a server: each a model stream (SequenceStream) on the model version
 * it began with, found by a random id, closed after `ttlMs` without a push. Their number is
 * bounded; past it, opening one is refused (429).
 */
import { randomUUID } from 'node:crypto';
import type { SequenceStream } from '../classifier/sequence-stream';
import type { ModelVersion } from './models';

export interface Session {
  id: string;
  version: ModelVersion;
  stream: SequenceStream;
  lastUsed: number;
  /** Pushes running or waiting on it. */
  pending: number;
  /** Deleted or expired while pushes ran: its version is let go when they end. */
  ended: boolean;
}

/** Pushes one session may have waiting at once; past it, 429. */
export const MAX_PENDING_PUSHES = 64;

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly closed: (session: Session) => void,
  ) {
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(50, Math.min(1000, ttlMs / 4))).unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  get full(): boolean {
    return this.#sessions.size >= this.max;
  }

  add(version: ModelVersion, stream: SequenceStream): Session {
    const session: Session = { id: randomUUID(), version, stream, lastUsed: Date.now(), pending: 0, ended: false };
    this.#sessions.set(session.id, session);
    return session;
  }

  get(id: string): Session | undefined {
    const s = this.#sessions.get(id);
    if (s) s.lastUsed = Date.now();
    return s;
  }

  delete(id: string): boolean {
    const s = this.#sessions.get(id);
    if (!s) return false;
    this.#sessions.delete(id);
    s.stream.close(); // pushes already made still finish
    s.ended = true;
    if (s.pending === 0) this.closed(s);
    return true;
  }

  /** Runs one push on the session: counted, so the session is neither swept nor let go
   * while it runs, and its idle time starts when it ends. */
  async push<T>(s: Session, work: () => Promise<T>): Promise<T> {
    s.pending++;
    try {
      return await work();
    } finally {
      s.pending--;
      s.lastUsed = Date.now();
      if (s.ended && s.pending === 0) this.closed(s);
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) if (s.pending === 0 && now - s.lastUsed > this.ttlMs) this.delete(s.id);
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const id of [...this.#sessions.keys()]) this.delete(id);
  }
}
