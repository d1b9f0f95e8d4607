/** Choosing the binary: from detected CPU features (CPUID or cpuinfo), RNN_NODE_ISA, source builds. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { type CpuDetection, cpuinfoFlags } from '../src/cpu-features';
import { chooseBinary, choosePrebuilt, missingFlags, platformTag, supportedVariants, VARIANTS } from '../src/variants';

const V2 = ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'];
const V3 = [...V2, 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'];
const V4 = [...V3, 'avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];
const flags = (list: string[]) => new Set(['fpu', 'sse', 'sse2', ...list]);
/** A detection as the cpuinfo fallback makes it (no OS-state knowledge). */
const cpuinfo = (list: string[]): CpuDetection => ({ source: 'cpuinfo', features: flags(list), osDisabled: [] });
/** A detection as CPUID makes it, with the features the OS leaves disabled. */
const cpuid = (list: string[], osDisabled: string[] = []): CpuDetection => ({ source: 'cpuid', features: flags(list.filter((f) => !osDisabled.includes(f))), osDisabled });

const root = mkdtempSync(join(tmpdir(), 'rnn-node-variants-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fake package root with the given prebuilt variants and optionally a source build. */
function fakePackage(name: string, variants: string[], source = false): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'prebuilds', platformTag()), { recursive: true });
  for (const v of variants) writeFileSync(join(dir, 'prebuilds', platformTag(), `rnn_node.${v}.node`), '');
  if (source) {
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    writeFileSync(join(dir, 'build', 'Release', 'rnn_node.node'), '');
  }
  return dir;
}

describe('CPU features', () => {
  it('maps /proc/cpuinfo flags to x86-64 levels, best first', () => {
    expect(supportedVariants(flags(V4))).toEqual(['avx512', 'avx2', 'baseline']);
    expect(supportedVariants(flags(V3))).toEqual(['avx2', 'baseline']);
    // AVX2 without FMA (or with the kernel hiding AVX state) is not x86-64-v3.
    expect(supportedVariants(flags(V3.filter((f) => f !== 'fma')))).toEqual(['baseline']);
    expect(supportedVariants(flags(V4.filter((f) => f !== 'avx512vl')))).toEqual(['avx2', 'baseline']);
    expect(supportedVariants(flags(['sse3']))).toEqual([]);
    expect(supportedVariants(null)).toEqual(['baseline']);
    expect(missingFlags('avx2', flags(V2))).toEqual(V3.slice(V2.length));
  });

  it('reads the flags line of a cpuinfo text, and gives null when there is none', () => {
    expect(cpuinfoFlags(`processor\t: 0\nflags\t\t: ${V3.join(' ')}\nbugs\t\t: spectre_v1\n`)).toEqual(new Set(V3));
    expect(cpuinfoFlags('processor\t: 0\nvendor_id\t: GenuineIntel\n')).toBeNull();
  });

  it('every level includes the one below it', () => {
    for (let i = 0; i + 1 < VARIANTS.length; i++) {
      for (const f of VARIANTS[i + 1].flags) expect(VARIANTS[i].flags).toContain(f);
    }
  });
});

