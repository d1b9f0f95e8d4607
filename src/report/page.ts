/**
 * The report as one self-contained HTML page: eight panels, each a
 * `<section data-panel="...">` (run, curves, lr, throughput, confusion, per-class, roc-pr,
 * mistakes), charts as inline SVG, and every number behind them embedded as JSON in
 * `<script type="application/json" id="report-data">`. No network, no external file.
 */
import { lineChartHtml, type Marker, type Series } from './chart';
import { escapeHtml as esc, jsonForScript } from './escape';
import { confusionPanel, mistakesPanel, perClassPanel, rocPrPanel } from './evaluation-panels';
import { REPORT_CSS, REPORT_SCRIPT } from './page-assets';
import type { ReportData } from './report-data';

export const PANELS = ['run', 'curves', 'lr', 'throughput', 'confusion', 'per-class', 'roc-pr', 'mistakes'] as const;

const TITLES: Record<(typeof PANELS)[number], string> = {
  run: 'The run',
  curves: 'Loss and accuracy',
  lr: 'Learning rate',
  throughput: 'Throughput',
  confusion: 'Confusion matrix',
  'per-class': 'Per-class metrics',
  'roc-pr': 'ROC and precision-recall',
  mistakes: 'Most confident mistakes',
};

const fmt = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

