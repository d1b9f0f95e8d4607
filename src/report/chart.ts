/**
 * Line charts as static SVG, drawn when the report is written, so the page needs no script
 * to show them, prints as vectors and can be read from the DOM: each series is a
 * `<g class="series" data-series="NAME" data-points="N">`. d3-scale supplies what is easy to
 * get subtly wrong (round tick values, nice domains, tick labels with the right precision);
 * the drawing is a few SVG elements. Everything from data goes through escapeHtml.
 */
import type { ScaleLinear } from 'd3-scale';

import { importEsm } from '../util/esm';
import { escapeHtml } from './escape';

export interface ChartPoint {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: ChartPoint[];
  /** Drawn thin and faint (per-batch values behind per-epoch ones). */
  faint?: boolean;
  dashed?: boolean;
  /** Points only, no line between them (a scatter). */
  dotsOnly?: boolean;
}

export interface Marker {
  x: number;
  label: string;
}

export interface LineChart {
  /** Identifies the chart in the DOM (data-chart). */
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  markers?: Marker[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** The y = x line (a ROC chart's chance level). */
  diagonal?: boolean;
  /** Draw each point as a dot with a tooltip when a series has at most this many points. */
  dotsUpTo?: number;
  /** Only whole-number ticks on the x axis (epochs). */
  integerX?: boolean;
}

type D3Scale = typeof import('d3-scale');
let d3: Promise<D3Scale> | null = null;
/** d3-scale, loaded once (an ES module). */
export function loadScales(): Promise<D3Scale> {
  d3 ??= importEsm<D3Scale>('d3-scale');
  return d3;
}

/** Okabe & Ito's colour-blind-safe palette, then Tableau's: distinct for up to 16 series. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#8C6D1F', '#000000', '#4E79A7', '#F28E2B', '#59A14F', '#B07AA1', '#76B7B2', '#EDC948', '#FF9DA7', '#9C755F'];

const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { top: 22, right: 16, bottom: 44, left: 72 };

function extent(values: number[], fallback: [number, number]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return fallback;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

const fixed = (v: number) => (Math.round(v * 10) / 10).toString();

/** The SVG path of points, broken where a value is not finite. */
function pathOf(points: ChartPoint[], x: ScaleLinear<number, number>, y: ScaleLinear<number, number>): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${fixed(x(p.x))},${fixed(y(p.y))}`;
    pen = true;
  }
  return d;
}

/** One chart: a figure with the SVG and an HTML legend (which wraps on narrow screens). */
export async function lineChartHtml(chart: LineChart): Promise<string> {
  const { scaleLinear } = await loadScales();
  const xs = chart.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p.y));
  const x = scaleLinear().domain(chart.xDomain ?? extent(xs, [0, 1])).range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = scaleLinear().domain(chart.yDomain ?? extent(ys, [0, 1])).range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  if (!chart.xDomain) x.nice();
  if (!chart.yDomain) y.nice();
  const xTicks = chart.integerX ? x.ticks(6).filter(Number.isInteger) : x.ticks(6);
  const yTicks = y.ticks(5);
  const xFormat = chart.integerX ? x.tickFormat(6, 'd') : x.tickFormat(6);
  // Large values read better as 63k than as 63,000 beside a rotated axis label.
  const yFormat = Math.max(...y.domain().map(Math.abs)) >= 1e4 ? y.tickFormat(5, '~s') : y.tickFormat(5);
  const [x0, x1] = x.range();
  const [y0, y1] = y.range();
  const titleId = `chart-${chart.id}-title`;
  const parts: string[] = [];
  parts.push(`<svg class="chart" data-chart="${escapeHtml(chart.id)}" data-series-count="${chart.series.length}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${titleId}" preserveAspectRatio="xMidYMid meet">`);
  parts.push(`<title id="${titleId}">${escapeHtml(chart.title)}</title>`);
  parts.push('<g class="grid" aria-hidden="true">');
  for (const t of yTicks) parts.push(`<line x1="${x0}" x2="${x1}" y1="${fixed(y(t))}" y2="${fixed(y(t))}"/>`);
  for (const t of xTicks) parts.push(`<line y1="${y1}" y2="${y0}" x1="${fixed(x(t))}" x2="${fixed(x(t))}"/>`);
  parts.push('</g>');
  parts.push('<g class="axis" aria-hidden="true">');
  parts.push(`<line x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}"/><line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y1}"/>`);
  for (const t of xTicks) parts.push(`<text x="${fixed(x(t))}" y="${y0 + 16}" text-anchor="middle">${escapeHtml(xFormat(t))}</text>`);
  for (const t of yTicks) parts.push(`<text x="${x0 - 6}" y="${fixed(y(t) + 4)}" text-anchor="end">${escapeHtml(yFormat(t))}</text>`);
  parts.push(`<text class="label" x="${(x0 + x1) / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escapeHtml(chart.xLabel)}</text>`);
  parts.push(`<text class="label" transform="translate(14 ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(chart.yLabel)}</text>`);
  parts.push('</g>');
  if (chart.diagonal) parts.push(`<line class="diagonal" x1="${fixed(x(0))}" y1="${fixed(y(0))}" x2="${fixed(x(1))}" y2="${fixed(y(1))}"/>`);
  for (const m of chart.markers ?? []) {
    const mx = fixed(x(m.x));
    parts.push(`<g class="marker" data-marker="${escapeHtml(m.label)}"><line x1="${mx}" x2="${mx}" y1="${y0}" y2="${y1}"/><text x="${mx}" y="${y1 - 6}" text-anchor="middle">${escapeHtml(m.label)}</text></g>`);
  }
  chart.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const cls = `series${s.faint ? ' faint' : ''}${s.dashed ? ' dashed' : ''}`;
    parts.push(`<g class="${cls}" data-series="${escapeHtml(s.name)}" data-points="${s.points.length}" stroke="${color}" fill="${color}">`);
    if (!s.dotsOnly) parts.push(`<path d="${pathOf(s.points, x, y)}" fill="none"/>`);
    if (s.dotsOnly || s.points.length <= (chart.dotsUpTo ?? 0)) {
      for (const p of s.points) {
        if (!Number.isFinite(p.y)) continue;
        parts.push(`<circle cx="${fixed(x(p.x))}" cy="${fixed(y(p.y))}" r="2.5"><title>${escapeHtml(`${s.name}: ${xFormat(p.x)} → ${p.y.toPrecision(4)}`)}</title></circle>`);
      }
    }
    parts.push('</g>');
  });
  parts.push('</svg>');
  const legend = chart.series
    .map((s, i) => `<li${s.faint ? ' class="faint"' : ''}><span class="swatch${s.dashed ? ' dashed' : ''}" style="--c:${PALETTE[i % PALETTE.length]}"></span>${escapeHtml(s.name)}</li>`)
    .join('');
  return `<figure class="chart-figure">${parts.join('')}<figcaption><ul class="legend">${legend}</ul></figcaption></figure>`;
}
