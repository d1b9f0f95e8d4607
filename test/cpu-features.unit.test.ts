/**
 * Deciding the variant from the CPU itself: CPUID and XGETBV values recorded on real CPUs
 * (test/fixtures/cpuid: Intel and AMD, pre-AVX to AVX-512, and the AVX-512 VM whose
 * /proc/cpuinfo hid `abm`), decoded by featuresFromCpuid. (This machine's own probe:
 * cpu-probe.integration.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { type CpuidDump, type CpuidRegisters, cpuinfoFlags, featuresFromCpuid } from '../src/native/cpu-features';
import { supportedVariants } from '../src/native/variants';

interface Fixture {
  name: string;
  leaves: Record<string, string[]>;
  xcr0?: string;
  xcr0SupportedMask?: string;
  cpuinfoFlags?: string;
}
const fixtures: Fixture[] = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'cpuid', 'real-cpus.json'), 'utf8'));
const fixture = (prefix: string) => {
  const found = fixtures.find((f) => f.name.includes(prefix));
  if (!found) throw new Error(`no fixture named like ${prefix}`);
  return found;
};

const OSXSAVE = 1 << 27;

/**
 * The dump as the decision sees it. XCR0 is what the CPU reported when recorded, else what
 * Linux sets: every user state the CPU supports (leaf 0xD), or nothing when the CPU has no
 * XSAVE. `xcr0` overrides it (an OS that leaves states off); `osxsave: false` is an OS that
 * never enabled XSAVE at all.
 */
function dumpOf(f: Fixture, options: { xcr0?: number; osxsave?: boolean } = {}): CpuidDump {
  const regs = (leaf: string): CpuidRegisters => {
    const r = f.leaves[leaf].map((h) => Number.parseInt(h, 16) >>> 0) as unknown as [number, number, number, number];
    return r;
  };
  const leaf1 = [...regs('0x1')] as [number, number, number, number];
  if (options.osxsave === false) leaf1[2] = (leaf1[2] & ~OSXSAVE) >>> 0;
  const hasOsxsave = (leaf1[2] & OSXSAVE) !== 0;
  const recorded = f.xcr0 ?? f.xcr0SupportedMask;
  const xcr0 = options.xcr0 ?? (hasOsxsave && recorded ? Number.parseInt(recorded, 16) : null);
  return {
    leaves: { '0x0': regs('0x0'), '0x1': leaf1, '0x7': regs('0x7'), '0x80000000': regs('0x80000000'), '0x80000001': regs('0x80000001') },
    xcr0: hasOsxsave ? xcr0 : null,
  };
}

const variantsOf = (f: Fixture, options?: { xcr0?: number; osxsave?: boolean }) => supportedVariants(featuresFromCpuid(dumpOf(f, options)).features);
const AVX512_FLAGS = ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];

