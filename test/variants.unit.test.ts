/** Choosing the binary: from detected CPU features (CPUID or cpuinfo), RNN_NODE_ISA, source builds. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { type CpuDetection, cpuinfoFlags } from '../src/native/cpu-features';
import { chooseBinary, choosePrebuilt, missingFlags, platformTag, supportedVariants, variantsFor, VARIANTS } from '../src/native/variants';

const V2 = ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'];
const V3 = [...V2, 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'];
const V4 = [...V3, 'avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];
const flags = (list: string[]) => new Set(['fpu', 'sse', 'sse2', ...list]);
/** A detection as the cpuinfo fallback makes it (no OS-state knowledge). */
const cpuinfo = (list: string[]): CpuDetection => ({ arch: 'x64', source: 'cpuinfo', features: flags(list), osDisabled: [] });
/** A detection as CPUID makes it, with the features the OS leaves disabled. */
const cpuid = (list: string[], osDisabled: string[] = []): CpuDetection => ({ arch: 'x64', source: 'cpuid', features: flags(list.filter((f) => !osDisabled.includes(f))), osDisabled });
/** An arm64 detection from the kernel's HWCAP. */
const hwcap = (list: string[]): CpuDetection => ({ arch: 'arm64', source: 'hwcap', features: new Set(list), osDisabled: [] });

