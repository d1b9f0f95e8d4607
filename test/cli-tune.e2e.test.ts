/**
 * `rnn-node tune` as a user runs it: a JSON space on a text JSONL file, a study journal that a
 * second run continues, `tune status`, the best model's settings in `info`, and the usage
 * errors (exit 2, one stderr line naming the problem). Runs dist/cli.js (`npm run build:ts`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/util/random';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-cli-tune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 170_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// Two "languages" of made-up words: one of vowels a/o and consonants k/t/r, one of e/i and
// s/n/l. Learnable from characters in a few epochs; any hostile label is just a label.
const rng = new SeededRandom(4);
const word = (vowels: string, consonants: string) =>
  Array.from({ length: 4 + Math.floor(rng.next() * 5) }, (_, i) => (i % 2 ? vowels : consonants)[Math.floor(rng.next() * (i % 2 ? vowels : consonants).length)]).join('');
const lines = Array.from({ length: 600 }, (_, i) =>
  JSON.stringify(i % 2 ? { text: word('ao', 'ktr'), label: 'kato' } : { text: word('ei', 'snl'), label: '<script>alert(1)</script>' }));
writeFileSync(join(dir, 'words.jsonl'), lines.join('\n') + '\n');
writeFileSync(join(dir, 'space.json'), JSON.stringify({ cell: { choice: ['lstm', 'gru'] }, units: { int: [8, 24], log: true }, lr: { float: [0.003, 0.03], log: true }, 'batch-size': 32 }));

describe('rnn-node tune', () => {
  it('runs a study, continues it, reports it, and saves the best model with its settings', () => {
    const args = ['tune', '--data', 'words.jsonl', '--space', 'space.json', '--validation-split', '0.2', '--stratify', '--study', 'study.jsonl', '--out', 'best.rnn', '--max-epochs', '3', '--sampler', 'random', '--threads', '1'];
    const first = run([...args, '--budget', '4 trials', '--json']);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const result = JSON.parse(first.out);
    expect(result.trials).toHaveLength(4);
    expect(result.best.value).toBeGreaterThan(0.8);
    const second = run([...args, '--budget', '6 trials']);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/^6 trials in [\d.]+ s; best: trial \d+, valAccuracy [01]\.\d{4} after \d epochs$/m);
    expect(second.err).toMatch(/^trial 4: /m);
    // The first run's trials are not run again: each trial's epochs in the journal count up
    // once (a promoted one goes on from its checkpoint), and each trial is proposed once.
    const journal = readFileSync(join(dir, 'study.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(journal.filter((e) => e.type === 'trial').map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5]);
    for (let id = 0; id < 6; id++) {
      const epochs = journal.filter((e) => e.type === 'epoch' && e.id === id).map((e) => e.epoch);
      expect(epochs).toEqual(epochs.map((_: number, i: number) => i + 1));
    }

    const status = run(['tune', 'status', '--study', 'study.jsonl', '--json']);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.out);
    expect(s).toMatchObject({ study: 'study.jsonl', objective: 'valAccuracy', direction: 'maximize' });
    expect(s.trials.map((t: { id: number }) => t.id)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const t of s.trials) expect(['complete', 'pruned']).toContain(t.state);
    const table = run(['tune', 'status', '--study', 'study.jsonl']);
    expect(table.out.split('\n')[0]).toMatch(/^trial\s+state\s+valAccuracy\s+epochs\s+rung\s+seconds\s+params$/);

    const info = run(['info', 'best.rnn', '--json']);
    const tuned = JSON.parse(info.out).tune;
    expect(tuned).toMatchObject({ study: 'study.jsonl', trial: s.best.id, objective: 'valAccuracy' });
    expect(tuned.params).toEqual(s.best.params);
    expect(run(['info', 'best.rnn']).out).toMatch(/^tuned: {4}trial \d+ of study\.jsonl, valAccuracy/m);
    // The saved model reads raw text as train's would.
    const predicted = run(['predict', '--model', 'best.rnn', '--data', 'words.jsonl']);
    expect(predicted.code).toBe(0);
    expect(predicted.out.trim().split('\n')).toHaveLength(600);
  }, 170_000);

  it('usage errors: one stderr line, exit 2', () => {
    const base = ['tune', '--data', 'words.jsonl', '--validation-split', '0.2', '--out', 'x.rnn'];
    writeFileSync(join(dir, 'bad-key.json'), JSON.stringify({ unit: { int: [8, 16] } }));
    writeFileSync(join(dir, 'epochs.json'), JSON.stringify({ epochs: 5 }));
    writeFileSync(join(dir, 'inverted.json'), JSON.stringify({ units: { int: [64, 8] } }));
    writeFileSync(join(dir, 'log0.json'), JSON.stringify({ lr: { float: [0, 0.1], log: true } }));
    writeFileSync(join(dir, 'nothing.json'), JSON.stringify({ cell: { choice: [] } }));
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ units: { int: [8, 12] } }));
    const cases: [string[], RegExp][] = [
      [[...base, '--space', 'bad-key.json', '--budget', '2 trials'], /unknown key 'unit'/],
      [[...base, '--space', 'epochs.json', '--budget', '2 trials'], /'epochs'.*scheduler/],
      [[...base, '--space', 'inverted.json', '--budget', '2 trials'], /units.*empty or inverted/],
      [[...base, '--space', 'log0.json', '--budget', '2 trials'], /lr.*log range must lie above 0/],
      [[...base, '--space', 'nothing.json', '--budget', '2 trials'], /cell.*choice of nothing/],
      [[...base, '--space', 'space.json', '--budget', '0m'], /--budget takes/],
      [[...base, '--space', 'space.json', '--budget', 'soon'], /--budget takes/],
      [[...base, '--space', 'missing.json', '--budget', '1 trials'], /--space missing\.json: cannot be read/],
      [[...base, '--space', 'other.json', '--budget', '1 trials', '--study', 'study.jsonl', '--max-epochs', '3'], /another study: its space has cell = \{"choice":\["lstm","gru"\]\}, this one nothing/],
      [[...base, '--space', 'space.json', '--budget', '1 trials', '--study', 'study.jsonl'], /another study: its scheduler is .*"maxEpochs":3.*, not .*"maxEpochs":9/],
    ];
    for (const [args, pattern] of cases) {
      const r = run(args);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(pattern);
    }
    const noValidation = run(['tune', '--data', 'words.jsonl', '--space', 'space.json', '--budget', '1 trials', '--out', 'x.rnn']);
    expect(noValidation.code).toBe(2);
    expect(noValidation.err).toMatch(/--validation or --validation-split/);
    writeFileSync(join(dir, 'torn.jsonl'), 'not a journal\n');
    const corrupt = run(['tune', 'status', '--study', 'torn.jsonl']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.err).toMatch(/torn\.jsonl:1: not a study journal line/);
    expect(readFileSync(join(dir, 'torn.jsonl'), 'utf8')).toBe('not a journal\n');
  }, 170_000);
});
