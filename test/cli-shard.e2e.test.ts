/**
 * `predict --shard K/N` then `merge`, run as an array job would run them: for N = 1, 3 and 7
 * the merged output equals one `predict` of the same input byte for byte, over JSONL (with
 * blank and CRLF lines), a gzip'd file, a headered CSV and a Parquet file of several row
 * groups together. Then merge's refusals: a missing part, an unfinished one, one changed
 * after its sidecar; and the usage errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 170_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LABELS = ['north', 'south', 'east'];
const text = (i: number) => `${LABELS[i % 3][0].repeat(2 + (i % 9))} ${'xyz'.slice(0, 1 + (i % 3))} ${i % 11}`;
const INPUTS = ['a.jsonl', 'b.jsonl.gz', 'c.csv', 'd.parquet'];

beforeAll(async () => {
  const jsonl = (from: number, to: number) => Array.from({ length: to - from }, (_, j) => JSON.stringify({ text: text(from + j), label: LABELS[(from + j) % 3] }));
  writeFileSync(join(dir, 'train.jsonl'), jsonl(0, 300).join('\n') + '\n');
  const a = jsonl(0, 900);
  a.splice(100, 0, '');
  writeFileSync(join(dir, 'a.jsonl'), a.join('\n').replace('\n', '\r\n') + '\n');
  writeFileSync(join(dir, 'b.jsonl.gz'), gzipSync(jsonl(900, 1200).join('\n') + '\n'));
  writeFileSync(join(dir, 'c.csv'), ['text,label', ...Array.from({ length: 500 }, (_, j) => `"${text(j)}, again",${LABELS[j % 3]}`)].join('\n') + '\n');
  const { parquetWriteFile } = await import('hyparquet-writer');
  parquetWriteFile({
    filename: join(dir, 'd.parquet'),
    columnData: [
      { name: 'text', data: Array.from({ length: 700 }, (_, j) => text(j + 7)), type: 'STRING' },
      { name: 'label', data: Array.from({ length: 700 }, (_, j) => LABELS[(j + 7) % 3]), type: 'STRING' },
    ],
    rowGroupSize: 100,
  });
  const trained = run(['train', '--data', 'train.jsonl', '--units', '12', '--epochs', '1', '--out', 'm.rnn', '--json']);
  if (trained.code !== 0) throw new Error(trained.stderr);
});

const dataArgs = INPUTS.flatMap((f) => ['--data', f]);
// The CSV's text column is named; JSONL and Parquet find 'text' and 'label' by themselves.
const common = ['predict', '--model', 'm.rnn', ...dataArgs, '--text-column', 'text', '--label-column', 'label'];

describe('predict --shard and merge', () => {
  it.each([1, 3, 7])('N=%i: the merged parts equal one predict, byte for byte', (n) => {
    const single = run([...common, '--output', 'single.jsonl']);
    expect(single.code, single.stderr).toBe(0);
    const parts = join(dir, `parts-${n}`);
    mkdirSync(parts);
    // Shards run in any order (as an array job's tasks do), one of them twice.
    const order = [...Array.from({ length: n }, (_, k) => n - 1 - k), 0];
    for (const k of order) {
      const r = run([...common, '--shard', `${k}/${n}`, '--output', parts, ...(n === 3 ? ['--compress', 'gzip'] : [])]);
      expect(r.code, r.stderr).toBe(0);
    }
    const files = readdirSync(parts).sort();
    expect(files).toHaveLength(2 * n);
    expect(files[0]).toBe(`part-00000-of-${String(n).padStart(5, '0')}.done.json`);
    const merged = run(['merge', '--input', parts, '--output', `merged-${n}.jsonl`]);
    expect(merged.code, merged.stderr).toBe(0);
    const expected = readFileSync(join(dir, 'single.jsonl'), 'utf8');
    expect(expected.split('\n')).toHaveLength(900 + 300 + 500 + 700 + 1);
    expect(readFileSync(join(dir, `merged-${n}.jsonl`), 'utf8')).toBe(expected);
    // Line numbers are the whole file's, and each record says its file.
    expect(expected).toContain('"file":"a.jsonl","line":102,');
    expect(expected).toContain('"file":"d.parquet","row":700,');
  });

  it('--shard auto takes the index from the array-job environment', () => {
    const parts = join(dir, 'parts-auto');
    mkdirSync(parts);
    for (let task = 1; task <= 4; task++) {
      const r = run([...common, '--shard', 'auto', '--output', parts], { SLURM_ARRAY_TASK_ID: String(task), SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`shard ${task - 1}/4 (SLURM_ARRAY_TASK_ID)`);
    }
    expect(run(['merge', '--input', parts, '--output', 'merged-auto.jsonl']).code).toBe(0);
    expect(readFileSync(join(dir, 'merged-auto.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'single.jsonl'), 'utf8'));
    const unknown = run([...common, '--shard', 'auto', '--shards', '4', '--output', parts], { SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: undefined });
    expect(unknown.code).toBe(2);
  });

  it('merge refuses a missing, an unfinished or a changed part, naming it, and writes nothing', () => {
    const parts = join(dir, 'parts-7');
    const output = join(dir, 'refused.jsonl');
    const sidecar = join(parts, 'part-00003-of-00007.done.json');
    const saved = readFileSync(sidecar);
    unlinkSync(sidecar);
    let r = run(['merge', '--input', parts, '--output', output]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no \.done\.json \(unfinished\) for part 3\b/);
    writeFileSync(sidecar, saved);
    const part = join(parts, 'part-00005-of-00007.jsonl');
    const savedPart = readFileSync(part);
    const savedSidecar5 = readFileSync(join(parts, 'part-00005-of-00007.done.json'));
    unlinkSync(part);
    r = run(['merge', '--input', parts, '--output', output]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a \.done\.json without its part file for 5/);
    unlinkSync(join(parts, 'part-00005-of-00007.done.json'));
    r = run(['merge', '--input', parts, '--output', output]);
    expect(r.stderr).toMatch(/missing part 5 of 7/);
    writeFileSync(part, savedPart.subarray(0, savedPart.length - 40));
    // Another part's sidecar copied over this one's: it says which part it describes.
    writeFileSync(join(parts, 'part-00005-of-00007.done.json'), readFileSync(join(dir, 'parts-7', 'part-00004-of-00007.done.json')));
    r = run(['merge', '--input', parts, '--output', output]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/part-00005-of-00007\.done\.json: it says it is part 4 of 7/);
    writeFileSync(join(parts, 'part-00005-of-00007.done.json'), savedSidecar5);
    r = run(['merge', '--input', parts, '--output', output]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/part-00005-of-00007\.jsonl: \d+ records, SHA-256 .*cut short or changed since/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(output)).toBe(false);
  });

  it('a lone carriage return and a CSV starting with a blank line: the parts still equal one predict', () => {
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: text(i) }));
    writeFileSync(join(dir, 'cr.jsonl'), lines.map((l, i) => l + (i === 40 ? '\r\r\n' : i % 7 === 0 ? '\r\n' : '\n')).join(''));
    writeFileSync(join(dir, 'blank-first.csv'), '\n' + ['text,label', ...Array.from({ length: 300 }, (_, j) => `${text(j)},${LABELS[j % 3]}`)].join('\n') + '\n');
    for (const [file, extra] of [['cr.jsonl', []], ['blank-first.csv', ['--text-column', 'text', '--label-column', 'label']]] as const) {
      const args = ['predict', '--model', 'm.rnn', '--data', file, ...extra];
      const single = run([...args, '--output', `${file}.single`]);
      expect(single.code, single.stderr).toBe(0);
      const parts = join(dir, `parts-${file}`);
      mkdirSync(parts);
      for (let k = 0; k < 3; k++) expect(run([...args, '--shard', `${k}/3`, '--output', parts]).code).toBe(0);
      expect(run(['merge', '--input', parts, '--output', `${file}.merged`]).code).toBe(0);
      expect(readFileSync(join(dir, `${file}.merged`), 'utf8')).toBe(readFileSync(join(dir, `${file}.single`), 'utf8'));
    }
  });

  it('merge: to stdout (checked first), never onto one of its parts; parts of two runs (another model) are refused', () => {
    const parts = join(dir, 'parts-1');
    const toStdout = run(['merge', '--input', parts, '--output', '-']);
    expect(toStdout.code, toStdout.stderr).toBe(0);
    expect(toStdout.stdout).toBe(readFileSync(join(dir, 'single.jsonl'), 'utf8'));
    expect(existsSync(join(dir, '-'))).toBe(false);
    const onto = run(['merge', '--input', parts, '--output', join(parts, 'part-00000-of-00001.jsonl')]);
    expect(onto.code).toBe(2);
    expect(onto.stderr).toMatch(/is one of the part files it reads/);
    // Shard 1 of 2 rerun with another model: the parts are of two jobs.
    const mixed = join(dir, 'parts-mixed');
    mkdirSync(mixed);
    for (const k of [0, 1]) expect(run([...common, '--shard', `${k}/2`, '--output', mixed]).code).toBe(0);
    const model = common[common.indexOf('--model') + 1];
    const other = join(dir, 'other-model.rnn');
    writeFileSync(other, readFileSync(join(dir, model)));
    const trained = run(['train', '--resume', other, '--data', join(dir, 'a.jsonl'), '--epochs', '1', '--out', other]);
    expect(trained.code, trained.stderr).toBe(0);
    const rerun = [...common];
    rerun[rerun.indexOf('--model') + 1] = other;
    expect(run([...rerun, '--shard', '1/2', '--output', mixed]).code).toBe(0);
    const refused = run(['merge', '--input', mixed, '--output', 'mixed.jsonl']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/part 1 was made with another model than part 0/);
  });

  it('usage errors: a bad --shard, no output directory, --shards without --shard', () => {
    for (const [args, pattern] of [
      [['--shard', '3/3', '--output', 'parts-1'], /shard 3 does not exist among 3/],
      [['--shard', 'x', '--output', 'parts-1'], /--shard expects K\/N/],
      [['--shard', '0/2'], /--shard needs --output DIR/],
      [['--shard', '0/2', '--output', 'single.jsonl'], /--output must be an existing directory/],
      [['--shards', '2', '--output', 'x.jsonl'], /--shards and --compress go with --shard/],
    ] as const) {
      const r = run([...common, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
    expect(run(['merge', '--input', 'single.jsonl', '--output', 'x.jsonl']).code).toBe(2);
    expect(run(['merge', '--input', 'parts-none', '--output', 'x.jsonl']).code).toBe(2);
  });
});