function facts(entries: [string, string | number | boolean | null | undefined][]): string {
  return `<dl class="facts">${entries
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v === null ? '–' : v)}</dd>`)
    .join('')}</dl>`;
}

function runPanel(d: ReportData): string {
  const { run } = d;
  const layers = run.model.layers
    .map((l) => `<tr><td>${esc(l.name)}</td><td>${esc(l.kind)}</td><td class="num">${l.units}</td><td class="num" data-params="${l.params}">${l.params.toLocaleString('en-US')}</td></tr>`)
    .join('');
  const total = run.model.layers.reduce((a, l) => a + l.params, 0);
  const counts = run.data.classCounts;
  const max = Math.max(1, ...counts);
  const sum = counts.reduce((a, b) => a + b, 0);
  const balance = run.data.labels
    .map((label, i) => `<tr><td>${esc(label)}</td><td class="num">${counts[i] ?? 0}</td><td><span class="bar" style="width:${(((counts[i] ?? 0) / max) * 8).toFixed(2)}em"></span>${sum ? (((counts[i] ?? 0) / sum) * 100).toFixed(1) : '0.0'}%</td></tr>`)
    .join('');
  const options = Object.entries(run.options).map(([k, v]) => [k, v] as [string, string | number | boolean | null]);
  return (
    `<section data-panel="run" id="run"><h2>${TITLES.run}</h2><div class="grid2"><div>` +
    `<h3>Model</h3>${facts([['input', run.model.input], ['pooling', run.model.pooling], ['parameters', run.model.params.toLocaleString('en-US')]])}` +
    `<div class="scroll"><table class="layers"><thead><tr><th>Layer</th><th>Kind</th><th class="num">Units</th><th class="num">Parameters</th></tr></thead><tbody>${layers}</tbody>` +
    `<tfoot><tr><td colspan="3">Total</td><td class="num">${total.toLocaleString('en-US')}</td></tr></tfoot></table></div>` +
    `<h3>Settings</h3>${facts(options)}</div><div>` +
    `<h3>Data</h3>${facts([[run.kind === 'train' ? 'training records' : 'records', run.data.records], ['validation records', run.data.validationRecords ?? (run.kind === 'train' ? 'none' : undefined)], ['classes', run.data.labels.length]])}` +
    `<div class="scroll"><table class="balance"><caption class="note">Class balance of the ${run.kind === 'train' ? 'training' : 'evaluated'} data</caption><thead><tr><th>Class</th><th class="num">Records</th><th>Share</th></tr></thead><tbody>${balance}</tbody></table></div>` +
    `<h3>Versions</h3>${facts([['rnn-node', run.versions.rnnNode], ['Node.js', run.versions.node], ['binary', `${run.versions.variant} (${run.versions.simd})`], ['threads', run.versions.threads], ['started', run.startedAt || null]])}` +
    '</div></div></section>'
  );
}

function markersOf(d: ReportData): Marker[] {
  const m = d.markers;
  const out: Marker[] = [];
  // Epoch e ends at x = e + 1 on the charts' epoch axis.
  if (m.bestEpoch !== null) out.push({ x: m.bestEpoch + 1, label: m.restoredEpoch === m.bestEpoch ? 'best (restored)' : 'best' });
  if (m.stoppedEpoch !== null) out.push({ x: m.stoppedEpoch + 1, label: 'early stop' });
  return out;
}

function notYet(panel: (typeof PANELS)[number], why: string): string {
  return `<section data-panel="${panel}" id="${panel}"><h2>${TITLES[panel]}</h2><p class="note">${esc(why)}</p></section>`;
}

async function curvesPanel(d: ReportData): Promise<string> {
  if (d.epochs.length === 0) return notYet('curves', 'No epoch has finished yet.');
  const at = (key: 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy') => d.epochs.filter((e) => e[key] !== undefined).map((e) => ({ x: e.epoch + 1, y: e[key] as number }));
  const hasVal = d.epochs.some((e) => e.valLoss !== undefined);
  const batch = d.batches;
  const chart = (metric: 'loss' | 'accuracy', title: string) => {
    const series: Series[] = [];
    if (batch && batch.x.length > 0) series.push({ name: `${metric} per batch${batch.batchesPerPoint > 1 ? ` (mean of ${batch.batchesPerPoint})` : ''}`, points: batch.x.map((x, i) => ({ x, y: batch[metric][i] })), faint: true });
    series.push({ name: `training ${metric}`, points: at(metric) });
    if (hasVal) series.push({ name: `validation ${metric}`, points: at(metric === 'loss' ? 'valLoss' : 'valAccuracy'), dashed: true });
    return lineChartHtml({ id: metric, title, xLabel: 'epoch', yLabel: metric, series, markers: markersOf(d), dotsUpTo: 60, integerX: true });
  };
  const last = d.epochs[d.epochs.length - 1];
  const m = d.markers;
  const notes: string[] = [];
  if (m.bestEpoch !== null) notes.push(`best epoch ${m.bestEpoch + 1}${m.monitor ? ` by ${esc(m.monitor)}` : ''}`);
  if (m.stoppedEpoch !== null) notes.push(`stopped early after epoch ${m.stoppedEpoch + 1}`);
  if (m.restoredEpoch !== null) notes.push(`weights of epoch ${m.restoredEpoch + 1} restored`);
  return (
    `<section data-panel="curves" id="curves"><h2>${TITLES.curves}</h2>` +
    `<p>Epoch ${last.epoch + 1}: loss ${fmt(last.loss)}, accuracy ${fmt(last.accuracy)}${last.valLoss !== undefined ? `; validation loss ${fmt(last.valLoss)}, accuracy ${fmt(last.valAccuracy ?? NaN)}` : ''}${notes.length ? ` · ${notes.join(' · ')}` : ''}</p>` +
    `<div class="grid2">${await chart('loss', 'Loss per epoch')}${await chart('accuracy', 'Accuracy per epoch')}</div></section>`
  );
}

async function lrPanel(d: ReportData): Promise<string> {
  if (d.epochs.length === 0) return notYet('lr', 'No epoch has finished yet.');
  const points = d.epochs.map((e) => ({ x: e.epoch + 1, y: e.learningRate }));
  const schedule = d.run.options.schedule;
  return (
    `<section data-panel="lr" id="lr"><h2>${TITLES.lr}</h2><p class="note">The learning rate each epoch trained with${schedule ? ` (schedule: ${esc(schedule)})` : ''}.</p>` +
    `${await lineChartHtml({ id: 'lr', title: 'Learning rate per epoch', xLabel: 'epoch', yLabel: 'learning rate', series: [{ name: 'learning rate', points }], dotsUpTo: 60, integerX: true })}</section>`
  );
}

async function throughputPanel(d: ReportData): Promise<string> {
  if (d.epochs.length === 0) return notYet('throughput', 'No epoch has finished yet.');
  const speed = await lineChartHtml({ id: 'throughput', title: 'Training sequences per second', xLabel: 'epoch', yLabel: 'sequences/s', series: [{ name: 'sequences/s (training steps)', points: d.epochs.map((e) => ({ x: e.epoch + 1, y: e.sequencesPerSecond })) }], dotsUpTo: 60, integerX: true });
  const time = await lineChartHtml({ id: 'epoch-time', title: 'Seconds per epoch', xLabel: 'epoch', yLabel: 'seconds', series: [{ name: 'seconds per epoch (with validation)', points: d.epochs.map((e) => ({ x: e.epoch + 1, y: e.seconds })) }], dotsUpTo: 60, integerX: true });
  const total = d.epochs.reduce((a, e) => a + e.seconds, 0);
  return `<section data-panel="throughput" id="throughput"><h2>${TITLES.throughput}</h2><p>${d.epochs.length} epochs in ${total.toFixed(1)} s.</p><div class="grid2">${speed}${time}</div></section>`;
}

/** The whole page. */
export async function reportHtml(d: ReportData): Promise<string> {
  const e = d.evaluation;
  const pending = d.failure ? 'Not computed: training ended with an error.' : d.complete ? 'No evaluation in this report.' : 'Computed when training ends (this page is rewritten after every epoch).';
  const sections = [
    runPanel(d),
    d.run.kind === 'train' ? await curvesPanel(d) : notYet('curves', 'An evaluation has no training curves.'),
    d.run.kind === 'train' ? await lrPanel(d) : notYet('lr', 'An evaluation has no learning rate.'),
    d.run.kind === 'train' ? await throughputPanel(d) : notYet('throughput', 'An evaluation has no training throughput.'),
    e ? confusionPanel(e) : notYet('confusion', pending),
    e ? perClassPanel(e) : notYet('per-class', pending),
    e ? await rocPrPanel(e) : notYet('roc-pr', pending),
    e ? mistakesPanel(e) : notYet('mistakes', pending),
  ];
  const epochsSoFar = `${d.epochs.length} epoch${d.epochs.length === 1 ? '' : 's'}`;
  const status = d.failure
    ? `<p class="notice">Training ended with an error after ${epochsSoFar}: ${esc(d.failure)}</p>`
    : d.complete
      ? ''
      : `<p class="notice">Training in progress: ${epochsSoFar} so far. Reload to see more.</p>`;
  const nav = PANELS.map((p) => `<li><a href="#${p}">${TITLES[p]}</a></li>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rnn-node ${esc(d.run.versions.rnnNode)}">
<link rel="icon" href="data:,">
<title>${esc(d.run.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header><h1>${esc(d.run.title)}</h1><p>${d.run.kind === 'train' ? 'Training report' : 'Evaluation report'} · rnn-node ${esc(d.run.versions.rnnNode)}${d.run.startedAt ? ` · ${esc(d.run.startedAt)}` : ''}</p>${status}</header>
<nav aria-label="Panels"><ul>${nav}</ul></nav>
${sections.join('\n')}
</main>
<script type="application/json" id="report-data">${jsonForScript(d)}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
