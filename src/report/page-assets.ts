/**
 * The report page's style sheet and its one small script. Both are inlined: the page is one
 * file that opens offline. The script only sorts the per-class table; everything else,
 * including the confusion matrix's counts/normalised switch (radio buttons and CSS), works
 * with JavaScript off.
 */

export const REPORT_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --panel: #f6f8fa; --accent: #0072B2; color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1100px; margin: 0 auto; padding: 16px; }
header h1 { font-size: 1.5rem; margin: 8px 0 4px; overflow-wrap: anywhere; }
header p { margin: 0 0 8px; color: var(--muted); }
nav ul { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; padding: 0; margin: 8px 0 16px; }
nav a { color: var(--accent); }
section { border-top: 1px solid var(--line); padding: 12px 0 20px; }
section h2 { font-size: 1.2rem; margin: 8px 0; }
section h3 { font-size: 1rem; margin: 14px 0 6px; }
.note { color: var(--muted); font-size: 0.9rem; margin: 4px 0 10px; }
.notice { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; border-radius: 4px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: 12px 24px; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
td.text { overflow-wrap: anywhere; min-width: 12em; max-width: 40em; }
thead th { background: var(--panel); position: sticky; top: 0; }
tfoot td { font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.bar { display: inline-block; height: 0.7em; background: var(--accent); vertical-align: middle; margin-right: 6px; }
figure.chart-figure { margin: 0; }
section > figure.chart-figure { max-width: 760px; }
svg.chart { width: 100%; height: auto; display: block; font-size: 13px; }
svg.chart .grid line { stroke: #eaeef2; }
svg.chart .axis line { stroke: var(--muted); }
svg.chart .axis text { fill: var(--muted); }
svg.chart .axis text.label { fill: var(--fg); font-size: 14px; }
svg.chart .series path { stroke-width: 2; }
svg.chart .series.faint path { stroke-width: 1; opacity: 0.35; }
svg.chart .series.dashed path { stroke-dasharray: 5 3; }
svg.chart .series circle { stroke: none; }
svg.chart .diagonal { stroke: #8c959f; stroke-dasharray: 3 3; }
svg.chart .marker line { stroke: #cf222e; stroke-dasharray: 4 3; }
svg.chart .marker text { fill: #cf222e; font-size: 13px; }
ul.legend { display: flex; flex-wrap: wrap; gap: 2px 14px; list-style: none; padding: 0; margin: 4px 0 0 60px; font-size: 0.85rem; }
ul.legend li.faint { opacity: 0.6; }
.swatch { display: inline-block; width: 16px; height: 3px; background: var(--c); vertical-align: middle; margin-right: 5px; }
.swatch.dashed { background: repeating-linear-gradient(90deg, var(--c) 0 5px, transparent 5px 8px); }
.cm-switch { margin: 4px 0 8px; }
.cm-switch label { margin-right: 14px; }
.cm td { text-align: right; min-width: 3.2em; }
.cm th.row { text-align: right; }
.cm td.diag { font-weight: 600; outline: 1px solid #8c959f; outline-offset: -1px; }
.cm-norm { display: none; }
#cm-mode-norm:checked ~ .cm-tables .cm-counts { display: none; }
#cm-mode-norm:checked ~ .cm-tables .cm-norm { display: block; }
th button.sort { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th button.sort::after { content: " \\2195"; color: var(--muted); font-weight: 400; }
th[aria-sort="ascending"] button.sort::after { content: " \\2191"; }
th[aria-sort="descending"] button.sort::after { content: " \\2193"; }
@media (max-width: 600px) {
  main { padding: 10px; }
  body { font-size: 14px; }
  ul.legend { margin-left: 0; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: 4px; }
}
@media print {
  body { font-size: 11pt; }
  nav, .cm-switch, input[name="cm-mode"], th button.sort::after { display: none; }
  main { max-width: none; padding: 0; }
  section { break-inside: avoid-page; }
  figure.chart-figure { break-inside: avoid; }
  thead th { position: static; }
  .scroll { overflow: visible; }
}
`;

/** Sorts the per-class table by the clicked column (numbers numerically), toggling the direction. */
export const REPORT_SCRIPT = `
document.querySelectorAll('table[data-sortable]').forEach(function (table) {
  var body = table.tBodies[0];
  table.querySelectorAll('thead th').forEach(function (th, column) {
    var button = th.querySelector('button.sort');
    if (!button) return;
    button.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('thead th').forEach(function (other) { other.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute('data-value'), y = b.cells[column].getAttribute('data-value');
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = isNaN(nx) || isNaN(ny) ? String(x).localeCompare(String(y)) : nx - ny;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
`;
