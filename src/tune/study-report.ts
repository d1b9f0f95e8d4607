/**
 * The study report: one self-contained HTML page, like the training report (report/page.ts),
 * with seven panels, each a `<section data-panel="...">`: summary (the best trial's settings
 * and the command that retrains it), history (the objective over study time, best so far),
 * rungs, parallel (parameters against the objective), importance, curves (each trial's
 * learning curve) and trials (the table). The numbers behind them are embedded as JSON in
 * `<script type="application/json" id="study-data">`. No network, no external file.
 */
import { lineChartHtml, type Series } from '../report/chart';
import { escapeHtml as esc, jsonForScript } from '../report/escape';
import { REPORT_CSS, REPORT_SCRIPT } from '../report/page-assets';
import { writeFileAtomic } from '../util/atomic-file';
import { importanceBarsHtml, parallelCoordinatesSvg } from './study-charts';
import { rungZeroValue, showValue, type StudyReportData } from './study-report-data';
import type { TrialRecord } from './types';

export const STUDY_PANELS = ['summary', 'history', 'rungs', 'parallel', 'importance', 'curves', 'trials'] as const;
type Panel = (typeof STUDY_PANELS)[number];

const TITLES: Record<Panel, string> = {
  summary: 'Best trial',
  history: 'Objective over time',
  rungs: 'Rungs',
  parallel: 'Parameters against the objective',
  importance: 'Parameter importance',
  curves: 'Learning curves',
  trials: 'Trials',
};

const CSS = `${REPORT_CSS}
figure.chart-figure.wide { max-width: none; overflow-x: auto; }
svg.parallel { min-width: 560px; }
svg.parallel path.trial { stroke-width: 1.6; opacity: 0.85; }
svg.parallel path.trial:hover { stroke-width: 3.5; opacity: 1; }
pre.command { background: var(--panel); padding: 8px 10px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
td.params { overflow-wrap: anywhere; min-width: 14em; max-width: 40em; }
tr.best td { font-weight: 600; }
`;

const fmt = (v: number | null | undefined, digits = 4) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
const paramsText = (params: TrialRecord['params']) => Object.entries(params).map(([k, v]) => `${k}=${showValue(v)}`).join(' ');

function section(panel: Panel, body: string): string {
  return `<section data-panel="${panel}" id="${panel}"><h2>${TITLES[panel]}</h2>${body}</section>`;
}

const note = (text: string) => `<p class="note">${esc(text)}</p>`;

function summaryPanel(d: StudyReportData): string {
  const h = d.header;
  const counts = new Map<string, number>();
  for (const t of d.trials) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  const facts: [string, string][] = [
    ['objective', `${h.objective} (${h.direction})`],
    ['sampler', `${h.sampler}, seed ${h.seed}`],
    ['scheduler', h.scheduler.scheduler === 'asha' ? `ASHA: rungs at ${d.rungs.map((r) => String(r.epochs)).join(', ')} epochs (η = ${h.scheduler.eta}${h.scheduler.patience ? `, patience ${h.scheduler.patience}` : ''})` : `none: every trial to ${h.scheduler.maxEpochs} epochs`],
    ['trials', `${d.trials.length}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`],
    ['epochs trained', String(d.trials.reduce((a, t) => a + t.epochs, 0))],
    ['study time', `${(d.studySeconds / 60).toFixed(1)} min`],
  ];
  const dl = `<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
  if (!d.best) return section('summary', `${dl}${note('No trial has completed a rung yet.')}`);
  const b = d.best;
  const rows = Object.entries(b.params).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(showValue(v))}</td></tr>`).join('');
  const settings = b.settings ? `<h3>Model and fit settings</h3><pre class="command" data-settings><code>${esc(JSON.stringify(b.settings, null, 2))}</code></pre>` : '';
  const command = b.command ? `<h3>Retrain it</h3><pre class="command" data-command><code>${esc(b.command)}</code></pre>` : '';
  return section(
    'summary',
    `<div class="grid2"><div>${dl}</div><div><p data-best="${b.id}">Trial ${b.id}: ${esc(h.objective)} <strong>${fmt(b.value)}</strong> after ${b.epochs} epochs.</p>` +
      `<div class="scroll"><table class="best-params"><thead><tr><th>Parameter</th><th>Value</th></tr></thead><tbody>${rows}</tbody></table></div></div></div>${command}${settings}`,
  );
}

