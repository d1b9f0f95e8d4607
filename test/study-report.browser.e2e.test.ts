/**
 * The study report (tune's --report) in a real browser: Debian's Chromium driven by
 * playwright-core, as the training report's test. Two real studies write the pages: one
 * through the library with a define-by-run space whose choice values are markup, one through
 * the CLI (`rnn-node tune --report`), whose page carries the command that retrains the best.
 *
 * Checked: no console errors or dialogs; every panel; the trial counts of the table, the
 * embedded data, the parallel coordinates and the learning curves equal the study's; the
 * history has a point per epoch trained; hostile values are text; nothing overflows a phone
 * screen; the retrain command retrains (it is run).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tune, type Study } from '../src/tune/tune';
import type { StudyReportData } from '../src/tune/study-report-data';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const HOSTILE = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', 'plain'];
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-study-browser-'));
let browser: Browser;
let study: Study;

/** Two classes of noisy sequences: rising or falling, 12 steps of 2 features. */
function sequences(count: number, seed: number) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const values = new Float32Array(count * 12 * 2);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % 2;
    for (let t = 0; t < 12; t++) {
      const trend = (y[i] ? 1 : -1) * (t / 12);
      values[(i * 12 + t) * 2] = trend + (rand() - 0.5) * 1.2;
      values[(i * 12 + t) * 2 + 1] = rand() - 0.5;
    }
  }
  return { x: { values, shape: [count, 12, 2] }, y };
}

