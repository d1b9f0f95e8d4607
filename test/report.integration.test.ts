/**
 * Reports from fit() and evaluate() without a browser (test/report.browser.e2e.test.ts opens
 * them in Chromium): the files appear after every epoch and are whole, the page has its
 * eight panels and its embedded data, the metrics log rebuilds the same page, user input is
 * escaped, a long run stays small, and bad options fail before any training.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { earlyStopping, SequenceClassifier } from '../src/index';
import { reportHtml } from '../src/report/page';
import { metricsLogOf, parseMetricsLog, type ReportData } from '../src/report/report-data';
import { jsonForScript } from '../src/report/escape';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE = '<img src=x onerror=alert(1)>';

function sequences(n: number, seed: number) {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Array.from({ length: n }, (_, i) => Array.from({ length: 3 + (i % 6) }, () => [r(), r()]));
  const y = x.map((q) => {
    const sum = q.reduce((a, t) => a + t[0], 0);
    return sum > 0.4 ? 2 : sum > -0.4 ? 1 : 0;
  });
  return { x, y };
}

function embedded(html: string): ReportData {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]);
}

const panels = (html: string) => [...html.matchAll(/<section data-panel="([a-z-]+)"/g)].map((m) => m[1]);
const ALL_PANELS = ['run', 'curves', 'lr', 'throughput', 'confusion', 'per-class', 'roc-pr', 'mistakes'];

describe('fit({ report, metricsLog })', () => {
  const model = () => new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 12 }], classes: ['low', 'mid', HOSTILE], seed: 4 });

  it('rewrites both files after every epoch, whole, then adds the evaluation', async () => {
    const report = join(dir, 'fit.html');
    const log = join(dir, 'fit.jsonl');
    const seen: { epochs: number; complete: boolean; lines: number }[] = [];
    const watcher = {
      // Runs before the next epoch: the files the previous epoch's end wrote.
      onEpochBegin: () => {
        if (!existsSync(report)) return;
        const data = embedded(readFileSync(report, 'utf8'));
        seen.push({ epochs: data.epochs.length, complete: data.complete, lines: readFileSync(log, 'utf8').trim().split('\n').length });
      },
    };
    const { x, y } = sequences(300, 1);
    const m = model();
    await m.fit({ x, y }, { epochs: 4, validationSplit: 0.25, report, metricsLog: log, callbacks: [watcher], optimizer: { type: 'adam', learningRate: 0.01 } });
    expect(seen).toEqual([1, 2, 3].map((e) => ({ epochs: e, complete: false, lines: e })));
    const html = readFileSync(report, 'utf8');
    expect(panels(html)).toEqual(ALL_PANELS);
    const data = embedded(html);
    expect(data.complete).toBe(true);
    expect(data.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    expect(data.run).toMatchObject({ kind: 'train', data: { records: 225, validationRecords: 75, labels: ['low', 'mid', HOSTILE] } });
    expect(data.run.data.classCounts.reduce((a, b) => a + b, 0)).toBe(225);
    expect(data.run.model.layers.map((l) => l.kind)).toEqual(['gru (reset after)', 'dense + softmax']);
    expect(data.run.model.params).toBe(m.paramCount);
    const e = data.evaluation!;
    expect(e.on).toBe('validation');
    expect(e.count).toBe(75);
    expect(e.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(75);
    // The final evaluation is of the final weights: the same accuracy evaluate() gives.
    const split = data.epochs[3];
    expect(e.accuracy).toBeCloseTo(split.valAccuracy!, 10);
    // Mistakes name records by their index in `data` (the validation split keeps it).
    for (const mistake of e.mistakes) expect(mistake.truth).toBe(['low', 'mid', HOSTILE][y[mistake.index]]);
    expect(data.batches!.x.length).toBe(4 * Math.ceil(225 / 32));
    // No temp files left beside them.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('the metrics log rebuilds the same page, byte for byte', async () => {
    const html = readFileSync(join(dir, 'fit.html'), 'utf8');
    const rebuilt = await reportHtml(parseMetricsLog(readFileSync(join(dir, 'fit.jsonl'), 'utf8')));
    expect(rebuilt).toBe(html);
  });

  it('escapes labels and texts: the hostile label is text, never markup, and the embedded JSON cannot end its script', () => {
    const html = readFileSync(join(dir, 'fit.html'), 'utf8');
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html.match(/<img/g)).toBeNull();
    expect(jsonForScript({ label: '</script><script>alert(1)</script>' })).not.toMatch(/<|>/);
    expect(JSON.parse(jsonForScript({ label: '</script>\u2028' }))).toEqual({ label: '</script>\u2028' });
  });

  it('marks the best epoch, the early stop and the restored weights', async () => {
    const report = join(dir, 'stopped.html');
    const { x, y } = sequences(200, 2);
    const stopper = earlyStopping({ patience: 1, restoreBestWeights: true, monitor: 'valLoss' });
    // A learning rate this high makes the validation loss rise soon.
    await model().fit({ x, y }, { epochs: 30, validationSplit: 0.3, report, callbacks: [stopper], optimizer: { type: 'sgd', learningRate: 3 } });
    const data = embedded(readFileSync(report, 'utf8'));
    expect(stopper.stoppedEpoch).not.toBeNull();
    expect(data.markers).toEqual({ monitor: 'valLoss', bestEpoch: stopper.bestEpoch, stoppedEpoch: stopper.stoppedEpoch, restoredEpoch: stopper.bestEpoch });
    expect(readFileSync(report, 'utf8')).toMatch(/data-marker="early stop"/);
  });

  it('without validation data, evaluates on the training data and says so', async () => {
    const report = join(dir, 'no-val.html');
    const { x, y } = sequences(120, 3);
    await model().fit({ x, y }, { epochs: 1, report: { path: report, title: 'My <run>', describeRecord: (i) => `row ${i} of my table` } });
    const html = readFileSync(report, 'utf8');
    const data = embedded(html);
    expect(data.evaluation).toMatchObject({ on: 'training', count: 120 });
    expect(html).toContain('<title>My &lt;run&gt;</title>');
    expect(html).toContain('Computed on the training data (there was no validation data)');
    for (const m of data.evaluation!.mistakes) expect(m.record).toBe(`row ${m.index} of my table`);
  });

  it('a 200-epoch run makes a report under 2 MB', async () => {
    const report = join(dir, 'long.html');
    const { x, y } = sequences(64, 5);
    await model().fit({ x, y }, { epochs: 200, batchSize: 8, validationSplit: 0.25, report });
    const size = readFileSync(report).length;
    expect(embedded(readFileSync(report, 'utf8')).epochs).toHaveLength(200);
    expect(size).toBeLessThan(2e6);
  });

  it('an aborted run leaves a report that says so', async () => {
    const report = join(dir, 'aborted.html');
    const { x, y } = sequences(100, 6);
    const controller = new AbortController();
    const stopAfterTwo = { onEpochEnd: (epoch: number) => (epoch === 1 ? controller.abort(new Error('enough')) : undefined) };
    await expect(model().fit({ x, y }, { epochs: 5, report, callbacks: [stopAfterTwo], signal: controller.signal })).rejects.toThrow('enough');
    const data = embedded(readFileSync(report, 'utf8'));
    expect(data).toMatchObject({ complete: false, failure: 'Error: enough', evaluation: null });
    expect(data.epochs).toHaveLength(2);
  });

  it('refuses bad report options before training, naming the option', async () => {
    const { x, y } = sequences(20, 7);
    const m = model();
    await expect(m.fit({ x, y }, { report: 42 as never })).rejects.toThrow(/options\.report/);
    await expect(m.fit({ x, y }, { report: join(dir, 'missing-folder', 'r.html') })).rejects.toThrow(/existing folder.*for options\.report/);
    await expect(m.fit({ x, y }, { metricsLog: '' })).rejects.toThrow(TypeError);
    await expect(m.fit({ x, y }, { report: { path: join(dir, 'x.html'), describeRecord: 'no' as never } })).rejects.toThrow(/options\.report\.describeRecord/);
    await expect(m.fit({ x, y }, { report: { title: 'no path' } as never })).rejects.toThrow(/options\.report\.path/);
    expect(m.epochsTrained).toBe(0);
  });
});

describe('evaluate({ report })', () => {
  it('writes an evaluation report: run, confusion, per-class, curves and mistakes; no training panels', async () => {
    const { x, y } = sequences(150, 8);
    const m = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'lstm', units: 8 }], classes: 3, seed: 1 });
    await m.fit({ x, y }, { epochs: 2 });
    const report = join(dir, 'evaluate.html');
    const log = join(dir, 'evaluate.jsonl');
    const metrics = await m.evaluate({ x, y }, { report, metricsLog: log });
    const html = readFileSync(report, 'utf8');
    expect(panels(html)).toEqual(ALL_PANELS);
    const data = embedded(html);
    expect(data.run.kind).toBe('evaluate');
    expect(data.evaluation).toMatchObject({ on: 'evaluation', count: 150, accuracy: metrics.accuracy, confusionMatrix: metrics.confusionMatrix });
    expect(data.evaluation!.mistakes[0].record).toMatch(/^\d+ steps: \[/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(metricsLogOf(parseMetricsLog(readFileSync(log, 'utf8')))).toBe(readFileSync(log, 'utf8'));
  });

  it('text models show the decoded text of their mistakes', async () => {
    const m = new SequenceClassifier({ input: { type: 'tokens', vocabSize: 6, embeddingDim: 4 }, layers: [{ cell: 'gru', units: 4 }], classes: 2, seed: 1 });
    m.preprocessing = { kind: 'text', tokenizer: { kind: 'char', lowercase: false, maxLength: null, vocabulary: ['<pad>', '<unk>', 'a', 'b', 'c', 'd'] }, maxLength: null };
    const x = { values: Int32Array.from([2, 3, 4, 0, 5, 5, 2, 1]), shape: [2, 4], lengths: Int32Array.from([3, 4]) };
    const report = join(dir, 'text.html');
    await m.evaluate({ x, y: [1, 1] }, { report });
    const records = embedded(readFileSync(report, 'utf8')).evaluation!.mistakes.map((e) => e.record).sort();
    // Both are mistakes or neither: whichever the untrained model got wrong reads as text.
    for (const r of records) expect(['abc', 'dda�']).toContain(r);
  });
});

describe('metrics log parsing', () => {
  it('names the line of anything that is not a log this library wrote', () => {
    expect(() => parseMetricsLog('not json\n', 'm.jsonl')).toThrow(/m\.jsonl:1: not JSON/);
    expect(() => parseMetricsLog('{"type":"epoch","epoch":0}\n', 'm.jsonl')).toThrow(/m\.jsonl:1: epoch line without a number "loss"/);
    expect(() => parseMetricsLog('{"type":"other"}\n', 'm.jsonl')).toThrow(/unknown line type "other"/);
    expect(() => parseMetricsLog('{"type":"final","format":"x","version":1}\n', 'm.jsonl')).toThrow(/format "x"/);
    expect(() => parseMetricsLog('', 'm.jsonl')).toThrow(/no epoch lines/);
    const epoch = '{"type":"epoch","epoch":0,"loss":1,"accuracy":0.5,"learningRate":0.001,"seconds":1,"sequencesPerSecond":10}';
    const final = readFileSync(join(dir, 'fit.jsonl'), 'utf8').trim().split('\n').pop()!;
    expect(() => parseMetricsLog(`${final}\n${epoch}\n`, 'm.jsonl')).toThrow(/m\.jsonl:2: a line after the final line/);
    // A run that did not finish: its epochs, and a report that says so.
    const partial = parseMetricsLog(`${epoch}\n`);
    expect(partial).toMatchObject({ complete: false, evaluation: null, epochs: [{ epoch: 0 }] });
  });

  it('a log cut short by a crash still makes a page with all the panels', async () => {
    const epoch = '{"type":"epoch","epoch":0,"loss":1,"accuracy":0.5,"learningRate":0.001,"seconds":1,"sequencesPerSecond":10}';
    writeFileSync(join(dir, 'partial.jsonl'), `${epoch}\n`);
    const html = await reportHtml(parseMetricsLog(readFileSync(join(dir, 'partial.jsonl'), 'utf8')));
    expect(panels(html)).toEqual(ALL_PANELS);
    expect(html).toMatch(/unfinished: 1 epoch logged, no final line/);
  });
});
