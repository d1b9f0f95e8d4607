/**
 * A study's progress on stderr. Every trial that ends (or finishes a rung) gets one line; on a
 * TTY a bar under those lines shows how much of the budget is spent (the largest share of its
 * seconds, trials or epochs), the time left, the trials and the best value so far, redrawn
 * each second and whenever a trial reports.
 */
import type { TuneBudget } from '../tune/tune';
import type { TrialRecord } from '../tune/types';

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(s % 60).padStart(2, '0')}`;
}

export interface StudyProgress {
  onTrial: (trial: Readonly<TrialRecord>) => void;
  /** Stops the redraws and clears the bar. */
  finish: () => void;
}

/** `earlierSeconds`: the study time of earlier runs of the study (a budget covers them all). */
export function studyProgress(budget: TuneBudget, objective: string, maximize: boolean, earlierSeconds: number, out: NodeJS.WriteStream = process.stderr): StudyProgress {
  const tty = Boolean(out.isTTY);
  const started = Date.now();
  const trials = new Map<number, TrialRecord>();
  const reported = new Set<string>();
  let barShown = false;
  const bar = () => {
    const seconds = earlierSeconds + (Date.now() - started) / 1000;
    const epochs = [...trials.values()].reduce((n, t) => n + t.epochs, 0);
    const shares = [
      budget.seconds !== undefined ? seconds / budget.seconds : 0,
      budget.trials !== undefined ? trials.size / budget.trials : 0,
      budget.epochs !== undefined ? epochs / budget.epochs : 0,
    ];
    const fraction = Math.min(1, Math.max(...shares));
    const width = 20;
    const filled = Math.round(fraction * width);
    const running = [...trials.values()].filter((t) => t.state === 'running').length;
    const values = [...trials.values()].filter((t) => t.value !== null && t.state !== 'failed' && t.state !== 'infeasible');
    const best = values.sort((a, b) => (maximize ? b.value! - a.value! : a.value! - b.value!))[0];
    const left = budget.seconds !== undefined ? ` ${clock(budget.seconds - seconds)} left` : '';
    return `[${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%${left} · ${trials.size} trials (${running} running) · ${epochs} epochs${best ? ` · best ${objective} ${best.value!.toFixed(4)} (trial ${best.id})` : ''}`;
  };
  const draw = () => {
    if (!tty) return;
    out.write(`\r${bar()}\x1b[K`);
    barShown = true;
  };
  const timer = tty ? setInterval(draw, 1000) : null;
  timer?.unref();
  return {
    onTrial(t) {
      trials.set(t.id, { ...t });
      if (t.state !== 'running' && t.state !== 'interrupted') {
        const key = `${t.id}:${t.state}:${t.epochs}`;
        if (!reported.has(key)) {
          reported.add(key);
          const value = t.value === null ? '' : ` ${objective} ${t.value.toFixed(4)}`;
          const line = `trial ${t.id}: ${t.state === 'paused' ? `rung ${t.rung} done` : t.state}${value} (${t.epochs} epochs, ${t.seconds.toFixed(1)} s)${t.error ? `: ${t.error}` : ''}`;
          out.write(`${tty && barShown ? '\r\x1b[K' : ''}${line}\n`);
        }
      }
      draw();
    },
    finish() {
      if (timer) clearInterval(timer);
      if (tty && barShown) out.write('\r\x1b[K');
    },
  };
}
