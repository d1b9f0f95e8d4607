/**
 * A study is a journal: a JSONL file of events, each appended whole with one write and
 * fsynced before the study goes on, so a crash (SIGKILL, power loss) loses at most the line
 * being written. Reading it back replays the events into the trials (replay below); a torn last
 * line is cut off, and any other unreadable line is a StudyError naming the file and line.
 *
 *   {"type":"study", objective, direction, space, scheduler, sampler, seed, version: 1}  first
 *   {"type":"session", at}                              each run of the study
 *   {"type":"trial", id, params, specs, at}             a trial's parameters, once
 *   {"type":"measured", id, latencyMs?, modelBytes?}    its measured constraints
 *   {"type":"epoch", id, epoch, value, loss, valLoss?, valAccuracy?, seconds, at}
 *   {"type":"rung", id, rung, at}                       it completed a rung (checkpoint saved)
 *   {"type":"promote", id, rung, at}                    ASHA sent it on to a higher rung
 *   {"type":"end", id, state, error?, at}               complete, pruned, failed or infeasible
 *
 * A trial with no end whose last rung is its target waits for a promotion ('paused'); one
 * that was training when its process died is 'interrupted' and resumes from its checkpoint.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';

import { StudyError } from '../util/errors';
import type { ParamSpec } from './space';
import type { Direction, EpochRecord, Objective, TrialRecord } from './types';

/** What makes two runs the same study: reopening with a different one is refused. */
export interface StudyHeader {
  objective: Objective;
  direction: Direction;
  /** The declarative space, or null for define-by-run (its parameters are compared one by one). */
  space: unknown;
  scheduler: { scheduler: 'asha' | 'none'; minEpochs: number; maxEpochs: number; eta: number; patience: number };
  sampler: string;
  seed: number;
}

export type StudyEvent =
  | ({ type: 'study'; version: 1 } & StudyHeader)
  | { type: 'session'; at: number }
  | { type: 'trial'; id: number; params: TrialRecord['params']; specs: Record<string, ParamSpec>; at: number }
  | { type: 'measured'; id: number; latencyMs?: number; modelBytes?: number }
  | ({ type: 'epoch'; id: number; at: number } & EpochRecord)
  | { type: 'rung'; id: number; rung: number; at: number }
  | { type: 'promote'; id: number; rung: number; at: number }
  | { type: 'end'; id: number; state: 'complete' | 'pruned' | 'failed' | 'infeasible'; error?: string; at: number };

export interface StudyState {
  trials: Map<number, TrialRecord>;
  /** Every parameter's distribution, as the study's trials asked for them. */
  specs: Map<string, ParamSpec>;
  /** Wall-clock seconds of the study's runs before the current one, summed. */
  closedSeconds: number;
  /** When the current run began (its session event), and the latest event time since. */
  sessionStart: number | null;
  lastAt: number;
}

/** An empty study. */
export function emptyState(): StudyState {
  return { trials: new Map(), specs: new Map(), closedSeconds: 0, sessionStart: null, lastAt: 0 };
}

/**
 * Study time at the wall-clock moment `at`: the seconds of earlier runs plus this run's so
 * far. A run's time is from its session line to its last event: the gap before the next run
 * (the machine off, the study paused) is no study time.
 */
export function studySeconds(state: StudyState, at: number): number {
  return state.closedSeconds + (state.sessionStart === null ? 0 : Math.max(0, at - state.sessionStart) / 1000);
}

/** Study time of every run so far, up to the last event. */
export const elapsedSeconds = (state: StudyState): number => studySeconds(state, state.lastAt);

