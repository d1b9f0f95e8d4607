/**
 * The study report's numbers, on made-up trials whose answers are known: importance finds the
 * parameter that decides the objective, rungs count promotions, the retrain command quotes
 * what the shell would split.
 */
import { describe, expect, it } from 'vitest';

import { retrainCommand, shellWord } from '../src/cli/retrain-command';
import { TRAINING_DATA_FLAGS } from '../src/cli/training-data';
import type { StudyHeader } from '../src/tune/journal';
import type { ParamSpec } from '../src/tune/space';
import { parameterImportance, studyReportData } from '../src/tune/study-report-data';
import type { TrialRecord } from '../src/tune/types';

const header: StudyHeader = { objective: 'valAccuracy', direction: 'maximize', space: null, scheduler: { scheduler: 'asha', minEpochs: 1, maxEpochs: 9, eta: 3, patience: 0 }, sampler: 'random', seed: 0 };
const specs: Record<string, ParamSpec> = {
  units: { kind: 'int', low: 8, high: 256, log: true, step: 1 },
  cell: { kind: 'choice', values: ['lstm', 'gru'] },
  noise: { kind: 'float', low: 0, high: 1, log: false, step: null },
};

function trial(id: number, params: TrialRecord['params'], values: number[], extra: Partial<TrialRecord> = {}): TrialRecord {
  return { id, state: 'paused', params, value: values[values.length - 1] ?? null, epochs: values.length, rung: values.length >= 9 ? 2 : values.length >= 3 ? 1 : 0, target: 0, seconds: values.length, curve: values.map((value, i) => ({ epoch: i + 1, value, loss: 1, seconds: 1 })), ...extra };
}

describe('the study report data', () => {
  it('ranks first the parameter that decides the objective', () => {
    // cell decides (gru 0.9, lstm 0.6); units and noise are scattered around it.
    const trials = Array.from({ length: 12 }, (_, i) => trial(i, { units: 8 + ((i * 37) % 200), cell: i % 2 ? 'gru' : 'lstm', noise: ((i * 7) % 12) / 12 }, [(i % 2 ? 0.9 : 0.6) + (((i * 5) % 7) - 3) * 0.004]));
    const importance = parameterImportance(trials, header, specs)!;
    expect(importance[0].name).toBe('cell');
    expect(importance[0].share).toBeGreaterThan(0.8);
    expect(importance.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 9);
    // Too few trials: no claim.
    expect(parameterImportance(trials.slice(0, 5), header, specs)).toBeNull();
  });

  it('counts each rung\'s trials and promotions, and reports a waiting trial as pruned', () => {
    const trials = [
      trial(0, { cell: 'gru' }, [0.7, 0.8, 0.85], { target: 2, state: 'interrupted' }),  // promoted to rung 2, training
      trial(1, { cell: 'lstm' }, [0.6, 0.62, 0.63]),
      trial(2, { cell: 'lstm' }, [0.5]),
      trial(3, { cell: 'gru' }, [0.65], { target: 1, state: 'interrupted' }),
      trial(4, { cell: 'gru' }, [], { state: 'failed', rung: -1, error: 'diverged' }),
    ];
    const d = studyReportData({ title: 't', header, trials, specs: new Map(Object.entries(specs)), studySeconds: 10, complete: false, version: '0' });
    expect(d.rungs.map((r) => [r.epochs, r.reached, r.promoted])).toEqual([[1, 4, 3], [3, 2, 1], [9, 0, 0]]);
    expect(d.rungs[1].best).toBeCloseTo(0.85);  // at 3 epochs
    expect(d.trials.find((t) => t.id === 1)!.state).toBe('pruned');
    expect(d.best!.id).toBe(0);
  });

  it('writes a retrain command the shell reads back word for word', () => {
    expect(shellWord('data/train.jsonl')).toBe('data/train.jsonl');
    expect(shellWord("it's here")).toBe(`'it'\\''s here'`);
    expect(shellWord('$(rm -rf /)')).toBe(`'$(rm -rf /)'`);
    const values = { data: ['my data.jsonl'], 'validation-split': 0.1, stratify: true, format: 'auto', tokenize: 'char', 'min-frequency': 1, missing: 'error', lowercase: false, 'no-normalize': false };
    const t = trial(4, { cell: 'gru', units: 64, bidirectional: true, lr: 0.0031 }, [0.8, 0.9, 0.95]);
    const command = retrainCommand(TRAINING_DATA_FLAGS, values, { schedule: 'exponential', 'batch-size': 128, bucketing: false }, t, 10, 32);
    expect(command).toBe("rnn-node train --data 'my data.jsonl' --validation-split 0.1 --stratify --schedule exponential --batch-size 128 --cell gru --units 64 --bidirectional --lr 0.0031 --embedding 32 --schedule-gamma 0.9 --epochs 3 --seed 14 --out model.rnn");
  });
});
