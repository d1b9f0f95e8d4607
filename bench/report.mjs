#!/usr/bin/env node
// `npm run bench:report`: what a training report costs. Two real runs — the Fashion-MNIST
// demo (`npm run demo -- --report`, 2 epochs, the test set evaluated per epoch) and a
// 200-epoch run on a small task — then, for each report: its size, the time to render and
// write it (what fit() spends after each epoch), and Chromium's load time (navigation to the
// load event, median of 5, Debian's chromium through playwright-core). Writes
// bench/REPORT.md (only when every figure was measured).
//
//   node bench/report.mjs [--reps 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseOptions, positiveIntegers, writeReportIfComplete } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const opt = parseOptions('bench/report.mjs', { reps: { type: 'string', default: '5' }, report: { type: 'string', default: join(here, 'REPORT.md') } });
const [reps] = positiveIntegers('bench/report.mjs', '--reps', opt.reps);
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-bench-report-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rnn = await import(join(root, 'dist', 'index.js'));
const { reportHtml } = await import(join(root, 'dist', 'report', 'page.js'));
const { parseMetricsLog } = await import(join(root, 'dist', 'report', 'report-data.js'));
const { SequenceClassifier } = rnn.default ?? rnn;

// 1. The demo, with its report and metrics log.
const demoReport = join(dir, 'fashion-mnist.html');
const demo = spawnSync(process.execPath, [join(root, 'dist', 'examples', 'fashion-mnist.js'), '--report', demoReport], { encoding: 'utf8' });
if (demo.status !== 0) {
  process.stderr.write(`bench/report.mjs: the demo failed: ${demo.stderr.trim().split('\n').pop()}\n`);
  process.exit(1);
}

// 2. 200 epochs of a small task (the size test's shape), with its metrics log.
function sequences(n, seed) {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Array.from({ length: n }, (_, i) => Array.from({ length: 3 + (i % 6) }, () => [r(), r()]));
  return { x, y: x.map((q) => (q.reduce((a, t) => a + t[0], 0) > 0 ? 1 : 0)) };
}
const longReport = join(dir, 'long.html');
const longLog = join(dir, 'long.jsonl');
const model = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 16 }], classes: 2, seed: 1 });
const plain = sequences(256, 3);
let t0 = performance.now();
await model.fit(plain, { epochs: 200, batchSize: 16, validationSplit: 0.25 });
const withoutReport = performance.now() - t0;
const model2 = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 16 }], classes: 2, seed: 1 });
t0 = performance.now();
await model2.fit(plain, { epochs: 200, batchSize: 16, validationSplit: 0.25, report: longReport, metricsLog: longLog });
const withReport = performance.now() - t0;

/** Median time to render a report's data to HTML (the work behind each per-epoch write). */
async function renderMs(html) {
  const data = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)[1]);
  const times = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await reportHtml(data);
    times.push(performance.now() - start);
  }
  return median(times);
}

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
async function loadMs(path) {
  const times = [];
  for (let i = 0; i < reps; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`file://${path}`, { waitUntil: 'load' });
    times.push(await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd));
    await page.close();
  }
  return median(times);
}

const rows = [];
for (const [name, path, epochs] of [['Fashion-MNIST demo (LSTM(128), 60k records, 10 classes)', demoReport, 2], ['small task, 200 epochs (GRU(16), 2 classes)', longReport, 200]]) {
  const html = readFileSync(path, 'utf8');
  rows.push({ name, epochs, bytes: statSync(path).size, render: await renderMs(html), load: await loadMs(path) });
}
await browser.close();
parseMetricsLog(readFileSync(longLog, 'utf8'));

const missing = rows.filter((r) => !(r.bytes > 0 && r.render > 0 && r.load > 0)).map((r) => r.name);
const table = rows.map((r) => `| ${r.name} | ${r.epochs} | ${(r.bytes / 1024).toFixed(0)} KiB | ${r.render.toFixed(1)} ms | ${r.load.toFixed(0)} ms |`).join('\n');
const text = `# Report cost

Generated by \`npm run bench:report\` on ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} CPUs, Node ${process.versions.node}, ${reps} repetitions (medians).

| run | epochs | report size | render (per write) | Chromium load |
|---|---|---|---|---|
${table}

- render: building the page from its data in Node (SVG charts, tables, embedded JSON); fit()
  does it after every epoch, then writes the file atomically.
- The 200-epoch run took ${(withReport / 1000).toFixed(2)} s with its report and metrics log rewritten after each
  epoch, ${(withoutReport / 1000).toFixed(2)} s without (${(((withReport - withoutReport) / 200)).toFixed(1)} ms per epoch for the report, on a task whose
  epochs take ${(withoutReport / 200).toFixed(1)} ms).
- Chromium load: navigation start to the end of the load event, file:// URL, 1280 px wide.
- The charting library (d3-scale and its d3 dependencies, 1.1 MB installed) adds nothing to
  the page: it runs in Node when the report is written.
`;
writeReportIfComplete('bench/report.mjs', opt.report, text, missing);
rmSync(dir, { recursive: true, force: true });
console.log(text);
