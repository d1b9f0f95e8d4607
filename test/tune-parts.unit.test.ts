/** The tuner's parts without training: the search space and its checks, the JSON space, the
 * samplers, ASHA's rungs and promotions, and the journal (replay, torn lines, another study). */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nextPromotion, rungEpochs, type SchedulerOptions } from '../src/tune/asha';
import { jsonSpaceFunction, parseJsonSpace } from '../src/tune/json-space';
import { elapsedSeconds, Journal, type StudyHeader } from '../src/tune/journal';
import { gridSampler, randomSampler, tpeSampler, type Scored } from '../src/tune/samplers';
import { TrialRecorder, rangeSpec, type ParamSpec } from '../src/tune/space';
import type { TrialRecord } from '../src/tune/types';
import { StudyError } from '../src/util/errors';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-tune-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const recorder = (suggest = (_n: string, s: ParamSpec) => (s.kind === 'choice' ? s.values[0] : s.low)) => new TrialRecorder(0, suggest, new Map());

describe('search space', () => {
  it('refuses empty, inverted and non-positive log ranges, a choice of nothing, and bad steps, naming the parameter', () => {
    const t = recorder();
    expect(() => t.int('units', 64, 32)).toThrow(/units.*empty or inverted/);
    expect(() => t.float('lr', 0, 1e-2, { log: true })).toThrow(/lr.*log range must lie above 0/);
    expect(() => t.choice('cell', [])).toThrow(/cell.*choice of nothing/);
    expect(() => t.int('layers', 1, 3, { step: 0.5 })).toThrow(/layers.*integer/);
    expect(() => t.float('dropout', 0, 0.5, { log: true, step: 0.1 })).toThrow(RangeError);
    expect(() => t.float('x', Number.NaN, 1)).toThrow(TypeError);
  });

  it('answers a name once per trial, and refuses it with another distribution', () => {
    let calls = 0;
    const t = recorder(() => ++calls);
    expect(t.int('units', 1, 9)).toBe(1);
    expect(t.int('units', 1, 9)).toBe(1);
    expect(calls).toBe(1);
    expect(() => t.int('units', 1, 10)).toThrow(/asked for a parameter twice/);
  });

  it("refuses a distribution that differs from the study's, with a StudyError naming both", () => {
    const known = new Map<string, ParamSpec>([['units', rangeSpec('int', 'units', 32, 256, { log: true })]]);
    const t = new TrialRecorder(3, () => 64, known);
    const e = (() => { try { t.int('units', 16, 256, { log: true }); } catch (err) { return err as Error; } return null; })();
    expect(e).toBeInstanceOf(StudyError);
    expect(e?.message).toMatch(/parameter 'units' was .*"low":32.* and is now .*"low":16/);
  });
});

describe('JSON space', () => {
  it('refuses unknown keys, epochs, empty ranges and values out of range, naming the key', () => {
    expect(() => parseJsonSpace({ unit: 4 })).toThrow(/unknown key 'unit'/);
    expect(() => parseJsonSpace({ epochs: { int: [1, 5] } })).toThrow(/'epochs'.*scheduler owns it/);
    expect(() => parseJsonSpace({ units: { int: [64, 32] } })).toThrow(/units.*empty or inverted/);
    expect(() => parseJsonSpace({ lr: { float: [0, 1], log: true } })).toThrow(/lr.*above 0/);
    expect(() => parseJsonSpace({ cell: { choice: [] } })).toThrow(/cell.*choice of nothing/);
    expect(() => parseJsonSpace({ cell: { choice: ['lstm', 'transformer'] } })).toThrow(/cell.*lstm, gru, rnn/);
    expect(() => parseJsonSpace({ dropout: 1.5 })).toThrow(/dropout.*\[0, 1\)/);
    expect(() => parseJsonSpace({ units: { int: [8, 16], bogus: 1 } })).toThrow(/unknown field 'bogus'/);
    expect(() => parseJsonSpace([])).toThrow(TypeError);
    expect(() => parseJsonSpace({})).toThrow(/no parameters/);
  });

  it('turns keys named like train\'s flags into a config and fit options; plain values are fixed', () => {
    const space = parseJsonSpace({ cell: 'gru', units: { int: [8, 8] }, layers: 2, bidirectional: true, lr: 0.003, 'batch-size': 64, schedule: 'cosine', dropout: { float: [0.25, 0.25] } });
    const settings = jsonSpaceFunction(space)(recorder());
    expect(settings.config.layers).toEqual([
      { cell: 'gru', units: 8, bidirectional: true, dropout: 0.25 },
      { cell: 'gru', units: 8, bidirectional: true, dropout: 0.25 },
    ]);
    expect(settings.fit).toMatchObject({ batchSize: 64, optimizer: { type: 'adam', learningRate: 0.003 }, schedule: { type: 'cosine' } });
  });
});