async function open(path: string, width: number) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`file://${path}`);
  const data = await page.evaluate(() => JSON.parse(document.getElementById('study-data')!.textContent!) as StudyReportData);
  return { page, errors, dialogs, data, close: () => context.close() };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh installs it), or set CHROMIUM_PATH`);
  study = await tune({
    data: sequences(240, 1),
    validationData: sequences(80, 2),
    space: (trial) => {
      trial.choice('note', HOSTILE);  // a parameter whose values are markup
      return {
        config: { layers: [{ cell: trial.choice('cell', ['lstm', 'gru']), units: trial.int('units', 4, 16, { log: true }) }] },
        fit: { batchSize: 32, optimizer: { type: 'adam', learningRate: trial.float('lr', 1e-3, 3e-2, { log: true }) } },
      };
    },
    budget: { trials: 9 },
    minEpochs: 1,
    maxEpochs: 4,
    eta: 2,
    sampler: 'random',
    seed: 3,
    threads: 1,
    study: join(dir, 'library.jsonl'),
    report: join(dir, 'library.html'),
  });
  study.bestModel?.dispose();
  // The CLI's study, on JSONL records.
  const { x, y } = sequences(200, 5);
  const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ sequence: Array.from({ length: 12 }, (_, t) => [x.values[(i * 12 + t) * 2], x.values[(i * 12 + t) * 2 + 1]]), label: y[i] ? 'rise' : 'fall' }));
  writeFileSync(join(dir, 'records.jsonl'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'space.json'), JSON.stringify({ cell: { choice: ['lstm', 'gru'] }, units: { int: [4, 12] }, lr: { float: [0.003, 0.03], log: true }, 'batch-size': 32 }));
  const r = spawnSync(process.execPath, [CLI, 'tune', '--data', 'records.jsonl', '--validation-split', '0.25', '--space', 'space.json', '--budget', '5 trials', '--max-epochs', '3', '--sampler', 'random', '--threads', '1', '--study', 'cli.jsonl', '--out', 'best.rnn', '--report', 'cli.html', '--json'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`rnn-node tune failed (${r.status}): ${r.stderr}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the study report in Chromium', () => {
  it('has every panel, and its counts are the study\'s', async () => {
    const { page, errors, dialogs, data, close } = await open(join(dir, 'library.html'), 1280);
    expect(await page.$$eval('section[data-panel]', (s) => s.map((x) => x.getAttribute('data-panel')))).toEqual(['summary', 'history', 'rungs', 'parallel', 'importance', 'curves', 'trials']);
    expect(data.complete).toBe(true);
    expect(data.trials).toHaveLength(study.trials.length);
    expect(study.trials).toHaveLength(9);
    expect(await page.$$eval('table.trials tbody tr', (rows) => rows.length)).toBe(9);
    expect(await page.getAttribute('[data-best]', 'data-best')).toBe(String(study.best!.id));
    const epochs = study.trials.reduce((n, t) => n + t.epochs, 0);
    const series = await page.$$eval('svg.chart[data-chart]', (svgs) => Object.fromEntries(svgs.map((svg) => [svg.getAttribute('data-chart'), [...svg.querySelectorAll('g.series')].map((g) => Number(g.getAttribute('data-points')))])));
    expect(series.history[0]).toBe(epochs);  // one dot per epoch trained
    expect(series.curves).toHaveLength(study.trials.filter((t) => t.epochs > 0).length);
    expect(series.curves.reduce((a, b) => a + b, 0)).toBe(epochs);
    expect(series.rungs[0]).toBe(study.trials.filter((t) => t.rung >= 0).length);
    // Every trial reached rung 0 (1 epoch): each is a line across the parallel coordinates.
    expect(Number(await page.getAttribute('svg[data-chart="parallel"]', 'data-lines'))).toBe(9);
    expect(await page.$$eval('svg[data-chart="parallel"] path.trial', (p) => p.length)).toBe(9);
    // Rung counts: everything reached rung 0; each rung's promotions are the next rung's trials.
    expect(data.rungs.map((r) => r.epochs)).toEqual([1, 2, 4]);
    expect(data.rungs[0].reached).toBe(9);
    for (let k = 0; k + 1 < data.rungs.length; k++) expect(data.rungs[k].promoted).toBeGreaterThanOrEqual(data.rungs[k + 1].reached);
    const shares = data.importance!.map((r) => r.share);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(data.importance!.map((r) => r.name).sort()).toEqual(['cell', 'lr', 'note', 'units']);
    expect(data.best!.settings!.config.layers[0].units).toBe(study.best!.params.units);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    await close();
  });

  it('shows hostile parameter values as text, and fits a phone screen', async () => {
    const { page, errors, dialogs, close } = await open(join(dir, 'library.html'), 390);
    const cells = await page.$$eval('table.trials td.params', (tds) => tds.map((td) => td.textContent ?? ''));
    const seen = HOSTILE.filter((h) => cells.some((c) => c.includes(`note=${h}`)));
    expect(seen.length).toBeGreaterThan(1);
    expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    const png = await page.screenshot({ fullPage: true });
    expect(png.length).toBeGreaterThan(20_000);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    await close();
  });

  it('from the CLI: carries the command that retrains the best trial, and that command works', async () => {
    const { page, errors, data, close } = await open(join(dir, 'cli.html'), 1280);
    const status = JSON.parse(spawnSync(process.execPath, [CLI, 'tune', 'status', '--study', 'cli.jsonl', '--json'], { cwd: dir, encoding: 'utf8' }).stdout);
    expect(data.trials).toHaveLength(status.trials.length);
    expect(await page.$$eval('table.trials tbody tr', (rows) => rows.length)).toBe(status.trials.length);
    const command = (await page.textContent('pre[data-command]'))!;
    const best = status.best;
    expect(command).toContain('--data records.jsonl --validation-split 0.25');
    expect(command).toContain(`--units ${best.params.units}`);
    expect(command).toContain('--batch-size 32');
    expect(command).toContain(`--epochs ${best.epochs}`);
    expect(errors).toEqual([]);
    await close();
    // The command, run as printed (less its program name), trains the same model.
    const args = command.trim().split(/\s+/).slice(2).map((a) => a.replace(/^'|'$/g, ''));
    const r = spawnSync(process.execPath, [CLI, 'train', ...args, '--json'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).epochs).toBe(best.epochs);
    expect(readFileSync(join(dir, 'model.rnn')).length).toBeGreaterThan(0);
  });
});
