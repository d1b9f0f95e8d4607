/**
 * Reports from the command line, run as a user would: `train --report --metrics-log`,
 * `evaluate --report`, `rnn-node report` rebuilding the page from the log, and their errors
 * (one stderr line; exit 2 for usage, 1 for a bad log).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-cli-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const embedded = (html: string) => JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]);

beforeAll(() => {
  const lines = Array.from({ length: 240 }, (_, i) => {
    const label = ['north', 'south', 'east'][i % 3];
    const text = `${label[0].repeat(3 + (i % 5))} ${'xyz'.slice(0, 1 + (i % 3))} ${i % 7 === 0 ? label.slice(1) : ''}`;
    return JSON.stringify({ text, label, id: `r${i}` });
  });
  writeFileSync(join(dir, 'train.jsonl'), lines.slice(0, 180).join('\n') + '\n');
  writeFileSync(join(dir, 'val.jsonl'), lines.slice(180).join('\n') + '\n');
});

describe('rnn-node reports', () => {
  it('train --report --metrics-log writes both; report rebuilds the same page from the log', () => {
    const r = run(['train', '--data', 'train.jsonl', '--validation', 'val.jsonl', '--units', '16', '--epochs', '3', '--out', 'm.rnn', '--report', 'train.html', '--metrics-log', 'train.jsonl.log', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ report: 'train.html', metricsLog: 'train.jsonl.log' });
    const html = readFileSync(join(dir, 'train.html'), 'utf8');
    const data = embedded(html);
    expect(data).toMatchObject({ complete: true, run: { kind: 'train', data: { records: 180, validationRecords: 60, labels: ['east', 'north', 'south'] } }, evaluation: { on: 'validation', count: 60 } });
    expect(data.epochs).toHaveLength(3);
    // Mistakes name the record by file and line, with its text.
    for (const m of data.evaluation.mistakes) expect(m.record).toMatch(/^val\.jsonl:\d+: [nse]{3}/);
    expect(readFileSync(join(dir, 'train.jsonl.log'), 'utf8').trim().split('\n')).toHaveLength(4);
    const rebuilt = run(['report', '--input', 'train.jsonl.log', '--output', 'rebuilt.html']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toBe('wrote rebuilt.html: 3 epochs, evaluation on 60 records\n');
    expect(readFileSync(join(dir, 'rebuilt.html'), 'utf8')).toBe(html);
    const titled = run(['report', '--input', 'train.jsonl.log', '--output', 'titled.html', '--title', 'Compass <points>']);
    expect(titled.code).toBe(0);
    expect(readFileSync(join(dir, 'titled.html'), 'utf8')).toContain('<h1>Compass &lt;points&gt;</h1>');
  });

  it('evaluate --report writes an evaluation report', () => {
    const r = run(['evaluate', '--model', 'm.rnn', '--data', 'val.jsonl', '--report', 'eval.html', '--report-title', 'Held-out', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const data = embedded(readFileSync(join(dir, 'eval.html'), 'utf8'));
    expect(data).toMatchObject({ run: { kind: 'evaluate', title: 'Held-out' }, evaluation: { on: 'evaluation', count: 60, accuracy: JSON.parse(r.stdout).accuracy } });
  });

  it('usage errors exit 2 before any work; a bad or missing log exits 1; one line on stderr', () => {
    const badFolder = run(['train', '--data', 'train.jsonl', '--out', 'x.rnn', '--report', 'nope/r.html']);
    expect(badFolder.code).toBe(2);
    expect(badFolder.stderr).toMatch(/--report "nope\/r.html" is not in an existing folder/);
    expect(existsSync(join(dir, 'x.rnn'))).toBe(false);
    const badLog = run(['evaluate', '--model', 'm.rnn', '--data', 'val.jsonl', '--metrics-log', 'nope/m.jsonl']);
    expect(badLog.code).toBe(2);
    expect(badLog.stderr).toMatch(/--metrics-log "nope\/m.jsonl" is not in an existing folder/);
    const noInput = run(['report', '--output', 'r.html']);
    expect(noInput.code).toBe(2);
    const missing = run(['report', '--input', 'missing.jsonl', '--output', 'r.html']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^rnn-node report: missing\.jsonl: cannot read \(ENOENT\)\n$/);
    const device = run(['report', '--input', '/dev/zero', '--output', 'r.html']);
    expect(device.code).toBe(1);
    expect(device.stderr).toMatch(/^rnn-node report: \/dev\/zero: is not a regular file/);
    writeFileSync(join(dir, 'corrupt.jsonl'), '{"type":"epoch","epoch":0,"loss":1,"accuracy":1,"learningRate":1,"seconds":1,"sequencesPerSecond":1}\n{not json\n');
    const corrupt = run(['report', '--input', 'corrupt.jsonl', '--output', 'r.html']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/^rnn-node report: corrupt\.jsonl:2: not JSON/);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'r.html'))).toBe(false);
  });
});
