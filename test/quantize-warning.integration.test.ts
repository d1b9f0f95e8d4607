/**
 * Never a silent slowdown: where an int8 or bf16 model would run on the portable kernel
 * (slower than float32), quantize() warns once per process and precision with a code
 * (RNN_NODE_PORTABLE_INT8 / _BF16), and `rnn-node quantize` and `rnn-node info` print the same
 * words; where a fast kernel runs it, there is no warning. The kernel is chosen once per
 * process, so each case runs in a child with RNN_NODE_LOW_PRECISION_KERNEL as it needs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'rnn-node-quantize-warning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Quantizes twice to int8 and once to bf16; prints the kernels and the warnings' codes and messages. */
const SCRIPT = `
const { SequenceClassifier, backendInfo } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
const warnings = [];
process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));
(async () => {
  const model = new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'lstm', units: 4 }], classes: 2 });
  for (const type of ['int8', 'int8', 'bf16']) (await model.quantize({ type })).dispose();
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  const { int8Kernel, bf16Kernel } = backendInfo();
  console.log(JSON.stringify({ int8Kernel, bf16Kernel, warnings }));
})();
`;

function child(env: Record<string, string>) {
  const script = join(dir, 'quantize.cjs');
  writeFileSync(script, SCRIPT);
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { int8Kernel: string; bf16Kernel: string; warnings: { code: string; message: string }[] };
}

const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

describe('the portable-kernel warning', () => {
  it('on the portable kernels: one warning per precision, with its code, however often quantize() runs', () => {
    const r = child({ RNN_NODE_LOW_PRECISION_KERNEL: 'portable' });
    expect([r.int8Kernel, r.bf16Kernel]).toEqual(['portable', 'portable']);
    expect(r.warnings.map((w) => w.code)).toEqual(['RNN_NODE_PORTABLE_INT8', 'RNN_NODE_PORTABLE_BF16']);
    expect(r.warnings[0].message).toMatch(/no fast int8 kernel .*portable path.*slower than their float32 model/);
  });

  it('where a fast kernel runs a precision, no warning for it (this CPU decides which)', () => {
    const r = child({ RNN_NODE_LOW_PRECISION_KERNEL: '' });
    const expected = [r.int8Kernel === 'portable' ? 'RNN_NODE_PORTABLE_INT8' : null, r.bf16Kernel === 'portable' ? 'RNN_NODE_PORTABLE_BF16' : null].filter((c) => c !== null);
    expect(r.warnings.map((w) => w.code)).toEqual(expected);
    // On x86-64 with AVX2 (every machine this suite runs on) int8 has a fast kernel.
    if (process.arch === 'x64') expect(r.int8Kernel).not.toBe('portable');
  });

  it('rnn-node quantize and info print the same words: one stderr line, still exit 0', () => {
    const model = join(dir, 'm.rnn');
    const make = spawnSync(process.execPath, ['-e', `const { SequenceClassifier } = require(${JSON.stringify(join(ROOT, 'dist', 'index.js'))}); new SequenceClassifier({ input: { type: 'dense', features: 3 }, layers: [{ cell: 'gru', units: 4 }], classes: 2 }).save(${JSON.stringify(model)});`], { encoding: 'utf8' });
    expect(make.status, make.stderr).toBe(0);
    const portable = { RNN_NODE_LOW_PRECISION_KERNEL: 'portable' };
    const q = cli(['quantize', '--model', 'm.rnn', '--output', 'q.rnn'], portable);
    expect(q.status, q.stderr).toBe(0);
    const lines = q.stderr.trim().split('\n').filter((l) => /warning/i.test(l));
    expect(lines).toEqual([expect.stringMatching(/^rnn-node: warning: this CPU has no fast int8 kernel .*slower than their float32 model$/)]);
    const words = lines[0].replace(/^rnn-node: warning: /, '');
    const info = cli(['info', 'q.rnn'], portable);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toContain(`kernel:   int8 runs on portable here; warning: ${words}`);
    const json = JSON.parse(cli(['info', 'q.rnn', '--json'], portable).stdout);
    expect(json).toMatchObject({ kernel: 'portable', warning: words });
    // With the fast kernel this CPU has, neither warns.
    const fast = cli(['quantize', '--model', 'm.rnn', '--output', 'q2.rnn']);
    expect(fast.status, fast.stderr).toBe(0);
    const kernel = JSON.parse(cli(['info', 'q2.rnn', '--json']).stdout).kernel;
    if (kernel !== 'portable') {
      expect(fast.stderr).not.toMatch(/warning/i);
      expect(cli(['info', 'q2.rnn']).stdout).toContain(`kernel:   int8 runs on ${kernel} here\n`);
    }
  });
});
