/**
 * The scripts this package adds beside the CLI refuse wrong values up front, naming the
 * option, and exit 2 before doing any work: prebuild, the benchmarks (main run, shape grid,
 * batch job), and `predict --stats` given a value.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('scripts: bad input', () => {
  it('prebuild rejects an unknown variant before touching build/', () => {
    const hadBuild = existsSync(join(ROOT, 'build'));
    const r = run('scripts/prebuild.mjs', ['avx9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/expected variant names among avx512, avx2, baseline, armv8 but received "avx9"/);
    expect(existsSync(join(ROOT, 'build'))).toBe(hadBuild);
    expect(existsSync(join(ROOT, 'build.prebuild-saved'))).toBe(false);
  });

  it('bench:grid rejects non-numeric shapes and non-positive time boxes', () => {
    const units = run('bench/grid.mjs', ['--units', '128,abc']);
    expect(units.status).toBe(2);
    expect(units.stderr).toMatch(/expected positive integers \(comma-separated\) for --units but received "128,abc"/);
    expect(units.stdout).toBe('');
    const seconds = run('bench/grid.mjs', ['--seconds', '0']);
    expect(seconds.status).toBe(2);
    expect(seconds.stderr).toMatch(/expected a positive number of seconds for --seconds but received "0"/);
  });

  it('bench:batch-job rejects a bad record count or cell', () => {
    const records = run('bench/batch-job.mjs', ['--records', '0']);
    expect(records.status).toBe(2);
    expect(records.stderr).toMatch(/expected positive integers \(comma-separated\) for --records but received "0"/);
    const cell = run('bench/batch-job.mjs', ['--cell', 'transformer']);
    expect(cell.status).toBe(2);
    expect(cell.stderr).toMatch(/expected one of lstm, gru, rnn for --cell but received "transformer"/);
  });

  it('bench (run.mjs) rejects unknown peers, workloads and options in one line', () => {
    const peers = run('bench/run.mjs', ['--peers', 'rnn-node,torch']);
    expect(peers.status).toBe(2);
    expect(peers.stderr).toMatch(/expected names among rnn-node, .* for --peers but received "torch"/);
    const option = run('bench/run.mjs', ['--bogus']);
    expect(option.status).toBe(2);
    expect(option.stderr.trim()).toBe("bench/run.mjs: Unknown option '--bogus'");
  });

  it('bench:formats and bench:init refuse bad values up front, naming the option', () => {
    const cell = run('bench/formats.mjs', ['--cell', 'transformer']);
    expect(cell.status).toBe(2);
    expect(cell.stderr).toMatch(/bench\/formats\.mjs: expected one of lstm, gru, rnn for --cell but received "transformer"/);
    expect(run('bench/formats.mjs', ['--records', '0']).status).toBe(2);
    const seeds = run('bench/init.mjs', ['--seeds', '0']);
    expect(seeds.status).toBe(2);
    expect(seeds.stderr).toMatch(/expected --seeds to be an integer in \[1, 20\]/);
    const tasks = run('bench/init.mjs', ['--tasks', 'words,nope']);
    expect(tasks.status).toBe(2);
    expect(tasks.stderr).toMatch(/expected tasks among words, fortunes, fmnist, waves but received "nope"/);
    expect(run('bench/init.mjs', ['--bogus']).status).toBe(2);
  });

  it('bench:report, bench:scale-out, bench:batching, bench:bring-your-model, bench:quantize, bench:stream, bench:serve and bench:serve-soak refuse bad values up front, naming the option', () => {
    for (const [script, args, pattern] of [
      ['bench/report.mjs', ['--reps', '0'], /--reps/],
      ['bench/scale-out.mjs', ['--chunk-size', 'x'], /--chunk-size/],
      ['bench/scale-out.mjs', ['--cell', 'cnn'], /--cell must be lstm, gru or rnn/],
      ['bench/batching.mjs', ['--calls', '-3'], /--calls/],
      ['bench/bring-your-model.mjs', ['--cell', 'cnn'], /--cell must be lstm, gru or rnn/],
      ['bench/bring-your-model.mjs', ['--bogus'], /bogus/],
      ['bench/quantize.mjs', ['--tasks', 'fmnist-lstm,mnist'], /expected names among fmnist-lstm, fmnist-gru, words for --tasks but received "mnist"/],
      ['bench/quantize.mjs', ['--seconds', 'soon'], /--seconds must be a positive number/],
      ['bench/quantize.mjs', ['--reps', '0'], /--reps/],
      ['bench/stream.mjs', ['--sessions', '0'], /for --sessions but/],
      ['bench/stream.mjs', ['--cell', 'cnn'], /--cell must be lstm, gru or rnn/],
      ['bench/serve.mjs', ['--connections', '16,x'], /--connections/],
      ['bench/serve-soak.mjs', ['--minutes=-1'], /for --minutes but/],
    ] as const) {
      const r = run(script, [...args]);
      expect(r.status, `${script} ${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('predict --stats takes no value', () => {
    const r = run('dist/cli.js', ['predict', '--model', 'm.rnn', '--input', 'x.jsonl', '--stats=yes']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Option '--stats' does not take an argument/);
  });

  it('a benchmark run that measured nothing leaves the report as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnn-node-bench-'));
    try {
      const report = join(dir, 'RESULTS.md');
      writeFileSync(report, 'the committed results\n');
      // tfjs-node cannot install here, so this run has no rnn-node row at all.
      const r = run('bench/run.mjs', ['--peers', 'tfjs-node', '--workloads', 'fmnist-lstm', '--reps', '1', '--seconds', '0.2', '--report', report, '--out', dir]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/not writing .*RESULTS\.md: nothing measured for fmnist-lstm train \(rnn-node\)/);
      expect(readFileSync(report, 'utf8')).toBe('the committed results\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('committed benchmark reports', () => {
  // Each report must come from a complete run: tables with rows of numbers, no NaN, a real duration.
  it.each([
    ['RESULTS.md', 3],
    ['GRID.md', 3],
    ['BATCH-JOB.md', 3],
    ['VARIANTS.md', 3],
    ['INIT.md', 3],
    ['FORMATS.md', 3],
    ['REPORT.md', 2],
    ['SCALE-OUT.md', 3],
    ['BRING-YOUR-MODEL.md', 3],
    ['BATCHING.md', 3],
    ['ONNXRUNTIME.md', 3],
  ] as const)('bench/%s has measured rows', (name, least) => {
    const text = readFileSync(join(ROOT, 'bench', name), 'utf8');
    const rows = text.split('\n').filter((l) => /^\|/.test(l) && !/^\|[-| ]+\|$/.test(l));
    const dataRows = rows.filter((l) => /\d/.test(l.split('|').slice(2).join('|')));
    expect(dataRows.length, `${name} has too few data rows`).toBeGreaterThanOrEqual(least);
    expect(text).not.toMatch(/NaN/);
    expect(text).not.toMatch(/time: 0 s/);
  });
});

