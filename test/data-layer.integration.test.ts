/** Tokenizers, readers, preprocessing, splits and missing values. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError, Preprocessor, readAllRecords, readRecords, SequenceClassifier, splitIndices, Tokenizer, labelSpace } from '../src/index';
import type { DataRecord } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('Tokenizer', () => {
  it('char: ids by frequency, padding 0, unknown 1, code points', () => {
    const t = Tokenizer.fit(['abca', 'cab', 'ä😀'], { kind: 'char' });
    expect(t.vocabulary.slice(0, 2)).toEqual(['<pad>', '<unk>']);
    expect(t.vocabulary.slice(2, 5)).toEqual(['a', 'b', 'c']); // 3, 2, 2 occurrences; ties by code point
    expect(Array.from(t.encode('cabz😀'))).toEqual([4, 2, 3, 1, t.vocabulary.indexOf('😀')]);
    expect(t.size).toBe(7);
  });
  it('word: lower-cases, splits on non-letters, minFrequency, maxSize, maxLength', () => {
    const t = Tokenizer.fit(['The cat; the DOG!', 'the cat sat'], { kind: 'word', minFrequency: 2 });
    expect(t.vocabulary).toEqual(['<pad>', '<unk>', 'the', 'cat']);
    expect(Array.from(t.encode('THE dog cat'))).toEqual([2, 1, 3]);
    expect(Tokenizer.fit(['a b c d', 'a b'], { kind: 'word', maxSize: 4 }).vocabulary).toEqual(['<pad>', '<unk>', 'a', 'b']);
    expect(Tokenizer.fit(['abcdef'], { kind: 'char', maxLength: 3 }).encode('abcdef').length).toBe(3);
  });
  it('encodeInto writes what encode gives: code points, surrogate pairs and lone halves, case, maxLength, unknown ids', () => {
    const alphabet = ['a', 'B', 'é', '😀', '\ud800', '\udc00', ' ', '中', 'ß', 'İ', 'z'];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const texts = Array.from({ length: 300 }, () => Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
    for (const options of [{ kind: 'char' as const }, { kind: 'char' as const, lowercase: true }, { kind: 'char' as const, maxLength: 4, maxSize: 6 }, { kind: 'word' as const }]) {
      const t = Tokenizer.fit(texts.slice(0, 100), options);
      const into = { ids: new Int32Array(2) };
      let at = 3;
      for (const text of texts) {
        const n = t.encodeInto(text, into, at);
        expect(Array.from(into.ids.subarray(at, at + n)), JSON.stringify(text)).toEqual(Array.from(t.encode(text)));
        at += n;
      }
    }
    const strict = Tokenizer.fromJSON({ kind: 'char', lowercase: false, maxLength: null, vocabulary: ['<pad>', 'a', '😀'], unknownId: null });
    expect(strict.encodeInto('a😀a', { ids: new Int32Array(0) }, 0)).toBe(3);
    expect(() => strict.encodeInto('a😁', { ids: new Int32Array(0) }, 0)).toThrow(/token "😁" is not in the model's vocabulary/);
  });

  it('round-trips through JSON and rejects bad JSON', () => {
    const t = Tokenizer.fit(['hello world'], { kind: 'char' });
    expect(Array.from(Tokenizer.fromJSON(JSON.parse(JSON.stringify(t))).encode('low'))).toEqual(Array.from(t.encode('low')));
    expect(() => Tokenizer.fromJSON({ kind: 'bpe', lowercase: false, maxLength: null, vocabulary: ['<pad>', '<unk>'] })).toThrow(/tokenizer\.kind/);
    expect(() => Tokenizer.fromJSON({ kind: 'char', lowercase: false, maxLength: null, vocabulary: ['a', 'a'] })).toThrow(/distinct/);
    expect(() => Tokenizer.fromJSON({ kind: 'char', lowercase: false, maxLength: null, vocabulary: ['a', 'b'], unknownId: 2 })).toThrow(/tokenizer\.unknownId/);
    // Saved without unknownId (every file before it): id 1 is unknown, as it always was.
    const old = Tokenizer.fromJSON({ kind: 'char', lowercase: false, maxLength: null, vocabulary: ['<pad>', '<unk>', 'a'] });
    expect(Array.from(old.encode('az'))).toEqual([2, 1]);
    expect(old.toJSON()).not.toHaveProperty('unknownId');
    expect(() => Tokenizer.fit(['x'], { kind: 'char', minFrequency: 0 })).toThrow(RangeError);
  });
});

describe('readers', () => {
  it('reads JSONL text and dense records, skipping blank lines', async () => {
    const p = file('a.jsonl', '{"text":"hi","label":"en"}\n\n{"sequence":[[1,2],[3,null]],"label":2}\n');
    const records = await readAllRecords(p, 'jsonl');
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ kind: 'text', text: 'hi', label: 'en', line: 1 });
    expect(records[1]).toMatchObject({ kind: 'sequence', label: 2, line: 3 });
    expect(Number.isNaN((records[1] as { sequence: number[][] }).sequence[1][1])).toBe(true);
  });
  it('splits lines at \\n, \\r\\n and a lone \\r, across chunk boundaries, numbered as in the file; a BOM is dropped', async () => {
    const { readRecordBatches } = await import('../src/data/readers');
    // 20,000 records (many stream chunks), line ends of every kind, blank lines between.
    const ends = ['\n', '\r\n', '\r', '\n\n', '\r\n\r\n'];
    let text = '\ufeff';
    const expected: { text: string; line: number }[] = [];
    let line = 1;
    for (let i = 0; i < 20000; i++) {
      const t = `r${i} ${'é😀'.repeat(i % 7)}`;
      text += JSON.stringify({ text: t }) + ends[i % ends.length];
      expected.push({ text: t, line });
      line += ends[i % ends.length] === '\n\n' || ends[i % ends.length] === '\r\n\r\n' ? 2 : 1;
    }
    text += '{"text":"last, no line end"}';
    expected.push({ text: 'last, no line end', line });
    const p = file('lines.jsonl', text);
    const records = await readAllRecords(p, 'jsonl');
    expect(records.map((r) => ({ text: (r as { text: string }).text, line: r.line }))).toEqual(expected);
    const sizes: number[] = [];
    for await (const batch of readRecordBatches(p, 'jsonl', 3000)) sizes.push(batch.length);
    expect(sizes).toEqual([3000, 3000, 3000, 3000, 3000, 3000, 2001]);
    // A \r\n split by the stream's 64 KiB chunks: the \r ends the first chunk.
    let ascii = '';
    while (ascii.length < 65535 - 40) ascii += '{"text":"x"}\n';
    ascii += `{"text":"${'y'.repeat(65535 - ascii.length - 11)}"}`;
    expect(ascii.length).toBe(65535);
    const split = await readAllRecords(file('split.jsonl', `${ascii}\r\n{"text":"after"}\n`), 'jsonl');
    expect(split.slice(-2).map((r) => r.line)).toEqual([split.length - 1, split.length]);
    expect((split[split.length - 1] as { text: string }).text).toBe('after');
    // A lone \r ending the first chunk, and no line end after it: two lines, not one.
    const lone = await readAllRecords(file('lone-cr.jsonl', `${ascii}\r{"text":"last"}`), 'jsonl');
    expect((lone[lone.length - 1] as { text: string }).text).toBe('last');
    expect(lone[lone.length - 1].line).toBe(lone.length);
    // A file ending in \r, and a lone line.
    expect((await readAllRecords(file('cr.jsonl', '{"text":"a"}\r'), 'jsonl')).map((r) => r.line)).toEqual([1]);
    expect(await readAllRecords(file('empty.jsonl', ''), 'jsonl')).toEqual([]);
    // No line end at all (/dev/zero): refused at a bound, not read until memory runs out.
    await expect(readAllRecords('/dev/zero', 'jsonl')).rejects.toThrow(/\/dev\/zero:1: the line is longer than 268435456 characters/);
  }, 30_000);

  it('an upper-case .GZ is gzip too', async () => {
    const { gzipSync } = await import('node:zlib');
    const p = join(dir, 'UPPER.JSONL.GZ');
    writeFileSync(p, gzipSync('{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n'));
    expect((await readAllRecords(p, 'jsonl')).map((r) => (r as { text: string }).text)).toEqual(['a', 'b']);
  });

  it('readRecords hands on the records before a bad one, then throws', async () => {
    const p = file('good-then-bad.jsonl', '{"text":"a"}\n{"text":"b"}\n{"text": broken\n{"text":"c"}\n');
    const seen: string[] = [];
    await expect((async () => {
      for await (const r of readRecords(p, 'jsonl')) seen.push((r as { text: string }).text);
    })()).rejects.toThrow(/good-then-bad\.jsonl:3: not valid JSON/);
    expect(seen).toEqual(['a', 'b']);
  });

  it('names the file and line of malformed records', async () => {
    const cases: [string, RegExp][] = [
      ['{"text":"ok","label":"a"}\n{"text": broken\n', /b\.jsonl:2: not valid JSON/],
      ['[1,2,3]\n', /b\.jsonl:1: expected a JSON object/],
      ['{"label":"a"}\n', /b\.jsonl:1: expected a "text" string, a "sequence" array or an "ids" array/],
      ['{"text":"x","label":1.5}\n', /b\.jsonl:1: "label" must be/],
      ['{"sequence":[[1,"x"]],"label":0}\n', /b\.jsonl:1: sequence\[0\]\[1\] must be a finite number/],
    ];
    for (const [text, message] of cases) {
      const p = file('b.jsonl', text);
      await expect(readAllRecords(p, 'jsonl')).rejects.toThrow(DataFormatError);
      await expect(readAllRecords(p, 'jsonl')).rejects.toThrow(message);
    }
    await expect(readAllRecords(join(dir, 'nope.jsonl'), 'jsonl')).rejects.toThrow(/nope\.jsonl:0: cannot read \(ENOENT\)/);
  });
  it("names the line of csv-parse's own errors (a stray quote on line 5)", async () => {
    const p = file('quote.csv', 'text,label\nsalut,fr\nhello,en\nhola,es\nsa"lut,fr\n');
    await expect(readAllRecords(p, 'csv', { textColumn: 'text', labelColumn: 'label' })).rejects.toThrow(/quote\.csv:5: /);
  });

  it('reads UCR-style CSV (comma or tab), missing values as NaN, names bad lines', async () => {
    const records = await readAllRecords(file('u.csv', '1,0.5,0.25,NaN\n2\t1\t?\t3\n'), 'csv');
    expect(records.map((r) => r.label)).toEqual([1, 2]);
    expect((records[1] as { sequence: number[][] }).sequence.map((s) => s[0])).toEqual([1, NaN, 3]);
    await expect(readAllRecords(file('v.csv', '1,2\n3,abc\n'), 'csv')).rejects.toThrow(/v\.csv:2: value 1 is not a number/);
    await expect(readAllRecords(file('w.csv', 'lonely\n'), 'csv')).rejects.toThrow(/w\.csv:1: expected a label/);
  });
  it('with onError, reports and skips bad records and keeps going', async () => {
    const errors: string[] = [];
    const out: DataRecord[] = [];
    for await (const r of readRecords(file('c.jsonl', '{"text":"a","label":"x"}\nnot json\n{"text":"b","label":"y"}\n'), 'jsonl', (e) => errors.push(e.message)))
      out.push(r);
    expect(out.map((r) => r.line)).toEqual([1, 3]);
    expect(errors).toEqual([expect.stringMatching(/c\.jsonl:2: not valid JSON/)]);
  });
});

describe('Preprocessor', () => {
  const seq = (line: number, sequence: number[][], label = 0): DataRecord => ({ kind: 'sequence', sequence, label, line, file: 'd.jsonl' });
  it('standardises dense features with the training mean and std, and saves them', () => {
    const pre = Preprocessor.fit([seq(1, [[1, 10], [3, 10]]), seq(2, [[5, 10]])]);
    expect(pre.normalization!.mean).toEqual([3, 10]);
    expect(pre.normalization!.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 10);
    expect(pre.normalization!.std[1]).toBe(1); // constant feature: no division by zero
    const { x } = pre.encode([seq(3, [[3, 11]])]);
    expect(Array.from(x.values)).toEqual([0, 1]);
    expect(Preprocessor.fromJSON(JSON.parse(JSON.stringify(pre.toJSON()))).normalization).toEqual(pre.normalization);
  });
  it('rejects missing values by default, naming the record, step and feature', () => {
    expect(() => Preprocessor.fit([seq(7, [[1, 2], [3, NaN]])])).toThrow(/d\.jsonl:7: missing value at step 1, feature 1/);
  });
  it('handles missing values with zero, ffill and mask', () => {
    const records = [seq(1, [[1, 2], [NaN, 4], [5, NaN]])];
    const enc = (missing: 'zero' | 'ffill' | 'mask') => Preprocessor.fit(records, { missing, normalize: false }).encode(records).x;
    expect(Array.from(enc('zero').values)).toEqual([1, 2, 0, 4, 5, 0]);
    expect(Array.from(enc('ffill').values)).toEqual([1, 2, 1, 4, 5, 4]);
    const masked = enc('mask');
    expect(Array.from(masked.lengths!)).toEqual([1]);
    expect(Array.from(masked.values)).toEqual([1, 2]);
    expect(() => Preprocessor.fit([seq(2, [[NaN, 1]])], { missing: 'mask' })).toThrow(/d\.jsonl:2: the sequence is empty/);
  });
  it('text: encodes with the fitted tokenizer; empty texts and kind mixes are errors', () => {
    const text = (line: number, t: string): DataRecord => ({ kind: 'text', text: t, label: 'a', line, file: 't.jsonl' });
    const pre = Preprocessor.fit([text(1, 'abc'), text(2, 'cab')]);
    const { x } = pre.encode([text(3, 'ab'), text(4, 'cabz')]);
    expect(x.shape).toEqual([2, 4]);
    expect(Array.from(x.lengths!)).toEqual([2, 4]);
    expect(() => pre.encode([text(5, '')])).toThrow(/t\.jsonl:5: the text has no tokens/);
    const skipped: number[] = [];
    const { kept } = pre.encode([text(6, 'a'), text(7, ''), text(8, 'b')], (r) => skipped.push(r.line));
    expect(kept).toEqual([0, 2]);
    expect(skipped).toEqual([7]);
    expect(() => Preprocessor.fit([text(1, 'a'), seq(2, [[1]])])).toThrow(/mixes/);
  });
  it('label space: sorted names, or integer classes', () => {
    expect(labelSpace([{ kind: 'text', text: 'a', label: 'fr', line: 1 }, { kind: 'text', text: 'b', label: 'de', line: 2 }]).classes).toEqual(['de', 'fr']);
    expect(labelSpace([seq(1, [[1]], 0), seq(2, [[1]], 4)]).classes).toBe(5);
  });
});

describe('splits', () => {
  it('is seeded and, when stratified, keeps class proportions', () => {
    const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : 1));
    const a = splitIndices(labels, 0.25, 1, true);
    expect(splitIndices(labels, 0.25, 1, true)).toEqual(a);
    expect(a.validation.length).toBe(25);
    expect(Array.from(a.validation).filter((i) => labels[i] === 1).length).toBe(5);
    expect(new Set([...a.train, ...a.validation]).size).toBe(100);
    expect(splitIndices(labels, 0.25, 2, true).validation).not.toEqual(a.validation);
  });
});

describe('missing values through the API', () => {
  it('NaN is rejected by default and handled on request; evaluation is unaffected by the policy of other data', async () => {
    const m = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 3 }], classes: 2 });
    const x = [[[1, 2], [NaN, 4], [5, 6]]];
    await expect(m.predictProba(x)).rejects.toThrow(/finite number for x\[0\]\[1\]\[0\]/);
    const zero = await m.predictProba(x, { missing: 'zero' });
    expect(zero).toEqual(await m.predictProba([[[1, 2], [0, 4], [5, 6]]]));
    expect(await m.predictProba(x, { missing: 'ffill' })).toEqual(await m.predictProba([[[1, 2], [1, 4], [5, 6]]]));
    expect(await m.predictProba(x, { missing: 'mask' })).toEqual(await m.predictProba([[[1, 2], [5, 6]]]));
    const typed = { values: Float32Array.from([1, 2, NaN, 4, 5, 6]), shape: [1, 3, 2] };
    expect(await m.predictProba(typed, { missing: 'zero' })).toEqual(Float32Array.from(zero.flat()));
    expect(Number.isNaN(typed.values[2])).toBe(true); // the caller's array is untouched
    await expect(m.predictProba(x, { missing: 'guess' as never })).rejects.toThrow(/options\.missing/);
    m.dispose();
  });
});

describe('data sources', () => {
  it('readAll gathers a large record file (250,000 lines) and an IDX set through one interface', async () => {
    const { openSource, readAll } = await import('../src/index');
    const path = join(dir, 'many.jsonl');
    writeFileSync(path, Array.from({ length: 250_000 }, (_, i) => JSON.stringify({ text: `t${i % 97}`, label: i % 2 ? 'a' : 'b' })).join('\n') + '\n');
    const all = await readAll(openSource(path, 'auto'));
    expect(all.kind === 'records' && all.records.length).toBe(250_000);
    expect(all.kind === 'records' && all.records[249_999].line).toBe(250_000);
    const chunks = [];
    for await (const chunk of openSource(path, 'jsonl').chunks(100_000)) chunks.push(chunk.kind === 'records' ? chunk.records.length : -1);
    expect(chunks).toEqual([100_000, 100_000, 50_000]);
    expect(() => openSource(join(dir, 'absent.jsonl'), 'auto')).toThrow(/no such file/);
  });
});

describe('one missing-value implementation', () => {
  it('the API (typed input) and the preprocessing (records) apply each policy the same way', async () => {
    const { applyMissingPolicy } = await import('../src/data/missing');
    const { toSequenceSet } = await import('../src/data/sequence-set');
    const { resolveConfig } = await import('../src/model/config');
    const steps = [[NaN, 1], [2, NaN], [NaN, NaN], [5, 6]];
    const config = resolveConfig({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 2 }], classes: 2 });
    for (const policy of ['zero', 'ffill', 'mask'] as const) {
      const set = toSequenceSet({ values: Float32Array.from(steps.flat()), shape: [1, 4, 2] }, config, 'x', policy);
      const viaApi = Array.from(set.dense!.subarray(0, set.lengths[0] * 2));
      const pre = Preprocessor.fit([{ kind: 'sequence', sequence: steps, label: 'a', line: 1 } as DataRecord], { missing: policy, normalize: false });
      const viaRecords = pre.clean({ kind: 'sequence', sequence: steps, label: 'a', line: 1 } as never).flat();
      expect(viaRecords, policy).toEqual(viaApi);
    }
    expect(applyMissingPolicy(Float32Array.from(steps.flat()), 0, 4, 2, 'ffill').kept).toBe(4);
    expect(applyMissingPolicy(Float32Array.from(steps.flat()), 0, 4, 2, 'error').missingAt).toEqual([0, 0]);
    expect(applyMissingPolicy(Float32Array.from(steps.flat()), 0, 4, 2, 'mask').kept).toBe(1);
  });
});
