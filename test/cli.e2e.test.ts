/**
 * The `rnn-node` CLI, run as a user would (child processes of dist/cli.js): each subcommand,
 * --json, exit codes 0/1/2, bad flags, bad records, atomic output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/util/random';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', input, timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Texts of 'a'-heavy vs 'b'-heavy strings: an easy two-class text task. */
function textData(n: number, seed: number): string {
  const rng = new SeededRandom(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2 ? 'bee' : 'ant';
    const main = label === 'ant' ? 'a' : 'b';
    const len = 4 + Math.floor(rng.next() * 12);
    const text = Array.from({ length: len }, () => (rng.next() < 0.8 ? main : 'xyz'[Math.floor(rng.next() * 3)])).join('');
    lines.push(JSON.stringify({ text, label }));
  }
  return lines.join('\n') + '\n';
}

beforeAll(() => {
  writeFileSync(join(dir, 'train.jsonl'), textData(400, 1));
  writeFileSync(join(dir, 'test.jsonl'), textData(100, 2));
});

describe('rnn-node CLI', () => {
  it('Ctrl-C or SIGTERM during predict: exit 130 / 143, one line, no output or temp file left', async () => {
    const { spawn } = await import('node:child_process');
    expect(run(['train', '--data', 'train.jsonl', '--out', 'sig.rnn', '--epochs', '1', '--units', '8']).code).toBe(0);
    writeFileSync(join(dir, 'many.jsonl'), textData(300_000, 5));
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const child = spawn(process.execPath, [CLI, 'predict', '--model', 'sig.rnn', '--data', 'many.jsonl', '--output', 'sig.jsonl'], { cwd: dir });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      // Signal once the job has started writing (its temp file is there).
      for (let i = 0; i < 400 && !readdirSync(dir).some((f) => f.startsWith('.sig.jsonl.')); i++) await new Promise((r) => setTimeout(r, 10));
      child.kill(signal);
      const exit = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(exit, stderr).toBe(code);
      expect(stderr.trim().split('\n')).toEqual([`rnn-node predict: interrupted (${signal}); no output written`]);
      expect(readdirSync(dir).filter((f) => f.includes('sig.jsonl'))).toEqual([]);
    }
  }, 60_000);

  it('initialiser flags reach the model file, and bad names are usage errors', () => {
    const r = run(['train', '--data', 'train.jsonl', '--out', 'init.rnn', '--epochs', '1', '--units', '8', '--embedding-init', 'uniform', '--kernel-init', 'torchUniform', '--recurrent-init', 'torchUniform', '--bias-init', 'torchUniform', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(run(['info', 'init.rnn', '--json']).stdout);
    expect(info.input.embeddingInitializer).toBe('uniform');
    expect(info.layers[0]).toMatchObject({ kernelInitializer: 'torchUniform', recurrentInitializer: 'torchUniform', biasInitializer: 'torchUniform' });
    expect(run(['info', 'init.rnn']).stdout).toMatch(/init: +embedding uniform; kernel torchUniform, recurrent torchUniform, bias torchUniform/);
    const bad = run(['train', '--data', 'train.jsonl', '--out', 'bad.rnn', '--recurrent-init', 'identity']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--recurrent-init expects one of orthogonal, torchUniform, got 'identity'/)]);
  });

  it('usage, help with every default, version', () => {
    const none = run([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/Commands:\n  train/);
    expect(run(['--help']).code).toBe(0);
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = run(['train', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--data', '--out', '--cell', '--units', '--epochs', '--lr', '--max-vocab', '--class-weights', '--schedule', '--resume', '--missing', '--validation-split', '--stratify'])
      expect(help.stdout).toMatch(new RegExp(`${flag}[ |\\w.-]*.*\\((default: [^)]+|required)\\)`));
    for (const cmd of ['evaluate', 'predict', 'info']) expect(run([cmd, '--help']).code).toBe(0);
  });

  it('train --resume without --optimizer goes on with the saved optimizer and its moments: 2 + 1 epochs = 3 straight', () => {
    const args = ['--data', 'train.jsonl', '--units', '6', '--seed', '4'];
    expect(run(['train', ...args, '--optimizer', 'sgd', '--epochs', '3', '--out', 'sgd3.rnn']).code).toBe(0);
    expect(run(['train', ...args, '--optimizer', 'sgd', '--epochs', '2', '--out', 'sgd2.rnn']).code).toBe(0);
    const resumed = run(['train', '--data', 'train.jsonl', '--resume', 'sgd2.rnn', '--epochs', '1', '--out', 'sgd2+1.rnn']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(join(dir, 'sgd2+1.rnn')).equals(readFileSync(join(dir, 'sgd3.rnn')))).toBe(true);
  });

  it('training data of one class is refused, class indices included (exit 1, one line)', () => {
    writeFileSync(join(dir, 'one-class.jsonl'), Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `t${i}`, label: 1 })).join('\n') + '\n');
    const r = run(['train', '--data', 'one-class.jsonl', '--out', 'one.rnn', '--epochs', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/training data has only one label \(1\)/);
    expect(existsSync(join(dir, 'one.rnn'))).toBe(false);
  });

  it('usage errors exit 2 with one clear line', () => {
    const cases: [string[], RegExp][] = [
      [['fly'], /unknown command 'fly'/],
      [['train', '--data', 'train.jsonl'], /--out is required/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--units', 'many'], /--units expects an integer/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--cell', 'transformer'], /--cell expects one of lstm, gru, rnn, got 'transformer'/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--dropout', '1'], /--dropout expects a number/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--frobnicate'], /unknown option '--frobnicate'/],
      [['train', '--data', 'x', '--out', 'm', '--validation', 'v', '--validation-split', '0.2'], /either --validation or --validation-split/],
      [['predict', '--model', 'm', '--input', 'x', '--on-error', 'ignore'], /--on-error expects one of fail, skip/],
      [['info'], /expected one MODEL file/],
      [['__proto__'], /unknown command '__proto__'/],
      [['constructor'], /unknown command 'constructor'/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--epochs', '-1'], /--epochs expects an integer in 1\.\.1000000, got '-1'/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--seed', '-3'], /--seed expects an integer in 0\.\./],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--epochs', '0x10'], /--epochs expects an integer/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--epochs', '2', '--epochs', '3'], /--epochs is given 2 times; give it once/],
      [['train', '--data', 'train.jsonl', '--out', 'm', '--batch-size', '2000000'], /--batch-size expects an integer in 1\.\.1048576/],
      // An output that is an input would be overwritten by the run's own result.
      [['train', '--data', 'train.jsonl', '--out', 'train.jsonl'], /--out is the same file as --data \("train\.jsonl"\)/],
      [['predict', '--model', 'm.rnn', '--data', 'train.jsonl', '--output', './train.jsonl'], /--output is the same file as --data/],
      [['train', '--data', 'train.jsonl', '--out', 'nope/m.rnn'], /--out "nope\/m\.rnn" is not in an existing folder/],
      [['predict', '--model', 'm.rnn', '--data', 'train.jsonl', '--output', '.'], /--output "\." is a folder/],
      [['train', '--data', 'train.jsonl', '--out', 'r.html', '--report', 'r.html'], /--out and --report name the same file/],
      [['predict', '--model', 'm.rnn', '--data', '-', '--data', '-'], /stdin\) is given more than once/],
      [['predict', '--model', 'm.rnn', '--data', '-', '--shard', '0/2', '--output', '.'], /stdin \(--data -\) cannot be split/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('train -> info -> evaluate -> predict on JSONL text', () => {
    const t = run(['train', '--data', 'train.jsonl', '--validation', 'test.jsonl', '--cell', 'gru', '--units', '16', '--embedding', '8', '--pooling', 'mean', '--epochs', '4', '--lr', '0.01', '--out', 'text.rnn', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const result = JSON.parse(t.stdout);
    expect(result.epochs).toBe(4);
    expect(result.valAccuracy).toBeGreaterThan(0.9);
    expect(result.labels).toEqual(['ant', 'bee']);

    const info = run(['info', 'text.rnn', '--json']);
    expect(info.code).toBe(0);
    const summary = JSON.parse(info.stdout);
    expect(summary.labels).toEqual(['ant', 'bee']);
    expect(summary.preprocessing.tokenizer.kind).toBe('char');
    expect(summary.training.epochs).toBe(4);
    expect(run(['info', 'text.rnn']).stdout).toMatch(/layers:\s+GRU\(16\); pooling mean/);

    const e = run(['evaluate', '--model', 'text.rnn', '--data', 'test.jsonl', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const metrics = JSON.parse(e.stdout);
    for (const key of ['accuracy', 'macroF1', 'loss', 'confusionMatrix', 'labels', 'count']) expect(metrics).toHaveProperty(key);
    expect(metrics.count).toBe(100);
    expect(metrics.accuracy).toBeCloseTo(result.valAccuracy, 6);
    expect(run(['evaluate', '--model', 'text.rnn', '--data', 'test.jsonl']).stdout).toMatch(/confusion matrix/);

    const p = run(['predict', '--model', 'text.rnn', '--input', 'test.jsonl', '--output', 'out.jsonl', '--top-k', '2', '--batch-size', '7']);
    expect(p.code, p.stderr).toBe(0);
    const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(100);
    expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1)); // input order
    expect(Object.keys(lines[0].probabilities)).toEqual(['ant', 'bee']);
    expect(lines[0].top).toHaveLength(2);
    const correct = lines.filter((l, i) => l.label === (i % 2 ? 'bee' : 'ant')).length / 100;
    expect(correct).toBeCloseTo(metrics.accuracy, 6);

    const fromStdin = run(['predict', '--model', 'text.rnn', '--input', '-'], '{"text":"aaaa"}\n{"text":"bbbbb"}\n');
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout.trim().split('\n').map((l) => JSON.parse(l).label)).toEqual(['ant', 'bee']);
  });

  it('predict: a bad record fails the job (exit 1, no output file) or is skipped and counted', () => {
    writeFileSync(join(dir, 'mixed.jsonl'), '{"text":"aaa"}\n{"text":"bbb"}\nnot json\n{"text":""}\n{"text":"ab"}\n');
    const fail = run(['predict', '--model', 'text.rnn', '--input', 'mixed.jsonl', '--output', 'fail.jsonl']);
    expect(fail.code).toBe(1);
    expect(fail.stderr).toMatch(/mixed\.jsonl:3: not valid JSON/);
    expect(existsSync(join(dir, 'fail.jsonl'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const skip = run(['predict', '--model', 'text.rnn', '--input', 'mixed.jsonl', '--output', 'skip.jsonl', '--on-error', 'skip']);
    expect(skip.code).toBe(0);
    expect(skip.stderr).toMatch(/skipped .*mixed\.jsonl:3: not valid JSON/);
    expect(skip.stderr).toMatch(/skipped .*mixed\.jsonl:4: the text has no tokens/);
    expect(skip.stderr).toMatch(/3 records predicted, 2 skipped/);
    expect(readFileSync(join(dir, 'skip.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).line)).toEqual([1, 2, 5]);
  });

  it('runtime errors exit 1 with one line: missing files, corrupt models, unknown labels', () => {
    const missing = run(['train', '--data', 'nothing.jsonl', '--out', 'm.rnn']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nothing\.jsonl:0: no such file/);
    const bytes = readFileSync(join(dir, 'text.rnn'));
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(join(dir, 'corrupt.rnn'), bytes);
    for (const args of [['info', 'corrupt.rnn'], ['evaluate', '--model', 'corrupt.rnn', '--data', 'test.jsonl']]) {
      const r = run(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/checksum mismatch/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    writeFileSync(join(dir, 'other.jsonl'), '{"text":"aaa","label":"wasp"}\n');
    const unknown = run(['evaluate', '--model', 'text.rnn', '--data', 'other.jsonl']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/other\.jsonl:1: label "wasp" is not one of the model's labels \(ant, bee\)/);
  });

  it('trains on UCR-style CSV with missing values, and resumes', () => {
    const rng = new SeededRandom(3);
    const rows = Array.from({ length: 120 }, (_, i) => {
      const cls = i % 2;
      const series = Array.from({ length: 20 }, (_, t) => (rng.next() < 0.05 ? 'NaN' : (cls ? Math.sin(t / 2) : Math.cos(t / 5)) + 0.1 * rng.next()));
      return [cls + 1, ...series].join(',');
    });
    writeFileSync(join(dir, 'series.csv'), rows.join('\n') + '\n');
    const strict = run(['train', '--data', 'series.csv', '--out', 'csv.rnn', '--epochs', '1']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/series\.csv:\d+: missing value at step \d+, feature 0 \(choose a missing-value policy/);
    const ok = run(['train', '--data', 'series.csv', '--missing', 'ffill', '--units', '8', '--epochs', '2', '--validation-split', '0.25', '--stratify', '--out', 'csv.rnn', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).labels).toBeNull(); // integer labels 1..2 -> classes 0..2
    const resumed = run(['train', '--data', 'series.csv', '--resume', 'csv.rnn', '--epochs', '1', '--out', 'csv2.rnn', '--json', '--missing', 'ffill']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).epochsTrained).toBe(3);
  });

  it('trains, evaluates and predicts on an IDX directory (Fashion-MNIST test set)', () => {
    const data = '/usr/share/datasets/fashion-mnist';
    expect(existsSync(data), `${data} missing: run scripts/setup.sh`).toBe(true);
    const t = run(['train', '--data', data, '--idx-prefix', 't10k', '--units', '32', '--epochs', '2', '--lr', '0.01', '--batch-size', '128', '--out', 'idx.rnn', '--json']);
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout).accuracy).toBeGreaterThan(0.6);
    const e = run(['evaluate', '--model', 'idx.rnn', '--data', data, '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).count).toBe(10000);
    const p = run(['predict', '--model', 'idx.rnn', '--input', data, '--output', 'idx.jsonl']);
    expect(p.code, p.stderr).toBe(0);
    expect(readFileSync(join(dir, 'idx.jsonl'), 'utf8').trim().split('\n')).toHaveLength(10000);
  });
});
