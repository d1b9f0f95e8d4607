/**
 * Panels 5–8 of the report, from an Evaluation: the confusion matrix (counts and row-normalised),
 * per-class precision/recall/F1/AUC, ROC and precision-recall curves, and the most confident
 * mistakes.
 */
import { lineChartHtml } from './chart';
import { escapeHtml as esc } from './escape';
import type { Evaluation } from './report-data';

/** Classes above which the confusion matrix is not drawn (its numbers stay in report-data). */
export const MAX_MATRIX_CLASSES = 60;

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const num = (v: number | null, digits = 4) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function dataSource(e: Evaluation): string {
  const what = e.on === 'validation' ? 'the validation data' : e.on === 'training' ? 'the training data (there was no validation data)' : 'the evaluated data';
  return `<p class="note">Computed on ${what}: ${e.count} records.</p>`;
}

export function confusionPanel(e: Evaluation): string {
  const head = `<section data-panel="confusion" id="confusion"><h2>Confusion matrix</h2>${dataSource(e)}`;
  const C = e.labels.length;
  if (C > MAX_MATRIX_CLASSES) {
    return `${head}<p class="notice">${C} classes are too many to draw; the matrix is in the embedded report data (report-data, evaluation.confusionMatrix).</p></section>`;
  }
  const table = (normalised: boolean) => {
    const rows = e.confusionMatrix.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      const cells = row.map((n, j) => {
        const share = total ? n / total : 0;
        const shown = normalised ? (total ? share.toFixed(2) : '–') : String(n);
        // Shade by the share of the row, the same in both views.
        const shade = share > 0 ? ` style="background: rgba(0,114,178,${(0.08 + 0.72 * share).toFixed(2)})${share > 0.55 ? ';color:#fff' : ''}"` : '';
        return `<td${i === j ? ' class="diag"' : ''} data-count="${n}"${shade}>${shown}</td>`;
      });
      return `<tr><th scope="row" class="row">${esc(e.labels[i])}</th>${cells.join('')}</tr>`;
    });
    const cols = e.labels.map((l) => `<th scope="col">${esc(l)}</th>`).join('');
    const kind = normalised ? 'cm-norm' : 'cm-counts';
    return `<div class="scroll ${kind}"><table class="cm" data-matrix="${normalised ? 'normalised' : 'counts'}"><caption class="note">Rows: actual class; columns: predicted class${normalised ? '; each row sums to 1' : ''}.</caption><thead><tr><th></th>${cols}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  };
  return (
    `${head}<input type="radio" name="cm-mode" id="cm-mode-counts" checked><label class="cm-switch" for="cm-mode-counts">Counts</label>` +
    `<input type="radio" name="cm-mode" id="cm-mode-norm"><label class="cm-switch" for="cm-mode-norm">Row-normalised</label>` +
    `<div class="cm-tables">${table(false)}${table(true)}</div></section>`
  );
}

export function perClassPanel(e: Evaluation): string {
  const columns: [string, string, boolean][] = [
    ['label', 'Class', false],
    ['precision', 'Precision', true],
    ['recall', 'Recall', true],
    ['f1', 'F1', true],
    ['support', 'Support', true],
    ['aucRoc', 'AUC-ROC', true],
    ['averagePrecision', 'Average precision', true],
  ];
  const head = columns.map(([key, name, numeric]) => `<th scope="col" data-key="${key}"${numeric ? ' class="num"' : ''}><button type="button" class="sort">${name}</button></th>`).join('');
  const rows = e.perClass.map((c) => {
    const cells = [
      `<td data-value="${esc(c.label)}">${esc(c.label)}</td>`,
      ...(['precision', 'recall', 'f1'] as const).map((k) => `<td class="num" data-value="${c[k]}">${num(c[k])}</td>`),
      `<td class="num" data-value="${c.support}">${c.support}</td>`,
      `<td class="num" data-value="${c.aucRoc ?? ''}">${num(c.aucRoc)}</td>`,
      `<td class="num" data-value="${c.averagePrecision ?? ''}">${num(c.averagePrecision)}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  const foot = `<tr><td>Macro average</td><td class="num">${num(e.macroPrecision)}</td><td class="num">${num(e.macroRecall)}</td><td class="num">${num(e.macroF1)}</td><td class="num">${e.count}</td><td class="num">${num(e.macroAucRoc)}</td><td class="num">${num(e.macroAveragePrecision)}</td></tr>`;
  return (
    `<section data-panel="per-class" id="per-class"><h2>Per-class metrics</h2>${dataSource(e)}` +
    `<p>Accuracy <strong>${pct(e.accuracy)}</strong> · top-${e.topK} accuracy ${pct(e.topKAccuracy)} · loss ${num(e.loss)} · macro F1 ${num(e.macroF1)}</p>` +
    `<div class="scroll"><table data-sortable><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody><tfoot>${foot}</tfoot></table></div>` +
    '<p class="note">Click a column heading to sort. Macro averages are over the classes present in the labels or the predictions (AUC: over the classes where it is defined).</p></section>'
  );
}