const root = mkdtempSync(join(tmpdir(), 'rnn-node-variants-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fake package root with the given prebuilt variants (x64 and arm64 ones in their folders) and optionally a source build. */
function fakePackage(name: string, variants: string[], source = false): string {
  const dir = join(root, name);
  for (const v of variants) {
    const tag = platformTag(VARIANTS.find((spec) => spec.name === v)!.arch);
    mkdirSync(join(dir, 'prebuilds', tag), { recursive: true });
    writeFileSync(join(dir, 'prebuilds', tag, `rnn_node.${v}.node`), '');
  }
  if (source) {
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    writeFileSync(join(dir, 'build', 'Release', 'rnn_node.node'), '');
  }
  return dir;
}

describe('CPU features', () => {
  it('maps /proc/cpuinfo flags to x86-64 levels, best first', () => {
    expect(supportedVariants(flags(V4), 'x64')).toEqual(['avx512', 'avx2', 'baseline']);
    expect(supportedVariants(flags(V3), 'x64')).toEqual(['avx2', 'baseline']);
    // AVX2 without FMA (or with the kernel hiding AVX state) is not x86-64-v3.
    expect(supportedVariants(flags(V3.filter((f) => f !== 'fma')), 'x64')).toEqual(['baseline']);
    expect(supportedVariants(flags(V4.filter((f) => f !== 'avx512vl')), 'x64')).toEqual(['avx2', 'baseline']);
    expect(supportedVariants(flags(['sse3']), 'x64')).toEqual([]);
    expect(supportedVariants(null, 'x64')).toEqual(['baseline']);
    expect(missingFlags('avx2', flags(V2))).toEqual(V3.slice(V2.length));
  });

  it('reads the flags line of a cpuinfo text, and gives null when there is none', () => {
    expect(cpuinfoFlags(`processor\t: 0\nflags\t\t: ${V3.join(' ')}\nbugs\t\t: spectre_v1\n`)).toEqual(new Set(V3));
    expect(cpuinfoFlags('processor\t: 0\nvendor_id\t: GenuineIntel\n')).toBeNull();
  });

  it('every level includes the one below it', () => {
    for (const arch of ['x64', 'arm64']) {
      const table = variantsFor(arch);
      for (let i = 0; i + 1 < table.length; i++) {
        for (const f of table[i + 1].flags) expect(table[i].flags).toContain(f);
      }
    }
  });

  it('arm64: armv8 needs FP and Advanced SIMD; unknown features still get armv8; other architectures get nothing', () => {
    expect(variantsFor('arm64').map((v) => v.name)).toEqual(['armv8']);
    expect(supportedVariants(new Set(['fp', 'asimd', 'evtstrm', 'crc32']), 'arm64')).toEqual(['armv8']);
    expect(supportedVariants(new Set(['fp']), 'arm64')).toEqual([]);
    expect(supportedVariants(null, 'arm64')).toEqual(['armv8']);
    expect(missingFlags('armv8', new Set(['fp']))).toEqual(['asimd']);
    expect(missingFlags('armv8', null)).toEqual([]);
    expect(supportedVariants(new Set(['fp', 'asimd']), 'riscv64')).toEqual([]);
    expect(supportedVariants(null, 'ppc64')).toEqual([]);
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
    expect(() => choosePrebuilt(pkg, {}, cpuinfo(['sse3']))).toThrow(/it supports: none of avx512, avx2, baseline/);
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
    expect(chooseBinary(pkg, {}, { arch: 'x64', source: 'unknown', features: null, osDisabled: [] })).toMatchObject({ variant: 'baseline', decidedBy: 'unknown' });
    // A binary named outright wins over everything, and must exist.
    const named = join(source, 'build', 'Release', 'rnn_node.node');
    expect(chooseBinary(pkg, { RNN_NODE_BINARY: named, RNN_NODE_ISA: 'avx2' }, cpuid(V4))).toMatchObject({ path: named, decidedBy: 'forced', reason: `forced by RNN_NODE_BINARY=${named}` });
    expect(() => chooseBinary(pkg, { RNN_NODE_BINARY: join(root, 'nope.node') }, cpuid(V4))).toThrow(/RNN_NODE_BINARY=.*nope\.node does not exist/);
  });
});

describe('choosing the binary on linux-arm64', () => {
  const pkg = fakePackage('both-architectures', ['baseline', 'avx2', 'avx512', 'armv8']);
  const arm64Path = join(pkg, 'prebuilds', platformTag('arm64'), 'rnn_node.armv8.node');

  it("takes armv8 from prebuilds/<platform>-arm64 by the kernel's HWCAP, and reports the noted features", () => {
    const choice = chooseBinary(pkg, {}, hwcap(['fp', 'asimd', 'asimddp', 'sve', 'evtstrm', 'crc32']));
    expect(choice).toMatchObject({ path: arm64Path, variant: 'armv8', decidedBy: 'hwcap', featureSource: 'hwcap', supported: ['armv8'], notTaken: [] });
    expect(choice.reason).toBe("best prebuilt variant this CPU supports, by the kernel's HWCAP (auxiliary vector)");
    // The variant's features and the ones a later variant would use; nothing else.
    expect(choice.features).toEqual(['asimd', 'asimddp', 'fp', 'sve']);
    expect(chooseBinary(pkg, {}, { arch: 'arm64', source: 'cpuinfo', features: new Set(['fp', 'asimd']), osDisabled: [] })).toMatchObject({ variant: 'armv8', decidedBy: 'cpuinfo' });
    expect(chooseBinary(pkg, {}, { arch: 'arm64', source: 'unknown', features: null, osDisabled: [] })).toMatchObject({ variant: 'armv8', decidedBy: 'unknown' });
  });

  it('RNN_NODE_ISA=armv8 is taken there; x64 names are refused on arm64, and armv8 on x64', () => {
    expect(chooseBinary(pkg, { RNN_NODE_ISA: 'armv8' }, hwcap(['fp', 'asimd']))).toMatchObject({ path: arm64Path, decidedBy: 'forced' });
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'avx2' }, hwcap(['fp', 'asimd']))).toThrow(/RNN_NODE_ISA=avx2 is a variant for x64, but this machine is linux-arm64 \(its variants are armv8\)/);
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'armv8' }, cpuid(V4))).toThrow(/RNN_NODE_ISA=armv8 is a variant for arm64, but this machine is linux-x64 \(its variants are avx512, avx2, baseline\)/);
    expect(() => chooseBinary(pkg, { RNN_NODE_ISA: 'armv8' }, { arch: 'riscv64', source: 'unknown', features: null, osDisabled: [] })).toThrow(/this machine is linux-riscv64 \(no prebuilt variant exists for it\)/);
  });

  it('a CPU without NEON, or a package without the arm64 binary, falls back to a source build, saying why', () => {
    expect(() => choosePrebuilt(pkg, {}, hwcap(['fp']))).toThrow(/no prebuilt binary for linux-arm64 that this CPU supports \(it supports: none of armv8, by the kernel's HWCAP \(auxiliary vector\); armv8: the CPU lacks asimd; looked in/);
    const x64Only = fakePackage('x64-only', ['baseline', 'avx2', 'avx512']);
    expect(() => chooseBinary(x64Only, {}, hwcap(['fp', 'asimd']))).toThrow(/no prebuilt binary for linux-arm64 .*armv8: not in this package.*RNN_NODE_BUILD_FROM_SOURCE=1 npm rebuild rnn-node/);
  });
});
