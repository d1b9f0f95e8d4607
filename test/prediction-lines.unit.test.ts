import { describe, expect, it } from 'vitest';
import { lineFormatter } from '../src/inference/prediction-lines';

/** The object `predict` describes, serialised by JSON.stringify: what each line must equal. */
function reference(names: string[], labelled: boolean, topK: number | undefined, probs: Float32Array, row: number, where: Record<string, number | string>) {
  const p = probs.subarray(row * names.length, (row + 1) * names.length);
  let best = 0;
  const probabilities: Record<string, number> = {};
  for (let c = 0; c < names.length; c++) {
    probabilities[names[c]] = Number(p[c].toPrecision(6));
    if (p[c] > p[best]) best = c;
  }
  const out: Record<string, unknown> = { ...where, label: labelled ? names[best] : best, probabilities };
  if (topK !== undefined) {
    out.top = Array.from(p, (q, c) => [c, q] as const)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, topK)
      .map(([c, q]) => ({ label: labelled ? names[c] : c, p: Number(q.toPrecision(6)) }));
  }
  return JSON.stringify(out) + '\n';
}

describe('prediction lines', () => {
  const cases: Array<[string, string[], boolean]> = [
    ['class indices', ['0', '1', '2', '3'], false],
    ['labels', ['cat', 'dog', 'bird'], true],
    ['integer-like labels out of order (JSON puts them first, ascending)', ['b', '10', 'a', '2', '01'], true],
    ['hostile labels', ['</script>', 'say "hi"\n', 'ü\u2028', '\\', '{"x":1}'], true],
    ['one class', ['only'], true],
  ];
  const wheres: Array<Record<string, number | string>> = [{}, { line: 7 }, { id: 'a"b', file: 'x.jsonl', line: 3 }, { id: 12, row: 0 }, { index: 99 }];
  it.each(cases)('%s: the same text as JSON.stringify, with and without top-k', (_name, names, labelled) => {
    const rows = 6;
    const probs = new Float32Array(rows * names.length);
    let s = 7;
    for (let i = 0; i < probs.length; i++) probs[i] = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) ** 3;
    // Exponent notation, the 1e-6 boundary where both notations switch, round numbers that
    // lose their trailing zeros, exact 0 and 1, negative zero.
    const edges = [1e-9, 9.999999e-7, 1e-6, 1.0000001e-6, 0.1, 0.5, 0, 1, 0.999999, 0.9999999, 1.5e-5, -0];
    probs.set(edges.slice(0, Math.min(edges.length, probs.length - 1)));
    probs[probs.length - 1] = NaN; // a broken model: null, as JSON writes it
    if (probs.length > 14) probs[13] = probs[14]; // ties
    for (const topK of [undefined, 1, names.length]) {
      const format = lineFormatter(names, labelled, { topK });
      for (let row = 0; row < rows; row++)
        for (const where of wheres) expect(format(probs, row, JSON.stringify(where).slice(0, -1))).toBe(reference(names, labelled, topK, probs, row, where));
    }
  });

  it('writes every magnitude of probability as JSON.stringify would (50,000 float32 values)', () => {
    const probs = new Float32Array(50_000);
    let s = 11;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < probs.length; i++) probs[i] = next() * 10 ** -Math.floor(next() * 12);
    const format = lineFormatter(['p'], true);
    for (let row = 0; row < probs.length; row++) expect(format(probs, row, '{')).toBe(reference(['p'], true, undefined, probs, row, {}));
  });

  it('keeps a label named __proto__ (an object would drop it)', () => {
    const line = JSON.parse(lineFormatter(['__proto__', 'b'], true)(Float32Array.of(0.75, 0.25), 0, '{"line":1'));
    expect(line.label).toBe('__proto__');
    expect(Object.keys(line.probabilities)).toEqual(['__proto__', 'b']);
  });
});