async function historyPanel(d: StudyReportData): Promise<string> {
  const epochs = d.trials.flatMap((t) => t.curve.filter((e) => e.studySeconds !== undefined && Number.isFinite(e.value)).map((e) => ({ x: e.studySeconds! / 60, y: e.value })));
  if (epochs.length === 0) return section('history', note('No epoch has finished yet.'));
  const sorted = [...epochs].sort((a, b) => a.x - b.x);
  const better = (a: number, b: number) => (d.header.direction === 'maximize' ? a > b : a < b);
  const bestSoFar: { x: number; y: number }[] = [];
  for (const p of sorted) {
    const last = bestSoFar[bestSoFar.length - 1];
    if (!last || better(p.y, last.y)) {
      if (last) bestSoFar.push({ x: p.x, y: last.y });  // a step, not a slope
      bestSoFar.push(p);
    }
  }
  bestSoFar.push({ x: sorted[sorted.length - 1].x, y: bestSoFar[bestSoFar.length - 1].y });
  const series: Series[] = [
    { name: 'each epoch of each trial', points: sorted, dotsOnly: true, faint: true },
    { name: 'best so far', points: bestSoFar },
  ];
  const chart = await lineChartHtml({ id: 'history', title: `${d.header.objective} over study time`, xLabel: 'study time (minutes)', yLabel: d.header.objective, series });
  return section('history', `${note('Every epoch of every trial at the study time it ended (restarts counted, the time between them not), and the best value seen so far.')}${chart}`);
}