describe('samplers', () => {
  const specs: [string, ParamSpec][] = [
    ['units', rangeSpec('int', 'units', 16, 256, { log: true })],
    ['lr', rangeSpec('float', 'lr', 1e-4, 1e-1, { log: true })],
    ['dropout', rangeSpec('float', 'dropout', 0, 0.5, { step: 0.1 })],
  ];
  const propose = (seed: number, trial: number) => Object.fromEntries(specs.map(([n, s]) => [n, randomSampler(seed).suggest(trial, n, s, [])]));

  it('random: the same seed proposes the same configurations, in any order; values stay in range and on the step', () => {
    const a = Array.from({ length: 20 }, (_, i) => propose(7, i));
    const b = Array.from({ length: 20 }, (_, i) => propose(7, 19 - i)).reverse();
    expect(a).toEqual(b);
    expect(Array.from({ length: 20 }, (_, i) => propose(8, i))).not.toEqual(a);
    for (const p of a) {
      expect(Number.isInteger(p.units) && (p.units as number) >= 16 && (p.units as number) <= 256).toBe(true);
      expect((p.lr as number) >= 1e-4 && (p.lr as number) <= 1e-1).toBe(true);
      expect([0, 0.1, 0.2, 0.3, 0.4, 0.5]).toContain(p.dropout);
    }
  });

  it('grid: every combination exactly once', () => {
    const grid = gridSampler([
      ['cell', { kind: 'choice', values: ['lstm', 'gru'] }],
      ['layers', rangeSpec('int', 'layers', 1, 3)],
    ]);
    expect(grid.size).toBe(6);
    const seen = Array.from({ length: 6 }, (_, t) => `${grid.suggest(t, 'cell', { kind: 'choice', values: ['lstm', 'gru'] }, [])}/${grid.suggest(t, 'layers', rangeSpec('int', 'layers', 1, 3), [])}`);
    expect(new Set(seen).size).toBe(6);
    expect(() => gridSampler([['lr', rangeSpec('float', 'lr', 1e-4, 1e-2, { log: true })]])).toThrow(/'lr' has no finite set/);
  });

  it('tpe: after its random start, proposes near the good region far more often than random search', () => {
    // Score peaks at lr = 1e-3 (log scale), units irrelevant.
    const lrSpec = rangeSpec('float', 'lr', 1e-5, 1, { log: true });
    const objective = (lr: number) => -Math.abs(Math.log10(lr) + 3);
    const run = (sampler: ReturnType<typeof tpeSampler>) => {
      const finished: Scored[] = [];
      let near = 0;
      for (let t = 0; t < 60; t++) {
        const lr = sampler.suggest(t, 'lr', lrSpec, finished) as number;
        if (t >= 20 && Math.abs(Math.log10(lr) + 3) < 0.5) near++;
        finished.push({ params: { lr }, score: objective(lr) });
      }
      return near;
    };
    const tpe = run(tpeSampler(1)), random = run(randomSampler(1) as ReturnType<typeof tpeSampler>);
    expect(tpe).toBeGreaterThan(2 * random);
  });

  it('tpe: two good trials side by side do not collapse its proposals onto them', () => {
    // 12 finished trials; the best two have dropout 0.175 and 0.176. Proposals must still
    // spread over a good part of [0, 0.3], not repeat 0.175 (the bandwidth's floor is a share
    // of the range that shrinks only as evidence grows).
    const spec = rangeSpec('float', 'dropout', 0, 0.3);
    const bad = [0.01, 0.02, 0.04, 0.05, 0.08, 0.11, 0.23, 0.26, 0.28, 0.29];
    const finished: Scored[] = [0.175, 0.176].map((dropout) => ({ params: { dropout }, score: 1 })).concat(bad.map((dropout) => ({ params: { dropout }, score: 0 })));
    const proposals = Array.from({ length: 40 }, (_, t) => tpeSampler(3).suggest(100 + t, 'dropout', spec, finished) as number);
    const spread = Math.max(...proposals) - Math.min(...proposals);
    expect(spread).toBeGreaterThan(0.03);
    expect(proposals.filter((d) => Math.abs(d - 0.1755) < 0.002).length).toBeLessThan(20);
    // Still drawn to the good region, between the bad ones.
    expect(proposals.filter((d) => d > 0.11 && d < 0.23).length).toBeGreaterThan(20);
  });
});