/** Applies one event to the trials (replay, and the live study after it journals one). */
export function applyEvent(state: StudyState, e: StudyEvent): void {
  const get = (id: number) => {
    const t = state.trials.get(id);
    if (!t) throw new StudyError(`study journal: an event for trial ${id} before the trial itself`);
    return t;
  };
  if (e.type === 'session') {
    state.closedSeconds = elapsedSeconds(state);
    state.sessionStart = state.lastAt = e.at;
    return;
  }
  if ('at' in e && typeof e.at === 'number') state.lastAt = Math.max(state.lastAt, e.at);
  switch (e.type) {
    case 'trial':
      state.trials.set(e.id, { id: e.id, state: 'interrupted', params: e.params, value: null, epochs: 0, rung: -1, target: 0, seconds: 0, curve: [], startedAt: studySeconds(state, e.at) });
      for (const [name, spec] of Object.entries(e.specs)) if (!state.specs.has(name)) state.specs.set(name, spec);
      break;
    case 'measured':
      get(e.id).measured = { ...(e.latencyMs !== undefined ? { latencyMs: e.latencyMs } : {}), ...(e.modelBytes !== undefined ? { modelBytes: e.modelBytes } : {}) };
      break;
    case 'epoch': {
      const t = get(e.id);
      const { type: _type, id: _id, at: _at, ...record } = e;
      t.curve[e.epoch - 1] = { ...record, studySeconds: studySeconds(state, e.at) };
      t.curve.length = e.epoch;  // a resumed trial re-runs the epochs after its checkpoint
      t.epochs = e.epoch;
      t.value = e.value;
      t.seconds = t.curve.reduce((sum, r) => sum + r.seconds, 0);
      break;
    }
    case 'rung':
      get(e.id).rung = e.rung;
      break;
    case 'promote':
      get(e.id).target = e.rung;
      break;
    case 'end': {
      const t = get(e.id);
      t.state = e.state;
      if (e.error !== undefined) t.error = e.error;
      break;
    }
    default:
      break;
  }
}

/** Replays events (after the header) into trials; what was not ended waits for a promotion
 * (paused at its target rung) or was interrupted mid-training. */
export function replay(events: readonly StudyEvent[]): StudyState {
  const state = emptyState();
  for (const e of events) applyEvent(state, e);
  for (const t of state.trials.values()) {
    if (t.state === 'interrupted' && t.rung >= 0 && t.rung === t.target) t.state = 'paused';
  }
  return state;
}

/** How a stored header differs from this run's, or null. */
export function headerDifference(stored: StudyHeader, wanted: StudyHeader): string | null {
  if (stored.objective !== wanted.objective || stored.direction !== wanted.direction) {
    return `its objective is ${stored.objective} (${stored.direction}), not ${wanted.objective} (${wanted.direction})`;
  }
  const a = JSON.stringify(stored.scheduler), b = JSON.stringify(wanted.scheduler);
  if (a !== b) return `its scheduler is ${a}, not ${b}`;
  if ((stored.space === null) !== (wanted.space === null)) return `its space is ${stored.space === null ? 'define-by-run' : 'declarative'}`;
  if (stored.space !== null) {
    const s = stored.space as Record<string, unknown>, w = wanted.space as Record<string, unknown>;
    for (const key of new Set([...Object.keys(s), ...Object.keys(w)])) {
      const x = JSON.stringify(s[key]), y = JSON.stringify(w[key]);
      if (x !== y) return `its space has ${key} = ${x ?? 'nothing'}, this one ${y ?? 'nothing'}`;
    }
  }
  return null;
}

/**
 * The events of a journal file, the header first (checked). `repair`: cut a torn last line off
 * the file (a writer opening it); else it is only skipped (a reader).
 */
