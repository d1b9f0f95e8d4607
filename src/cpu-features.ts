/**
 * What this x86-64 CPU can run, decided from the CPU itself: CPUID says which instructions
 * the processor has, XGETBV (XCR0) says which register states the operating system saves, and
 * an AVX or AVX-512 instruction is usable only when both agree. The registers are read by the
 * probe addon (native/probe/cpuid_probe.c, built for plain x86-64 so it is safe to run on any
 * of them); decoding them is here, as pure functions tested against recorded values of real
 * CPUs. /proc/cpuinfo is only the fallback: hypervisors and kernels hide or rename flags there
 * (an AMD EPYC VM listed no `abm` although CPUID reports LZCNT).
 *
 * Features are named in the kernel's /proc/cpuinfo vocabulary (`pni` for SSE3, `abm` for
 * LZCNT, `lahf_lm`), so both sources feed the same variant table (src/variants.ts).
 * Plain CommonJS-compatible TypeScript with no imports from the rest of the package:
 * `scripts/install.js` uses it at install time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** CPUID output of one leaf: [eax, ebx, ecx, edx]. */
export type CpuidRegisters = readonly [number, number, number, number];

/** The leaves the decision needs, and XCR0 (null when the OS has not enabled XSAVE). */
export interface CpuidDump {
  leaves: {
    '0x0': CpuidRegisters;
    '0x1': CpuidRegisters;
    /** Subleaf 0; absent when leaf 0 reports a maximum below 7. */
    '0x7'?: CpuidRegisters;
    '0x80000000': CpuidRegisters;
    /** Absent when leaf 0x80000000 reports a maximum below 0x80000001. */
    '0x80000001'?: CpuidRegisters;
  };
  /** Low 32 bits of XCR0 (the states we need are all below bit 32), or null. */
  xcr0: number | null;
}

const EAX = 0, EBX = 1, ECX = 2, EDX = 3;

interface FeatureBit {
  name: string;
  leaf: '0x1' | '0x7' | '0x80000001';
  register: number;
  bit: number;
  /** The register state the OS must save for the instructions to be usable. */
  state?: 'avx' | 'avx512';
}

/** The bits behind the x86-64 psABI levels v2..v4 (Intel SDM vol. 2A, CPUID; AMD APM vol. 3). */
const FEATURE_BITS: readonly FeatureBit[] = [
  { name: 'pni', leaf: '0x1', register: ECX, bit: 0 }, // SSE3
  { name: 'ssse3', leaf: '0x1', register: ECX, bit: 9 },
  { name: 'fma', leaf: '0x1', register: ECX, bit: 12, state: 'avx' },
  { name: 'cx16', leaf: '0x1', register: ECX, bit: 13 },
  { name: 'sse4_1', leaf: '0x1', register: ECX, bit: 19 },
  { name: 'sse4_2', leaf: '0x1', register: ECX, bit: 20 },
  { name: 'movbe', leaf: '0x1', register: ECX, bit: 22 },
  { name: 'popcnt', leaf: '0x1', register: ECX, bit: 23 },
  { name: 'xsave', leaf: '0x1', register: ECX, bit: 26 },
  { name: 'avx', leaf: '0x1', register: ECX, bit: 28, state: 'avx' },
  { name: 'f16c', leaf: '0x1', register: ECX, bit: 29, state: 'avx' },
  { name: 'sse', leaf: '0x1', register: EDX, bit: 25 },
  { name: 'sse2', leaf: '0x1', register: EDX, bit: 26 },
  { name: 'bmi1', leaf: '0x7', register: EBX, bit: 3 },
  { name: 'avx2', leaf: '0x7', register: EBX, bit: 5, state: 'avx' },
  { name: 'bmi2', leaf: '0x7', register: EBX, bit: 8 },
  { name: 'avx512f', leaf: '0x7', register: EBX, bit: 16, state: 'avx512' },
  { name: 'avx512dq', leaf: '0x7', register: EBX, bit: 17, state: 'avx512' },
  { name: 'avx512cd', leaf: '0x7', register: EBX, bit: 28, state: 'avx512' },
  { name: 'avx512bw', leaf: '0x7', register: EBX, bit: 30, state: 'avx512' },
  { name: 'avx512vl', leaf: '0x7', register: EBX, bit: 31, state: 'avx512' },
  { name: 'lahf_lm', leaf: '0x80000001', register: ECX, bit: 0 },
  { name: 'abm', leaf: '0x80000001', register: ECX, bit: 5 }, // LZCNT
];

/** XCR0 bits: 1 SSE (XMM), 2 AVX (upper YMM); 5 opmask, 6 ZMM_Hi256, 7 Hi16_ZMM. */
const XCR0_AVX = 0b110;
const XCR0_AVX512 = 0b1110_0110;

export interface DecodedFeatures {
  /** Features usable by user code: present in CPUID and, for AVX/AVX-512, saved by the OS. */
  features: Set<string>;
  /** Features the CPU has but cannot be used because the OS does not save their state. */
  osDisabled: string[];
}

const bitSet = (value: number, bit: number) => ((value >>> bit) & 1) === 1;

