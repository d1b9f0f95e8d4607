/** The study's progress on stderr: a bar on a TTY, plain lines otherwise. */
import { describe, expect, it } from 'vitest';

import { studyProgress } from '../src/cli/tune-progress';
import type { TrialRecord } from '../src/tune/types';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { out: { isTTY, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

const trial = (id: number, state: TrialRecord['state'], value: number | null, epochs: number): TrialRecord => ({ id, state, params: { units: 8 }, value, epochs, rung: epochs > 0 ? 0 : -1, target: 0, seconds: epochs, curve: [] });

describe('tune progress', () => {
  it('draws the budget spent, the trials and the best value on a TTY, with trial lines above the bar', () => {
    const { out, text } = stream(true);
    const p = studyProgress({ trials: 4 }, 'valAccuracy', true, 0, out);
    p.onTrial(trial(0, 'running', 0.5, 1));
    p.onTrial(trial(0, 'paused', 0.6, 1));
    p.onTrial(trial(1, 'running', 0.7, 1));
    p.finish();
    const t = text();
    expect(t).toContain('trial 0: rung 0 done valAccuracy 0.6000 (1 epochs, 1.0 s)\n');
    expect(t).toMatch(/\[=+> +\]  50% · 2 trials \(1 running\) · 2 epochs · best valAccuracy 0\.7000 \(trial 1\)/);
    expect(t.endsWith('\r\x1b[K')).toBe(true);  // the bar cleared at the end
  });

  it('writes only the trial lines when stderr is not a terminal, each once; a time budget counts earlier runs', () => {
    const { out, text } = stream(false);
    const p = studyProgress({ seconds: 60 }, 'valLoss', false, 30, out);
    p.onTrial(trial(2, 'failed', null, 0));
    p.onTrial(trial(2, 'failed', null, 0));
    p.finish();
    expect(text()).toBe('trial 2: failed (0 epochs, 0.0 s)\n');
    const tty = stream(true);
    const q = studyProgress({ seconds: 60 }, 'valLoss', false, 30, tty.out);
    q.onTrial(trial(0, 'running', 0.4, 1));
    q.finish();
    expect(tty.text()).toMatch(/\[=+> +\]  50% 0:30 left/);
  });
});