describe('CPUID + XGETBV of real CPUs', () => {
  it.each([
    ['i7-4770 (Haswell', ['avx2', 'baseline']],
    ['i5-6400T (Skylake-S', ['avx2', 'baseline']],
    ['Ryzen 7 1800X (Zen 1', ['avx2', 'baseline']],
    ['Ryzen 5 3600X (Zen 2', ['avx2', 'baseline']],
    ['i9-7900X (Skylake-X', ['avx512', 'avx2', 'baseline']],
    ['Xeon Gold 6252 (Cascade Lake', ['avx512', 'avx2', 'baseline']],
    ['i7-1065G7 (Ice Lake', ['avx512', 'avx2', 'baseline']],
    ['Ryzen 5 7600X (Zen 4', ['avx512', 'avx2', 'baseline']],
    ['EPYC 9654 (Zen 4', ['avx512', 'avx2', 'baseline']],
    ['development machine', ['avx512', 'avx2', 'baseline']],
    ['i7-860 (Nehalem', ['baseline']],
    ['i7-990X (Westmere', ['baseline']],
    ['X6800 (Conroe', []],
    ['E7200 (Penryn', []],
    ['X5482 (Penryn', []],
  ])('%s: %j', (name, expected) => {
    expect(variantsOf(fixture(name))).toEqual(expected);
  });

  it('a pre-AVX CPU is never asked for XGETBV and has no AVX features', () => {
    for (const name of ['i7-860 (Nehalem', 'i7-990X (Westmere', 'X6800 (Conroe']) {
      const dump = dumpOf(fixture(name));
      expect(dump.xcr0).toBeNull();
      const { features, osDisabled } = featuresFromCpuid(dump);
      expect([...features].filter((f) => f.startsWith('avx') || f === 'fma')).toEqual([]);
      expect(osDisabled).toEqual([]);
    }
    // Conroe lacks SSE4.1/4.2 and POPCNT: no x86-64-v2, and the features say why.
    const conroe = featuresFromCpuid(dumpOf(fixture('X6800 (Conroe'))).features;
    expect(conroe.has('ssse3')).toBe(true);
    expect(['sse4_1', 'sse4_2', 'popcnt'].filter((f) => conroe.has(f))).toEqual([]);
  });

  it('an OS that does not save AVX-512 state (XCR0 = 0x7) gets avx2, with the disabled features named', () => {
    for (const name of ['i9-7900X (Skylake-X', 'EPYC 9654 (Zen 4', 'development machine']) {
      const decoded = featuresFromCpuid(dumpOf(fixture(name), { xcr0: 0x7 }));
      expect(supportedVariants(decoded.features)).toEqual(['avx2', 'baseline']);
      expect(decoded.osDisabled.sort()).toEqual([...AVX512_FLAGS].sort());
    }
  });

  it('an OS that saves no AVX state, or never enabled XSAVE, gets the baseline', () => {
    const haswell = fixture('i7-4770 (Haswell');
    expect(variantsOf(haswell, { xcr0: 0x3 })).toEqual(['baseline']);
    expect(variantsOf(haswell, { osxsave: false })).toEqual(['baseline']);
    expect(featuresFromCpuid(dumpOf(haswell, { osxsave: false })).osDisabled.sort()).toEqual(['avx', 'avx2', 'f16c', 'fma']);
    expect(variantsOf(fixture('EPYC 9654 (Zen 4'), { osxsave: false })).toEqual(['baseline']);
  });

  it('leaves above the maximum the CPU reports are ignored', () => {
    const dump = dumpOf(fixture('i7-4770 (Haswell'));
    const lowMax: CpuidDump = { ...dump, leaves: { ...dump.leaves, '0x0': [6, 0, 0, 0], '0x80000000': [0x80000000, 0, 0, 0] } };
    const { features } = featuresFromCpuid(lowMax);
    expect(['avx2', 'bmi1', 'bmi2', 'abm', 'lahf_lm'].filter((f) => features.has(f))).toEqual([]);
  });

  it('an AVX-512 VM whose /proc/cpuinfo hides `abm` (as the field report\'s EPYC VM did; simulated from this VM\'s recorded flags): CPUID says avx512, cpuinfo alone says baseline', () => {
    const vm = fixture('development machine');
    const hidden = new Set([...cpuinfoFlags(`flags\t: ${vm.cpuinfoFlags}`)!].filter((f) => f !== 'abm'));
    expect(supportedVariants(hidden)).toEqual(['baseline']);
    const decoded = featuresFromCpuid(dumpOf(vm));
    expect(decoded.features.has('abm')).toBe(true);
    expect(supportedVariants(decoded.features)[0]).toBe('avx512');
  });

  it('where a real cpuinfo flags line of the same CPU family was recorded, it leads to the same variants', () => {
    let compared = 0;
    for (const f of fixtures) {
      if (!f.cpuinfoFlags) continue;
      expect(supportedVariants(cpuinfoFlags(`flags\t: ${f.cpuinfoFlags}`)), f.name).toEqual(variantsOf(f));
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(5);
  });
});