function readEvents(path: string, repair: boolean): StudyEvent[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new StudyError(`${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (bytes.length === 0) return [];
  // Whole lines only: a torn last line (a crash mid-write) is not an event. Bytes, not text:
  // the cut must fall on the file's own last newline.
  const whole = bytes.lastIndexOf(0x0a) + 1;
  const lines = bytes.subarray(0, whole).toString('utf8').split('\n');
  lines.pop();  // after the last newline
  // Blank lines (a hand edit) are skipped; the others keep their line numbers for errors.
  const events = lines.flatMap((line, i) => (line.trim().length === 0 ? [] : [checkEvent(path, i + 1, line)]));
  // A file that does not start with a study header is not a journal: refused, and left as it
  // is (no repair of somebody else's file).
  if (events.length === 0 || events[0].type !== 'study' || (events[0] as { version?: number }).version !== 1) {
    throw new StudyError(`${path}: not a study journal (its first line is no study header)`);
  }
  if (repair && whole < bytes.length) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, whole);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return events;
}

const isCount = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 1e9;

/** One journal line as an event, its fields checked (replay trusts them): StudyError naming
 * the line otherwise. */
function checkEvent(path: string, line: number, text: string): StudyEvent {
  let e: unknown;
  try {
    e = JSON.parse(text);
  } catch {
    throw new StudyError(`${path}:${line}: not a study journal line`);
  }
  return checkEventObject(`${path}:${line}`, e);
}

/** A stored header's fields: what replay, ASHA and the report use (a tampered one is refused). */
function checkHeader(e: Record<string, unknown>): boolean {
  const s = e.scheduler as Record<string, unknown> | undefined;
  return (
    ['valAccuracy', 'valLoss', 'valMacroF1'].includes(e.objective as string) &&
    (e.direction === 'maximize' || e.direction === 'minimize') &&
    typeof s === 'object' && s !== null &&
    (s.scheduler === 'asha' || s.scheduler === 'none') &&
    isCount(s.minEpochs, 1) && isCount(s.maxEpochs, 1) && (s.minEpochs as number) <= (s.maxEpochs as number) &&
    isCount(s.eta, 2) && isCount(s.patience, 0) && typeof e.sampler === 'string' && Number.isSafeInteger(e.seed) && (e.seed as number) >= 0
  );
}

/** A parsed event, its fields checked: StudyError naming `where` otherwise. */
export function checkEventObject(where: string, value: unknown): StudyEvent {
  const bad = () => new StudyError(`${where}: not a study journal line`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad();
  const e = value as Record<string, unknown>;
  if (typeof e.type !== 'string') throw bad();
  const plain = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const finiteOrNaN = (v: unknown) => typeof v === 'number' || v === null;
  const ok = (() => {
    switch (e.type) {
      case 'study': return e.version === 1 && checkHeader(e);
      case 'session': return typeof e.at === 'number';
      case 'trial': return isCount(e.id, 0) && plain(e.params) && plain(e.specs);
      case 'measured': return isCount(e.id, 0);
      case 'epoch': return isCount(e.id, 0) && isCount(e.epoch, 1) && finiteOrNaN(e.value) && typeof e.seconds === 'number';
      case 'rung': case 'promote': return isCount(e.id, 0) && isCount(e.rung, 0);
      case 'end': return isCount(e.id, 0) && ['complete', 'pruned', 'failed', 'infeasible'].includes(e.state as string);
      default: return false;
    }
  })();
  if (!ok) throw bad();
  return e as unknown as StudyEvent;
}

/**
 * A study's state from its events (the header first), refusing another study's: StudyError
 * naming the difference. `source` names the journal in the message.
 */
export function openState(source: string, events: readonly StudyEvent[], header: StudyHeader): StudyState {
  if (events.length > 0) {
    const difference = headerDifference(events[0] as StudyHeader, header);
    if (difference) throw new StudyError(`${source} is another study: ${difference}`);
  }
  return replay(events.slice(1));
}

/** A study as its journal holds it (rnn-node tune status): the header and the trials. */
export function readStudy(path: string): { header: StudyHeader; state: StudyState } {
  const events = readEvents(path, false);
  if (events.length === 0) throw new StudyError(`${path}: an empty study journal`);
  const { type: _type, version: _version, ...header } = events[0] as { type: 'study'; version: 1 } & StudyHeader;
  return { header, state: replay(events.slice(1)) };
}

/** The study's journal file, open for appending. */
export class Journal {
  private constructor(private readonly path: string, private fd: number | null) {}

  /**
   * Opens (or creates) the journal at `path` for a study with `header`: returns it with the
   * earlier events replayed. Refuses another study's file, naming the difference.
   */
  static open(path: string, header: StudyHeader): { journal: Journal; state: StudyState } {
    const events = existsSync(path) && statSync(path).size > 0 ? readEvents(path, true) : [];
    const state = openState(path, events, header);
    let fd: number;
    try {
      fd = openSync(path, 'a');
    } catch (e) {
      throw new StudyError(`${path}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const journal = new Journal(path, fd);
    if (events.length === 0) journal.append({ type: 'study', version: 1, ...header });
    return { journal, state };
  }

  /** Appends one event: one write of the whole line, then fsync. */
  append(event: StudyEvent): void {
    if (this.fd === null) throw new StudyError(`${this.path}: the journal is closed`);
    writeSync(this.fd, `${JSON.stringify(event)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
