/**
 * The study report's own charts, as static SVG like the training report's (report/chart.ts):
 * parallel coordinates of the parameters against the objective, and per-parameter importance
 * bars. d3-scale places the values (log axes, evenly spaced choices, a colour ramp); every
 * text from the study (parameter names and values are user input) goes through escapeHtml.
 */
import { escapeHtml as esc } from '../report/escape';
import { loadScales } from '../report/chart';
import type { ParamSpec } from './space';
import { showValue } from './study-report-data';
import type { TrialRecord } from './types';

const fixed = (v: number) => (Math.round(v * 10) / 10).toString();

export interface ParallelInput {
  specs: Record<string, ParamSpec>;
  /** Trials with their objective value (rung 0), drawn worst first so the best lie on top. */
  lines: { trial: TrialRecord; value: number }[];
  objective: string;
  direction: 'maximize' | 'minimize';
}

/** Parallel coordinates: one vertical axis per parameter and one for the objective; one polyline per trial. */
export async function parallelCoordinatesSvg(p: ParallelInput): Promise<string> {
  const { scaleLinear, scaleLog, scalePoint } = await loadScales();
  const names = Object.keys(p.specs).sort();
  const axes = [...names, p.objective];
  const step = 120, left = 70, top = 34, height = 260, width = left * 2 + step * Math.max(1, axes.length - 1);
  const bottom = top + height;
  const values = p.lines.map((l) => l.value);
  const lo = Math.min(...values), hi = Math.max(...values);
  const objective = scaleLinear().domain(lo === hi ? [lo - 1e-3, hi + 1e-3] : [lo, hi]).range([bottom, top]).nice();
  // Light for the worst, dark for the best, whichever the direction.
  const ramp = scaleLinear<string>().domain(p.direction === 'maximize' ? [lo, hi] : [hi, lo]).range(['#cfe3f1', '#08306b']);
  type Axis = { y: (v: unknown) => number | undefined; ticks: { y: number; label: string }[] };
  const axisOf = (name: string): Axis => {
    const spec = p.specs[name];
    if (spec.kind === 'choice') {
      const keys = spec.values.map((v) => JSON.stringify(v));
      const s = scalePoint<string>().domain(keys).range([bottom, top]).padding(0.5);
      return { y: (v) => s(JSON.stringify(v)), ticks: spec.values.map((v, i) => ({ y: s(keys[i])!, label: showValue(v) })) };
    }
    const s = spec.log ? scaleLog().domain([spec.low, spec.high]).range([bottom, top]) : scaleLinear().domain(spec.low === spec.high ? [spec.low - 1, spec.high + 1] : [spec.low, spec.high]).range([bottom, top]);
    const ticks = s.ticks(spec.log ? 4 : 5).slice(0, 8);
    const format = s.tickFormat(spec.log ? 4 : 5, spec.log ? '~g' : undefined);
    return { y: (v) => (typeof v === 'number' ? s(v) : undefined), ticks: ticks.map((t) => ({ y: s(t), label: format(t) })) };
  };
  const scales: Axis[] = [...names.map(axisOf), { y: (v) => objective(v as number), ticks: objective.ticks(5).map((t) => ({ y: objective(t), label: objective.tickFormat(5)(t) })) }];
  const x = (i: number) => left + i * step;
  const parts: string[] = [];
  parts.push(`<svg class="chart parallel" data-chart="parallel" data-lines="${p.lines.length}" viewBox="0 0 ${width} ${bottom + 30}" role="img" aria-labelledby="parallel-title" preserveAspectRatio="xMidYMid meet">`);
  parts.push(`<title id="parallel-title">Parameters against ${esc(p.objective)}</title>`);
  const order = [...p.lines].sort((a, b) => (p.direction === 'maximize' ? a.value - b.value : b.value - a.value));
  parts.push('<g class="lines">');
  for (const { trial, value } of order) {
    let d = '', pen = false;
    axes.forEach((name, i) => {
      const y = i === axes.length - 1 ? scales[i].y(value) : scales[i].y(trial.params[name]);
      // A parameter this trial never asked for (a conditional one) breaks its line.
      if (y === undefined || !Number.isFinite(y) || (i < names.length && !Object.hasOwn(trial.params, name))) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${fixed(x(i))},${fixed(y)}`;
      pen = true;
    });
    const tip = `trial ${trial.id}: ${names.filter((n) => Object.hasOwn(trial.params, n)).map((n) => `${n}=${showValue(trial.params[n])}`).join(', ')} → ${value.toPrecision(4)}`;
    parts.push(`<path class="trial" data-trial="${trial.id}" d="${d}" fill="none" stroke="${ramp(value)}"><title>${esc(tip)}</title></path>`);
  }
  parts.push('</g><g class="axis">');
  axes.forEach((name, i) => {
    parts.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${top}" y2="${bottom}"/>`);
    parts.push(`<text class="label" x="${x(i)}" y="${top - 14}" text-anchor="middle">${esc(name)}</text>`);
    for (const t of scales[i].ticks) parts.push(`<text x="${x(i) - 5}" y="${fixed(t.y + 4)}" text-anchor="end">${esc(t.label)}</text>`);
  });
  parts.push('</g></svg>');
  return `<figure class="chart-figure wide">${parts.join('')}<figcaption class="note">One line per trial, darker for a better ${esc(p.objective)}.</figcaption></figure>`;
}

/** Horizontal bars: each parameter's share of the explained variance. */
export function importanceBarsHtml(importance: { name: string; share: number }[]): string {
  const rows = importance
    .map((r) => `<tr data-param="${esc(r.name)}"><td>${esc(r.name)}</td><td class="num">${(r.share * 100).toFixed(1)}%</td><td><span class="bar" style="width:${(r.share * 16).toFixed(2)}em"></span></td></tr>`)
    .join('');
  return `<div class="scroll"><table class="importance"><thead><tr><th>Parameter</th><th class="num">Share</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
}