/** Decodes a CPUID/XGETBV dump into usable features (pure: the tests feed it real CPUs). */
export function featuresFromCpuid(dump: CpuidDump): DecodedFeatures {
  const maxBasic = dump.leaves['0x0'][EAX] >>> 0;
  const maxExtended = dump.leaves['0x80000000'][EAX] >>> 0;
  const leaf = (name: FeatureBit['leaf']): CpuidRegisters | undefined => {
    if (name === '0x7') return maxBasic >= 7 ? dump.leaves['0x7'] : undefined;
    if (name === '0x80000001') return maxExtended >= 0x80000001 ? dump.leaves['0x80000001'] : undefined;
    return dump.leaves['0x1'];
  };
  // OSXSAVE (CPUID.1:ECX bit 27) says XGETBV may be run; without it no AVX state is saved.
  const osxsave = bitSet(dump.leaves['0x1'][ECX], 27);
  const xcr0 = osxsave && dump.xcr0 !== null ? dump.xcr0 >>> 0 : 0;
  const saved = {
    avx: (xcr0 & XCR0_AVX) === XCR0_AVX,
    avx512: (xcr0 & XCR0_AVX512) === XCR0_AVX512,
  };
  const features = new Set<string>();
  const osDisabled: string[] = [];
  for (const f of FEATURE_BITS) {
    const registers = leaf(f.leaf);
    if (!registers || !bitSet(registers[f.register], f.bit)) continue;
    if (f.state && !saved[f.state]) osDisabled.push(f.name);
    else features.add(f.name);
  }
  return { features, osDisabled };
}

/** The registers the decision needs, read through the probe addon. */
export function readCpuid(probe: ProbeAddon): CpuidDump {
  const basic = probe.cpuid(0, 0);
  const extended = probe.cpuid(0x80000000, 0);
  const xcr0 = probe.xgetbv();
  return {
    leaves: {
      '0x0': basic,
      '0x1': probe.cpuid(1, 0),
      ...(basic[EAX] >>> 0 >= 7 ? { '0x7': probe.cpuid(7, 0) } : {}),
      '0x80000000': extended,
      ...(extended[EAX] >>> 0 >= 0x80000001 ? { '0x80000001': probe.cpuid(0x80000001, 0) } : {}),
    },
    xcr0: xcr0 === null ? null : xcr0[0],
  };
}

/** The probe addon's interface (native/probe/cpuid_probe.c). */
export interface ProbeAddon {
  cpuid(leaf: number, subleaf: number): CpuidRegisters;
  xgetbv(): [number, number] | null;
}

/** The kernel's flags line of /proc/cpuinfo, or null where there is none. */
export function cpuinfoFlags(text: string): Set<string> | null {
  const line = text.split('\n').find((l) => l.startsWith('flags'));
  if (!line) return null;
  return new Set(line.slice(line.indexOf(':') + 1).trim().split(/\s+/));
}

export interface CpuDetection {
  /** Where the features came from: the CPU itself, the kernel's list, or nowhere. */
  source: 'cpuid' | 'cpuinfo' | 'unknown';
  /** Usable features, or null when unknown (then only the baseline is tried). */
  features: Set<string> | null;
  /** CPU features the OS leaves disabled (CPUID only). */
  osDisabled: string[];
  /** Why CPUID was not used, when it was not. */
  fallbackReason?: string;
}

/** Where the probe lives: beside the prebuilt variants, or in a source build. */
export function probePaths(packageRoot: string): string[] {
  return [
    join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'rnn_cpuid.node'),
    join(packageRoot, 'build', 'Release', 'rnn_cpuid.node'),
  ];
}

/** Per process, per (package root, cpuinfo path): the CPU does not change under us. */
const cache = new Map<string, CpuDetection>();

/**
 * This machine's features: CPUID and XGETBV through the probe when it loads, else the flags
 * of /proc/cpuinfo, else unknown. Computed once per process.
 */
export function detectCpu(packageRoot: string, cpuinfoPath = '/proc/cpuinfo'): CpuDetection {
  const key = `${packageRoot}\0${cpuinfoPath}`;
  const known = cache.get(key);
  if (known) return known;
  const detection = detectUncached(packageRoot, cpuinfoPath);
  cache.set(key, detection);
  return detection;
}

function detectUncached(packageRoot: string, cpuinfoPath: string): CpuDetection {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { source: 'unknown', features: null, osDisabled: [], fallbackReason: 'not linux-x64' };
  }
  let fallbackReason: string;
  const probePath = probePaths(packageRoot).find((p) => existsSync(p));
  if (probePath) {
    try {
      const probe = createRequire(__filename)(probePath) as ProbeAddon;
      const decoded = featuresFromCpuid(readCpuid(probe));
      return { source: 'cpuid', ...decoded };
    } catch (error) {
      fallbackReason = `the CPUID probe ${probePath} failed: ${(error as Error).message.split('\n')[0]}`;
    }
  } else {
    fallbackReason = 'no CPUID probe (rnn_cpuid.node) in this package';
  }
  let text: string;
  try {
    text = readFileSync(cpuinfoPath, 'utf8');
  } catch {
    return { source: 'unknown', features: null, osDisabled: [], fallbackReason: `${fallbackReason}, and ${cpuinfoPath} is unreadable` };
  }
  const flags = cpuinfoFlags(text);
  if (!flags) return { source: 'unknown', features: null, osDisabled: [], fallbackReason: `${fallbackReason}, and ${cpuinfoPath} has no flags line` };
  return { source: 'cpuinfo', features: flags, osDisabled: [], fallbackReason };
}