describe('choosing the binary', () => {
  it('takes the best prebuilt variant the CPU supports', () => {
    const pkg = fakePackage('all', ['baseline', 'avx2', 'avx512']);
    expect(chooseBinary(pkg, {}, cpuid(V4)).variant).toBe('avx512');
    expect(chooseBinary(pkg, {}, cpuid(V3)).variant).toBe('avx2');
    expect(chooseBinary(pkg, {}, cpuinfo(V2))).toMatchObject({ variant: 'baseline', decidedBy: 'cpuinfo', reason: /^best prebuilt variant this CPU supports, by \/proc\/cpuinfo flags/ });
    expect(chooseBinary(pkg, {}, cpuinfo(V2)).path).toBe(join(pkg, 'prebuilds', platformTag(), 'rnn_node.baseline.node'));
  });

  it('prefers a source build, unless RNN_NODE_ISA names a variant', () => {
    const pkg = fakePackage('with-source', ['baseline', 'avx2'], true);
    expect(chooseBinary(pkg, {}, cpuid(V3))).toMatchObject({ variant: 'source', path: join(pkg, 'build', 'Release', 'rnn_node.node') });
    expect(chooseBinary(pkg, { RNN_NODE_ISA: 'baseline' }, cpuid(V3))).toMatchObject({ variant: 'baseline', decidedBy: 'forced', reason: /^forced by RNN_NODE_ISA=baseline/ });
    expect(chooseBinary(pkg, { RNN_NODE_ISA: 'source' }, cpuid(V3)).variant).toBe('source');
  });

  it('refuses a forced variant the CPU lacks, or that is not there, naming what is missing', () => {
    const pkg = fakePackage('partial', ['baseline', 'avx2']);
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'avx512' }, cpuid(V3))).toThrow(/RNN_NODE_ISA=avx512 needs CPU features this machine lacks \(by CPUID\/XGETBV\): the CPU lacks avx512f avx512bw/);
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'avx512' }, cpuid(V4))).toThrow(/RNN_NODE_ISA=avx512 but .*rnn_node\.avx512\.node does not exist/);
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'source' }, cpuid(V4))).toThrow(/no source build exists/);
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'AVX2' }, cpuid(V4))).toThrow(RangeError);
    expect(chooseBinary(pkg, { RNN_NODE_ISA: '' }, cpuid(V4)).variant).toBe('avx2');
  });

  it('explains how to build from source when nothing fits', () => {
    const none = fakePackage('none', []);
    expect(() => chooseBinary(none, {}, cpuid(V4))).toThrow(/no prebuilt binary for .* that this CPU supports .*RNN_NODE_BUILD_FROM_SOURCE=1 npm rebuild rnn-node/);
    const pkg = fakePackage('avx512-only', ['avx512']);
    expect(() => choosePrebuilt(pkg, {}, cpuid(V3))).toThrow(/it supports: avx2, baseline/);
    expect(() => choosePrebuilt(pkg, {}, cpuinfo(['sse3']))).toThrow(/it supports: none of baseline, avx2, avx512/);
  });

  it('says how it decided, which features it used, and why each better variant was not taken', () => {
    const pkg = fakePackage('all-3', ['baseline', 'avx2', 'avx512']);
    const best = chooseBinary(pkg, {}, cpuid(V4));
    expect(best).toMatchObject({ variant: 'avx512', decidedBy: 'cpuid', featureSource: 'cpuid', supported: ['avx512', 'avx2', 'baseline'], notTaken: [] });
    expect(best.features).toEqual([...V4].sort());
    // AVX-512 in the CPU, but the OS saves no ZMM/opmask state: avx2, with the reason.
    const noState = chooseBinary(pkg, {}, cpuid(V4, ['avx512f', 'avx512dq', 'avx512cd', 'avx512bw', 'avx512vl']));
    expect(noState.variant).toBe('avx2');
    expect(noState.notTaken).toEqual([
      { variant: 'avx512', missing: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'], osDisabled: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'], reason: 'the OS does not enable the register state of avx512f avx512bw avx512cd avx512dq avx512vl (XCR0)' },
    ]);
    // A forced variant below the best: the better ones are listed as forced away.
    expect(chooseBinary(pkg, { RNN_NODE_ISA: 'baseline' }, cpuid(V4)).notTaken.map((n) => n.reason)).toEqual(['RNN_NODE_ISA chose another variant', 'RNN_NODE_ISA chose another variant']);
    // A variant the package does not ship.
    const partial = fakePackage('no-avx512', ['baseline', 'avx2']);
    expect(chooseBinary(partial, {}, cpuid(V4)).notTaken).toEqual([{ variant: 'avx512', missing: [], osDisabled: [], reason: 'not in this package' }]);
    // A forced variant is refused when the OS disables its state, and the message says so.
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'avx2' }, cpuid(V3, ['avx', 'avx2', 'fma', 'f16c']))).toThrow(/the OS does not enable the register state of avx avx2 f16c fma/);
    // A source build reports how it was chosen.
    const source = fakePackage('source-only', [], true);
    expect(chooseBinary(source, {}, cpuid(V4))).toMatchObject({ variant: 'source', decidedBy: 'source-build', supported: ['avx512', 'avx2', 'baseline'] });
    expect(chooseBinary(source, { RNN_NODE_ISA: 'source' }, cpuid(V4)).decidedBy).toBe('forced');
    // Nothing known about the CPU: the baseline, and backendInfo says so.
    expect(chooseBinary(pkg, {}, { source: 'unknown', features: null, osDisabled: [] })).toMatchObject({ variant: 'baseline', decidedBy: 'unknown' });
    // A binary named outright wins over everything, and must exist.
    const named = join(source, 'build', 'Release', 'rnn_node.node');
    expect(chooseBinary(pkg, { RNN_NODE_BINARY: named, RNN_NODE_ISA: 'avx2' }, cpuid(V4))).toMatchObject({ path: named, decidedBy: 'forced', reason: `forced by RNN_NODE_BINARY=${named}` });
    expect(() => chooseBinary(pkg, { RNN_NODE_BINARY: join(root, 'nope.node') }, cpuid(V4))).toThrow(/RNN_NODE_BINARY=.*nope\.node does not exist/);
  });
});