async function rungsPanel(d: StudyReportData): Promise<string> {
  const rows = d.rungs.map((r) => `<tr data-rung="${r.rung}"><td class="num">${r.rung}</td><td class="num">${r.epochs}</td><td class="num">${r.reached}</td><td class="num">${r.rung === d.rungs.length - 1 ? '–' : r.promoted}</td><td class="num">${fmt(r.best)}</td><td class="num">${fmt(r.median)}</td></tr>`).join('');
  const table = `<div class="scroll"><table class="rungs"><thead><tr><th class="num">Rung</th><th class="num">Epochs</th><th class="num">Trials</th><th class="num">Promoted</th><th class="num">Best</th><th class="num">Median</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  const series: Series[] = d.rungs.map((r) => ({
    name: `rung ${r.rung} (${r.epochs} epochs)`,
    dotsOnly: true,
    points: d.trials.filter((t) => t.rung >= r.rung && t.curve.length >= r.epochs && Number.isFinite(t.curve[r.epochs - 1].value)).map((t) => ({ x: t.id, y: t.curve[r.epochs - 1].value })),
  }));
  const chart = series.some((s) => s.points.length > 0) ? await lineChartHtml({ id: 'rungs', title: `${d.header.objective} at each rung, by trial`, xLabel: 'trial', yLabel: d.header.objective, series, integerX: true }) : '';
  return section('rungs', `${note('A trial is judged at each rung it reaches; ASHA sends the best 1/η of a rung on to the next.')}${table}${chart}`);
}

async function parallelPanel(d: StudyReportData): Promise<string> {
  const lines = d.trials.map((trial) => ({ trial, value: rungZeroValue(trial, d.header) })).filter((l): l is { trial: TrialRecord; value: number } => l.value !== null);
  if (lines.length === 0 || Object.keys(d.specs).length === 0) return section('parallel', note('No trial has a value at the first rung yet.'));
  const epochs = d.rungs[0].epochs;
  return section('parallel', `${note(`Each trial's parameters and its ${d.header.objective} after ${epochs} epoch${epochs === 1 ? '' : 's'} (the first rung, which every trial reaches).`)}${await parallelCoordinatesSvg({ specs: d.specs, lines, objective: d.header.objective, direction: d.header.direction })}`);
}

function importancePanel(d: StudyReportData): string {
  if (!d.importance) return section('importance', note('Needs at least 6 trials with a value at the first rung, and some spread between them.'));
  return section('importance', `${note('The share of the first-rung objective\'s variance each parameter explains on its own (η², choices by value, numbers by quartile), scaled to sum to 100%. One parameter at a time: interactions are not seen.')}${importanceBarsHtml(d.importance)}`);
}

async function curvesPanel(d: StudyReportData): Promise<string> {
  const withEpochs = d.trials.filter((t) => t.curve.length > 0);
  if (withEpochs.length === 0) return section('curves', note('No epoch has finished yet.'));
  const best = d.best?.id;
  // The best drawn last, on top of the others.
  const ordered = [...withEpochs.filter((t) => t.id !== best), ...withEpochs.filter((t) => t.id === best)];
  const series: Series[] = ordered.map((t) => ({ name: `trial ${t.id}`, points: t.curve.map((e) => ({ x: e.epoch, y: e.value })), faint: t.id !== best }));
  const chart = await lineChartHtml({ id: 'curves', title: `${d.header.objective} per epoch, each trial`, xLabel: 'epoch', yLabel: d.header.objective, series, integerX: true, dotsUpTo: 3 });
  return section('curves', `${note(`The best trial${best !== undefined ? ` (${best})` : ''} in full colour, the others faint.`)}${chart}`);
}

function trialsPanel(d: StudyReportData): string {
  const rows = d.trials
    .map((t) => {
      const cls = t.id === d.best?.id ? ' class="best"' : '';
      return `<tr data-trial="${t.id}"${cls}><td class="num" data-value="${t.id}">${t.id}</td><td data-value="${esc(t.state)}">${esc(t.state)}</td><td class="num" data-value="${t.value ?? ''}">${fmt(t.value)}</td><td class="num" data-value="${t.epochs}">${t.epochs}</td><td class="num" data-value="${t.rung}">${t.rung < 0 ? '–' : t.rung}</td><td class="num" data-value="${t.seconds}">${t.seconds.toFixed(1)}</td><td class="params" data-value="${esc(paramsText(t.params))}">${esc(paramsText(t.params))}${t.error ? `<br><span class="note">${esc(t.error)}</span>` : ''}</td></tr>`;
    })
    .join('');
  const head = ['Trial', 'State', d.header.objective, 'Epochs', 'Rung', 'Seconds', 'Parameters'].map((h, i) => `<th${i === 1 || i === 6 ? '' : ' class="num"'}><button class="sort" type="button">${esc(h)}</button></th>`).join('');
  return section('trials', `<div class="scroll"><table class="trials" data-sortable><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`);
}

/** The whole page. */
export async function studyReportHtml(d: StudyReportData): Promise<string> {
  const sections = [summaryPanel(d), await historyPanel(d), await rungsPanel(d), await parallelPanel(d), importancePanel(d), await curvesPanel(d), trialsPanel(d)];
  const nav = STUDY_PANELS.map((p) => `<li><a href="#${p}">${TITLES[p]}</a></li>`).join('');
  const status = d.complete ? '' : `<p class="notice">The study is running: ${d.trials.length} trials so far. This page is rewritten as trials finish; reload to see more.</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rnn-node ${esc(d.versions.rnnNode)}">
<link rel="icon" href="data:,">
<title>${esc(d.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header><h1>${esc(d.title)}</h1><p>Study report · rnn-node ${esc(d.versions.rnnNode)} · ${esc(d.writtenAt)}</p>${status}</header>
<nav aria-label="Panels"><ul>${nav}</ul></nav>
${sections.join('\n')}
</main>
<script type="application/json" id="study-data">${jsonForScript(d)}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}

/** Writes the report atomically (a reader sees a whole page, old or new). */
export async function writeStudyReport(path: string, d: StudyReportData): Promise<void> {
  await writeFileAtomic(path, Buffer.from(await studyReportHtml(d)));
}
