/**
 * The HTML report in a real browser: Debian's Chromium (/usr/bin/chromium, apt package
 * `chromium`), driven by playwright-core, which downloads no browser. The reports come from
 * real short training runs of the CLI: Fashion-MNIST rows (a subset, written as JSONL with the
 * class names as labels) and a text task whose labels and texts are HTML.
 *
 * Checked: no console errors; every panel; each chart's series and point counts equal the
 * embedded report data; the confusion matrix sums to the evaluated records; screenshots at
 * 1280 and 390 px are not blank and nothing overflows horizontally; the page works with
 * JavaScript off; it prints; sorting and the counts/normalised switch work; hostile labels are text.
 * `UPDATE_SCREENSHOTS=1` rewrites docs/report-screenshot.png (the README's picture).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readIdxDataset } from '../src/data/idx';
import type { ReportData } from '../src/report/report-data';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FASHION = '/usr/share/datasets/fashion-mnist';
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const HOSTILE_LABEL = '<img src=x onerror=alert(1)>';
const HOSTILE_TEXT = '</script><script>alert(2)</script>';
const CLI = join(__dirname, '..', 'dist', 'cli.js');
const root = join(__dirname, '..');

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-report-browser-'));
let browser: Browser;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`rnn-node ${args[0]} failed (${r.status}): ${r.stderr}`);
  return r;
}

/** Fashion-MNIST rows as JSONL sequences (28 steps of 28 pixels), labelled with the class names. */
function fashionJsonl(prefix: 'train' | 't10k', count: number, path: string) {
  const { x, y } = readIdxDataset(FASHION, prefix, count);
  const lines: string[] = [];
  for (let i = 0; i < y.length; i++) {
    const rows = Array.from({ length: 28 }, (_, r) => Array.from(x.values.subarray(i * 784 + r * 28, i * 784 + r * 28 + 28), (v) => +v.toFixed(3)));
    lines.push(JSON.stringify({ sequence: rows, label: CLASSES[y[i]] }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

async function open(path: string, width: number, javaScriptEnabled = true) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`file://${path}`);
  return { page, errors, dialogs, close: () => context.close() };
}

const reportData = (page: Page) => page.evaluate(() => JSON.parse(document.getElementById('report-data')!.textContent!) as ReportData);

/** Share of a PNG's pixels that are not the page background, measured by the browser itself. */
async function inkShare(page: Page, png: Buffer): Promise<number> {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, img.width, img.height).data;
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) ink++;
    return ink / (data.length / 4);
  }, png.toString('base64'));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh installs it), or set CHROMIUM_PATH`);
  if (!existsSync(FASHION)) throw new Error(`${FASHION} is missing: apt-get install dataset-fashion-mnist (scripts/setup.sh installs it)`);
  fashionJsonl('train', 3000, join(dir, 'fashion-train.jsonl'));
  fashionJsonl('t10k', 600, join(dir, 'fashion-val.jsonl'));
  cli(['train', '--data', 'fashion-train.jsonl', '--validation', 'fashion-val.jsonl', '--units', '48', '--epochs', '4', '--batch-size', '64', '--lr', '0.005', '--schedule', 'cosine', '--patience', '3', '--out', 'fashion.rnn', '--report', 'fashion.html', '--metrics-log', 'fashion.jsonl', '--report-title', 'Fashion-MNIST rows, LSTM(48), 3,000 records', '--json']);
  // Text whose labels and contents are markup: the report must show them as text.
  const texts = Array.from({ length: 160 }, (_, i) => {
    const label = i % 2 ? HOSTILE_LABEL : 'plain';
    const text = i % 2 ? `${HOSTILE_TEXT} ${'xyz'.repeat(1 + (i % 4))}` : `hello ${'abc'.repeat(1 + (i % 3))}`;
    return JSON.stringify({ text, label });
  });
  writeFileSync(join(dir, 'hostile.jsonl'), texts.join('\n') + '\n');
  cli(['train', '--data', 'hostile.jsonl', '--validation-split', '0.25', '--units', '8', '--epochs', '2', '--out', 'hostile.rnn', '--report', 'hostile.html', '--json']);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container: no sandbox; nothing of Chromium's own may reach the network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the training report in Chromium', () => {
  it('has every panel, no console errors, and charts whose series and points are the embedded data', async () => {
    const { page, errors, close } = await open(join(dir, 'fashion.html'), 1280);
    const panels = await page.$$eval('section[data-panel]', (sections) => sections.map((s) => s.getAttribute('data-panel')));
    expect(panels).toEqual(['run', 'curves', 'lr', 'throughput', 'confusion', 'per-class', 'roc-pr', 'mistakes']);
    const data = await reportData(page);
    expect(data.complete).toBe(true);
    expect(data.epochs).toHaveLength(4);
    const charts = await page.$$eval('svg.chart', (svgs) =>
      Object.fromEntries(svgs.map((svg) => [svg.getAttribute('data-chart'), [...svg.querySelectorAll('g.series')].map((g) => ({ name: g.getAttribute('data-series'), points: Number(g.getAttribute('data-points')), drawn: (g.querySelector('path')!.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0 }))])),
    );
    const epochs = data.epochs.length;
    const batches = data.batches!.x.length;
    for (const metric of ['loss', 'accuracy']) {
      expect(charts[metric].map((s) => s.points)).toEqual([batches, epochs, epochs]);
      expect(charts[metric].map((s) => s.drawn)).toEqual([batches, epochs, epochs]);
      expect(charts[metric].map((s) => s.name)).toEqual([expect.stringMatching(new RegExp(`^${metric} per batch`)), `training ${metric}`, `validation ${metric}`]);
    }
    expect(charts.lr.map((s) => s.points)).toEqual([epochs]);
    expect(charts.throughput.map((s) => s.points)).toEqual([epochs]);
    const e = data.evaluation!;
    expect(charts.roc.map((s) => s.points)).toEqual(e.curves.map((c) => c.roc.length));
    expect(charts.pr.map((s) => s.points)).toEqual(e.curves.map((c) => c.pr.length));
    expect(charts.roc).toHaveLength(10);
    // The confusion matrix's cells (counts view) sum to the evaluated records: the validation data.
    const cells = await page.$$eval('table[data-matrix="counts"] td', (tds) => tds.map((td) => Number(td.getAttribute('data-count'))));
    expect(cells).toHaveLength(100);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(600);
    expect(e).toMatchObject({ on: 'validation', count: 600 });
    expect(await page.textContent('section[data-panel="confusion"]')).toContain('Computed on the validation data: 600 records');
    expect(await page.$$eval('section[data-panel="mistakes"] tbody tr', (rows) => rows.length)).toBe(e.mistakes.length);
    expect(errors).toEqual([]);
    await close();
  });

  it('screenshots at 1280 and 390 px are not blank, and nothing overflows horizontally', async () => {
    for (const width of [1280, 390]) {
      const { page, errors, close } = await open(join(dir, 'fashion.html'), width);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${width} px: the page is wider than the viewport`).toBeLessThanOrEqual(0);
      const shot = await page.screenshot({ fullPage: true });
      const ink = await inkShare(page, shot);
      expect(ink, `${width} px screenshot`).toBeGreaterThan(0.03);
      if (width === 1280 && process.env.UPDATE_SCREENSHOTS === '1') {
        await page.screenshot({ path: join(root, 'docs', 'report-screenshot.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 2400 } });
      }
      expect(errors).toEqual([]);
      await close();
    }
  });

  it('sorts the per-class table and switches the confusion matrix to row-normalised', async () => {
    const { page, errors, close } = await open(join(dir, 'fashion.html'), 1280);
    await page.click('section[data-panel="per-class"] th[data-key="f1"] button');
    const f1 = await page.$$eval('section[data-panel="per-class"] tbody tr', (rows) => rows.map((r) => Number(r.cells[3].getAttribute('data-value'))));
    expect(f1).toEqual([...f1].sort((a, b) => a - b));
    await page.click('section[data-panel="per-class"] th[data-key="f1"] button');
    const descending = await page.$$eval('section[data-panel="per-class"] tbody tr', (rows) => rows.map((r) => Number(r.cells[3].getAttribute('data-value'))));
    expect(descending).toEqual([...f1].reverse());
    expect(await page.isVisible('table[data-matrix="counts"]')).toBe(true);
    expect(await page.isVisible('table[data-matrix="normalised"]')).toBe(false);
    await page.click('label[for="cm-mode-norm"]');
    expect(await page.isVisible('table[data-matrix="normalised"]')).toBe(true);
    expect(await page.isVisible('table[data-matrix="counts"]')).toBe(false);
    const rowSums = await page.$$eval('table[data-matrix="normalised"] tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].reduce((a, td) => a + Number(td.textContent), 0)));
    for (const sum of rowSums) expect(sum).toBeCloseTo(1, 1);
    expect(errors).toEqual([]);
    await close();
  });

  it('prints: navigation and switches hidden, charts kept, a PDF of several pages', async () => {
    const { page, errors, close } = await open(join(dir, 'fashion.html'), 1280);
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('nav')).toBe(false);
    expect(await page.isVisible('label[for="cm-mode-norm"]')).toBe(false);
    expect(await page.isVisible('#cm-mode-norm')).toBe(false);
    expect(await page.isVisible('svg.chart[data-chart="loss"]')).toBe(true);
    const pdf = await page.pdf({ format: 'A4' });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    await close();
  });

  it('shows its panels, charts and tables with JavaScript off', async () => {
    const { page, close } = await open(join(dir, 'fashion.html'), 1280, false);
    expect(await page.$$eval('section[data-panel]', (s) => s.length)).toBe(8);
    expect(await page.$$eval('svg.chart', (s) => s.length)).toBe(7);
    expect(await page.isVisible('table[data-matrix="counts"]')).toBe(true);
    expect(await page.$$eval('section[data-panel="per-class"] tbody tr', (rows) => rows.length)).toBe(10);
    await close();
  });

  it('labels and texts that are HTML stay text: nothing runs, no element is made of them', async () => {
    const { page, errors, dialogs, close } = await open(join(dir, 'hostile.html'), 1280);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
    expect(await page.$$eval('script', (scripts) => scripts.length)).toBe(2);
    expect(await page.textContent('section[data-panel="confusion"]')).toContain(HOSTILE_LABEL);
    const data = await reportData(page);
    expect(data.run.data.labels).toContain(HOSTILE_LABEL);
    const mistakes = await page.$$eval('section[data-panel="mistakes"] td.text', (tds) => tds.map((td) => td.textContent));
    expect(mistakes.some((t) => t?.includes('</script>')) || data.evaluation!.mistakes.length === 0).toBe(true);
    await close();
  });
});