describe('ASHA', () => {
  const o: SchedulerOptions = { scheduler: 'asha', minEpochs: 1, maxEpochs: 9, eta: 3, patience: 0 };
  const trial = (id: number, values: number[], rung: number, state: TrialRecord['state'] = 'paused'): TrialRecord => ({
    id, state, params: {}, value: values.at(-1) ?? null, epochs: values.length, rung, target: rung, seconds: 0,
    curve: values.map((value, e) => ({ epoch: e + 1, value, loss: 1, seconds: 1 })),
  });

  it('rungs at minEpochs·η^k up to maxEpochs; one rung without a scheduler', () => {
    expect(rungEpochs(o)).toEqual([1, 3, 9]);
    expect(rungEpochs({ ...o, minEpochs: 2, maxEpochs: 20 })).toEqual([2, 6, 18, 20]);
    expect(rungEpochs({ ...o, scheduler: 'none' })).toEqual([9]);
  });

  it('promotes the best waiting trial of the top 1/η at a rung, highest rung first; no promotion below η trials', () => {
    const score = (v: number) => v;
    expect(nextPromotion([trial(0, [0.5], 0), trial(1, [0.6], 0)], o, score)).toBeNull();
    const three = [trial(0, [0.5], 0), trial(1, [0.7], 0), trial(2, [0.6], 0)];
    expect(nextPromotion(three, o, score)).toEqual({ id: 1, rung: 1 });
    // Trial 1 already promoted (target 1, training): the next best is not in the top third.
    three[1] = { ...three[1], target: 1, state: 'running' };
    expect(nextPromotion(three, o, score)).toBeNull();
    // Minimising: the lowest value is promoted.
    expect(nextPromotion([trial(0, [0.5], 0), trial(1, [0.7], 0), trial(2, [0.6], 0)], o, (v) => -v)).toEqual({ id: 0, rung: 1 });
  });

  it('patience: a rung is judged on the best of the last patience + 1 epochs (a noisy dip does not sink a trial)', () => {
    const noisy = [trial(0, [0.9, 0.9, 0.2], 1), trial(1, [0.5, 0.5, 0.6], 1), trial(2, [0.4, 0.4, 0.5], 1)];
    expect(nextPromotion(noisy, o, (v) => v)?.id).toBe(1);
    expect(nextPromotion(noisy, { ...o, patience: 1 }, (v) => v)?.id).toBe(0);
  });
});

