/**
 * The crash test of `rnn-node tune`: a study SIGKILLed from outside at 5 random moments
 * (seeded, so a failure can be replayed) and restarted each time, then run to its end. The
 * journal must show every trial started once, every rung and end recorded once, every
 * finished trial kept, and each interrupted trial resumed from its checkpoint: its next
 * epoch is the one it was killed in (the checkpoint before it) or the one after.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CLI } from './support/redis-server';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-tune-crash-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Event = { type: string; id?: number; epoch?: number; rung?: number; state?: string };
const events = (path: string): Event[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => { try { return [JSON.parse(l) as Event]; } catch { return []; } }) : []);

/** Runs the study; with `killAfterMs`, SIGKILLs it then. Resolves with its exit code or signal. */
function runStudy(killAfterMs: number | null): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'tune', '--data', 'records.jsonl', '--validation-split', '0.25', '--space', 'space.json', '--budget', '10 trials', '--min-epochs', '2', '--max-epochs', '8', '--eta', '2', '--sampler', 'tpe', '--seed', '4', '--threads', '1', '--study', 'study.jsonl', '--out', 'best.rnn', '--json'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe('rnn-node tune, killed and restarted', () => {
  it('SIGKILLed at 5 random moments: every finished trial kept, none run twice, the interrupted ones resumed from their checkpoints', async () => {
    let s = 20261207;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    // Enough work (about 10 s of training) that each kill falls mid-study.
    const lines = Array.from({ length: 6000 }, (_, i) => {
      const up = i % 2 === 1;
      return JSON.stringify({ sequence: Array.from({ length: 60 }, (_, t) => [+((up ? 1 : -1) * (t / 60) + 2 * (rand() - 0.5)).toFixed(2), +(rand() - 0.5).toFixed(2), +(rand() - 0.5).toFixed(2), +(rand() - 0.5).toFixed(2)]), label: up ? 'up' : 'down' });
    });
    writeFileSync(join(dir, 'records.jsonl'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'space.json'), JSON.stringify({ cell: { choice: ['lstm', 'gru'] }, units: { int: [64, 128] }, lr: { float: [0.002, 0.02], log: true }, 'batch-size': 32 }));
    const journal = join(dir, 'study.jsonl');
    // Sessions: the events of each run, in order (the kills fall between them).
    const sessions: Event[][] = [];
    let seen = 0;
    for (let k = 0; k < 5; k++) {
      const delay = 700 + Math.floor(rand() * 1300);
      const r = await runStudy(delay);
      const all = events(journal);
      sessions.push(all.slice(seen));
      seen = all.length;
      if (r.signal !== 'SIGKILL') throw new Error(`run ${k} ended before its kill at ${delay} ms (${r.code}): ${r.stderr}`);
    }
    const last = await runStudy(null);
    expect(last.code, last.stderr).toBe(0);
    const all = events(journal);
    sessions.push(all.slice(seen));
    expect(sessions.slice(0, 5).filter((x) => x.some((e) => e.type === 'epoch')).length).toBeGreaterThanOrEqual(3);

    const trials = [...new Set(all.filter((e) => e.type === 'trial').map((e) => e.id!))];
    expect(trials).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const id of trials) {
      expect(all.filter((e) => e.type === 'trial' && e.id === id)).toHaveLength(1);
      expect(all.filter((e) => e.type === 'end' && e.id === id).length).toBeLessThanOrEqual(1);
      const rungs = all.filter((e) => e.type === 'rung' && e.id === id).map((e) => e.rung);
      expect(new Set(rungs).size).toBe(rungs.length);
    }
    // Each trial cut off by a kill goes on where it was: from the checkpoint before the epoch
    // in progress (that epoch again) or after it, never from scratch.
    let resumed = 0;
    for (let k = 0; k < 5; k++) {
      for (const id of trials) {
        const mine = sessions[k].filter((e) => e.id === id && e.type !== 'trial' && e.type !== 'promote');
        // Cut off mid-rung: its last event in the killed run is an epoch (no rung or end after it).
        if (mine.length === 0 || mine.at(-1)!.type !== 'epoch') continue;
        const lastEpoch = mine.at(-1)!.epoch!;
        const next = sessions.slice(k + 1).map((x) => x.filter((e) => e.type === 'epoch' && e.id === id)).find((x) => x.length > 0);
        if (!next) continue;  // it had finished its rung (checkpoint saved) and was not promoted
        expect([lastEpoch, lastEpoch + 1]).toContain(next[0].epoch);
        resumed++;
      }
    }
    expect(resumed).toBeGreaterThan(0);
    const status = JSON.parse((await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'tune', 'status', '--study', 'study.jsonl', '--json'], { cwd: dir });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', () => resolve(out));
    })));
    expect(status.trials).toHaveLength(10);
    for (const t of status.trials) expect(['complete', 'pruned']).toContain(t.state);
  }, 300_000);
});
