/**
 * The JSONL line `predict` writes for one record:
 *   {...where, "label": L, "probabilities": {"name": p, ...}, "top": [...]?}
 * where `where` says which record it is (id, file, line or row, or index).
 * with each probability rounded to 6 significant digits. It is the same text as
 * JSON.stringify of that object (tested against it), built from strings prepared once per
 * job: a million records otherwise spend most of the JavaScript thread's time creating and
 * serialising objects, time the native threads wait for on a small machine.
 */
import type { PredictSettings } from './predict-settings';

/**
 * `head`: the line's opening brace and its where-fields as JSON text, without the closing
 * brace (`{"id":"a1","line":3`, or just `{`).
 */
export type LineFormatter = (probs: Float32Array, row: number, head: string) => string;

/**
 * A probability as JSON.stringify writes Number(p.toPrecision(6)) (non-finite: null).
 * For a plain decimal (no sign, no exponent) that is toPrecision's own text without its
 * trailing zeros: the nearest double to a 6-digit decimal prints back as that decimal, and
 * both switch to exponent notation below 1e-6. Parsing and printing every number again
 * would cost the JavaScript thread twice what the rounding does.
 */
function probabilityText(p: number): string {
  const text = p.toPrecision(6);
  if (text.charCodeAt(0) === 45 /* - */ || text.includes('e') || !text.includes('.')) {
    const rounded = Number(text);
    return Number.isFinite(rounded) ? String(rounded) : 'null';
  }
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (text.charCodeAt(end - 1) === 46 /* . */) end--;
  return text.slice(0, end);
}

/** The formatter of a job's lines: `settings` are its predict settings (predict-settings.ts), of which it reads those that shape a line (top-k). */
export function lineFormatter(names: readonly string[], labelled: boolean, settings: Partial<PredictSettings> = {}): LineFormatter {
  const { topK } = settings;
  const classes = names.length;
  // The order JSON.stringify gives the keys of an object built from the names in order
  // (integer-like names first, ascending; then insertion order), and each key's text.
  const order = Object.keys(Object.fromEntries(names.map((n, c) => [n, c]))).map((n) => names.indexOf(n));
  const keyText = names.map((n) => `${JSON.stringify(n)}:`);
  const labelText = names.map((n, c) => (labelled ? JSON.stringify(n) : String(c)));
  return (probs, row, head) => {
    const base = row * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[base + c] > probs[base + best]) best = c;
    let line = head.length > 1 ? `${head},"label":` : '{"label":';
    line += `${labelText[best]},"probabilities":{`;
    for (let k = 0; k < order.length; k++) {
      const c = order[k];
      line += `${k ? ',' : ''}${keyText[c]}${probabilityText(probs[base + c])}`;
    }
    line += '}';
    if (topK !== undefined) {
      const top = Array.from(probs.subarray(base, base + classes), (q, c) => [c, q] as const)
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, topK)
        .map(([c, q]) => `{"label":${labelText[c]},"p":${probabilityText(q)}}`);
      line += `,"top":[${top.join(',')}]`;
    }
    return `${line}}\n`;
  };
}