describe('journal', () => {
  const header: StudyHeader = { objective: 'valAccuracy', direction: 'maximize', space: { units: { int: [8, 64] } }, scheduler: { scheduler: 'asha', minEpochs: 1, maxEpochs: 9, eta: 3, patience: 0 }, sampler: 'tpe', seed: 0 };

  it('replays trials; a torn last line is cut off; a finished rung waits, an unfinished one was interrupted', () => {
    const path = join(dir, 'a.jsonl');
    const { journal } = Journal.open(path, header);
    journal.append({ type: 'session', at: 1000 });
    journal.append({ type: 'trial', id: 0, params: { units: 8 }, specs: {}, at: 1000 });
    journal.append({ type: 'epoch', id: 0, epoch: 1, value: 0.5, loss: 1, seconds: 2, at: 3000 });
    journal.append({ type: 'rung', id: 0, rung: 0, at: 3000 });
    journal.append({ type: 'trial', id: 1, params: { units: 16 }, specs: {}, at: 3000 });
    journal.append({ type: 'epoch', id: 1, epoch: 1, value: 0.6, loss: 1, seconds: 2, at: 5000 });
    journal.close();
    appendFileSync(path, '{"type":"epoch","id":1,"epo');
    const { journal: again, state } = Journal.open(path, header);
    again.close();
    expect(readFileSync(path, 'utf8').endsWith('}\n')).toBe(true);
    expect(state.trials.get(0)).toMatchObject({ state: 'paused', rung: 0, epochs: 1, value: 0.5 });
    expect(state.trials.get(1)).toMatchObject({ state: 'interrupted', rung: -1, epochs: 1 });
    expect(elapsedSeconds(state)).toBeCloseTo(4);
  });

  it('counts each run of a study from its session line to its last event, not the gap between runs', () => {
    const path = join(dir, 'sessions.jsonl');
    const { journal } = Journal.open(path, header);
    journal.append({ type: 'session', at: 0 });
    journal.append({ type: 'trial', id: 0, params: {}, specs: {}, at: 1000 });
    journal.append({ type: 'epoch', id: 0, epoch: 1, value: 0.5, loss: 1, seconds: 5, at: 5000 });
    journal.append({ type: 'session', at: 3_600_000 });  // an hour later
    journal.append({ type: 'epoch', id: 0, epoch: 2, value: 0.6, loss: 1, seconds: 2, at: 3_602_000 });
    journal.close();
    const { journal: reopened, state } = Journal.open(path, header);
    reopened.close();
    expect(elapsedSeconds(state)).toBeCloseTo(7);
    // Each epoch is placed on the study's own clock: 5 s into the first run, 2 s into the second.
    expect(state.trials.get(0)!.curve.map((e) => e.studySeconds)).toEqual([5, 7]);
    expect(state.trials.get(0)!.startedAt).toBe(1);
  });

  it('refuses a file that is not a journal and leaves it as it was; checks each event\'s fields', () => {
    const notJournal = join(dir, 'space.json');
    writeFileSync(notJournal, '{"units": {"int": [8, 64]}}');  // no newline: would be "torn"
    expect(() => Journal.open(notJournal, header)).toThrow(/not a study journal/);
    expect(readFileSync(notJournal, 'utf8')).toBe('{"units": {"int": [8, 64]}}');
    const badField = join(dir, 'bad-field.jsonl');
    writeFileSync(badField, `${JSON.stringify({ type: 'study', version: 1, ...header })}\n\n{"type":"epoch","id":0,"epoch":-1,"value":1,"seconds":1}\n`);
    expect(() => Journal.open(badField, header)).toThrow(/bad-field\.jsonl:3: not a study journal line/);
  });

  it('refuses another study, naming the difference, and a corrupt line, naming the line', () => {
    const path = join(dir, 'b.jsonl');
    Journal.open(path, header).journal.close();
    expect(() => Journal.open(path, { ...header, objective: 'valLoss', direction: 'minimize' })).toThrow(/another study: its objective is valAccuracy/);
    expect(() => Journal.open(path, { ...header, space: { units: { int: [8, 128] } } })).toThrow(StudyError);
    expect(() => Journal.open(path, { ...header, space: { units: { int: [8, 128] } } })).toThrow(/units = \{"int":\[8,64\]\}, this one \{"int":\[8,128\]\}/);
    writeFileSync(join(dir, 'c.jsonl'), `${JSON.stringify({ type: 'study', version: 1, ...header })}\nnot json\n`);
    expect(() => Journal.open(join(dir, 'c.jsonl'), header)).toThrow(/c\.jsonl:2: not a study journal line/);
  });
});