export async function rocPrPanel(e: Evaluation): Promise<string> {
  const shown = e.curves.filter((c) => c.roc.length > 0 || c.pr.length > 0);
  const omitted = e.labels.length - e.curves.length;
  const roc = await lineChartHtml({
    id: 'roc',
    title: 'ROC curves, one class against the rest',
    xLabel: 'False-positive rate',
    yLabel: 'True-positive rate',
    xDomain: [0, 1],
    yDomain: [0, 1],
    diagonal: true,
    series: shown.filter((c) => c.roc.length > 0).map((c) => ({ name: `${c.label} (AUC ${num(c.aucRoc, 3)})`, points: c.roc })),
  });
  const pr = await lineChartHtml({
    id: 'pr',
    title: 'Precision-recall curves, one class against the rest',
    xLabel: 'Recall',
    yLabel: 'Precision',
    xDomain: [0, 1],
    yDomain: [0, 1],
    series: shown.filter((c) => c.pr.length > 0).map((c) => ({ name: `${c.label} (AP ${num(c.averagePrecision, 3)})`, points: c.pr })),
  });
  const note = omitted > 0 ? `<p class="note">Curves of the ${e.curves.length} most frequent classes; the table above has every class's areas.</p>` : '';
  return (
    `<section data-panel="roc-pr" id="roc-pr"><h2>ROC and precision-recall</h2>${dataSource(e)}` +
    `<p>Macro AUC-ROC <strong>${num(e.macroAucRoc, 3)}</strong> · macro average precision <strong>${num(e.macroAveragePrecision, 3)}</strong></p>` +
    `${note}<div class="grid2">${roc}${pr}</div></section>`
  );
}

export function mistakesPanel(e: Evaluation): string {
  const head = `<section data-panel="mistakes" id="mistakes"><h2>Most confident mistakes</h2>${dataSource(e)}`;
  if (e.mistakes.length === 0) return `${head}<p>No mistakes.</p></section>`;
  const rows = e.mistakes.map(
    (m) =>
      `<tr><td class="num">${m.index}</td><td class="text">${esc(m.record)}</td><td>${esc(m.truth)}</td><td>${esc(m.predicted)}</td><td class="num">${m.probability.toFixed(3)}</td><td class="num">${m.truthProbability.toFixed(3)}</td></tr>`,
  );
  return (
    `${head}<p class="note">The ${e.mistakes.length} wrong predictions made with the highest probability, of ${e.mistakeCount} mistakes in all.</p>` +
    `<div class="scroll"><table class="mistakes"><thead><tr><th class="num">Record</th><th>Input</th><th>True</th><th>Predicted</th><th class="num">p(predicted)</th><th class="num">p(true)</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`
  );
}
