/**
 * What this CPU can run.
 *
 * x86-64, decided from the CPU itself: CPUID says which instructions
 * the processor has, XGETBV (XCR0) says which register states the operating system saves, and
 * an AVX or AVX-512 instruction is usable only when both agree. The registers are read by the
 * probe addon (native/probe/cpuid_probe.c, built for plain x86-64 so it is safe to run on any
 * of them); decoding them is here, as pure functions tested against recorded values of real
 * CPUs. /proc/cpuinfo is only the fallback: hypervisors and kernels hide or rename flags there
 * (an AMD EPYC VM listed no `abm` although CPUID reports LZCNT).
 *
 * arm64: user code cannot read the ID registers portably, so the kernel says what it found
 * and enabled, in the HWCAP words of the process's auxiliary vector (what getauxval(AT_HWCAP)
 * returns), read from /proc/self/auxv; the Features line of /proc/cpuinfo is the fallback.
 * (Under qemu-user, /proc/cpuinfo is the host's x86 text, while the auxiliary vector is the
 * emulated CPU's: one more reason to prefer HWCAP.)
 *
 * Features are named in the kernel's /proc/cpuinfo vocabulary (`pni` for SSE3, `abm` for
 * LZCNT, `lahf_lm`; `asimd` for NEON), so every source feeds the same variant table
 * (native/variants.ts).
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

/** The kernel's flags line of /proc/cpuinfo (x86), or null where there is none. */
export function cpuinfoFlags(text: string): Set<string> | null {
  return cpuinfoList(text, 'flags');
}

/** The kernel's Features line of /proc/cpuinfo (arm64), or null where there is none. */
export function cpuinfoArmFeatures(text: string): Set<string> | null {
  return cpuinfoList(text, 'Features');
}

function cpuinfoList(text: string, key: string): Set<string> | null {
  const line = text.split('\n').find((l) => l.startsWith(key) && /^\s*:/.test(l.slice(key.length)));
  if (!line) return null;
  return new Set(line.slice(line.indexOf(':') + 1).trim().split(/\s+/).filter(Boolean));
}

/** Auxiliary-vector keys (linux/auxvec.h). */
export const AT_HWCAP = 16;
export const AT_HWCAP2 = 26;

/**
 * The (key, value) pairs of a 64-bit little-endian auxiliary vector, as /proc/self/auxv holds
 * it, up to AT_NULL. Null when the bytes are not a whole number of pairs.
 */
export function parseAuxv(bytes: Uint8Array): Map<number, bigint> | null {
  if (bytes.length === 0 || bytes.length % 16 !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<number, bigint>();
  for (let at = 0; at + 16 <= bytes.length; at += 16) {
    const key = view.getBigUint64(at, true);
    if (key === 0n) break;
    if (key <= BigInt(Number.MAX_SAFE_INTEGER)) out.set(Number(key), view.getBigUint64(at + 8, true));
  }
  return out;
}

/**
 * arm64 HWCAP and HWCAP2 bits (Linux arch/arm64/include/uapi/asm/hwcap.h), named as in
 * /proc/cpuinfo's Features line. Only the ones a variant needs or backendInfo() notes.
 */
export const ARM64_HWCAP_BITS: readonly { name: string; word: 1 | 2; bit: number }[] = [
  { name: 'fp', word: 1, bit: 0 },
  { name: 'asimd', word: 1, bit: 1 },
  { name: 'asimdhp', word: 1, bit: 10 },
  { name: 'asimddp', word: 1, bit: 20 },
  { name: 'sve', word: 1, bit: 22 },
  { name: 'sve2', word: 2, bit: 1 },
  { name: 'i8mm', word: 2, bit: 13 },
  { name: 'bf16', word: 2, bit: 14 },
];

/** Decodes arm64 HWCAP/HWCAP2 into feature names (pure: the tests feed it real machines' words). */
export function featuresFromHwcap(hwcap: bigint, hwcap2: bigint = 0n): Set<string> {
  const features = new Set<string>();
  for (const f of ARM64_HWCAP_BITS) {
    const word = f.word === 1 ? hwcap : hwcap2;
    if ((word >> BigInt(f.bit)) & 1n) features.add(f.name);
  }
  return features;
}

export interface CpuDetection {
  /** The architecture the features describe (`process.arch` names: x64, arm64, ...). */
  arch: string;
  /** Where the features came from: the CPU itself (CPUID), the kernel's HWCAP words or its
   * cpuinfo list, or nowhere. */
  source: 'cpuid' | 'hwcap' | 'cpuinfo' | 'unknown';
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

/** Where the kernel's descriptions are read; tests point them elsewhere. */
export interface FeatureFiles {
  cpuinfo: string;
  auxv: string;
}

const KERNEL_FILES: FeatureFiles = { cpuinfo: '/proc/cpuinfo', auxv: '/proc/self/auxv' };

/** Per process, per (package root, files, arch): the CPU does not change under us. */
const cache = new Map<string, CpuDetection>();

/**
 * This machine's features. x64: CPUID and XGETBV through the probe when it loads, else the
 * flags of /proc/cpuinfo. arm64: the HWCAP words of /proc/self/auxv, else the Features line of
 * /proc/cpuinfo. Else unknown. Computed once per process.
 */
export function detectCpu(packageRoot: string, files: Partial<FeatureFiles> = {}, arch: string = process.arch): CpuDetection {
  const paths = { ...KERNEL_FILES, ...files };
  const key = `${packageRoot}\0${paths.cpuinfo}\0${paths.auxv}\0${arch}`;
  const known = cache.get(key);
  if (known) return known;
  const detection =
    process.platform !== 'linux' ? unknown(arch, `not Linux (${process.platform})`)
    : arch === 'x64' ? detectX64(packageRoot, paths.cpuinfo)
    : arch === 'arm64' ? detectArm64(paths)
    : unknown(arch, `no prebuilt binaries for ${arch}`);
  cache.set(key, detection);
  return detection;
}

function unknown(arch: string, fallbackReason: string): CpuDetection {
  return { arch, source: 'unknown', features: null, osDisabled: [], fallbackReason };
}

function detectArm64(paths: FeatureFiles): CpuDetection {
  let fallbackReason: string;
  try {
    const auxv = parseAuxv(readFileSync(paths.auxv));
    const hwcap = auxv?.get(AT_HWCAP);
    if (hwcap === undefined) throw new Error('no AT_HWCAP entry');
    return { arch: 'arm64', source: 'hwcap', features: featuresFromHwcap(hwcap, auxv!.get(AT_HWCAP2) ?? 0n), osDisabled: [] };
  } catch (error) {
    fallbackReason = `${paths.auxv} gave no HWCAP (${(error as Error).message.split('\n')[0]})`;
  }
  let text: string;
  try {
    text = readFileSync(paths.cpuinfo, 'utf8');
  } catch {
    return unknown('arm64', `${fallbackReason}, and ${paths.cpuinfo} is unreadable`);
  }
  const features = cpuinfoArmFeatures(text);
  if (!features) return unknown('arm64', `${fallbackReason}, and ${paths.cpuinfo} has no Features line`);
  return { arch: 'arm64', source: 'cpuinfo', features, osDisabled: [], fallbackReason };
}

function detectX64(packageRoot: string, cpuinfoPath: string): CpuDetection {
  let fallbackReason: string;
  const probePath = probePaths(packageRoot).find((p) => existsSync(p));
  if (probePath) {
    try {
      const probe = createRequire(__filename)(probePath) as ProbeAddon;
      const decoded = featuresFromCpuid(readCpuid(probe));
      return { arch: 'x64', source: 'cpuid', ...decoded };
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
    return unknown('x64', `${fallbackReason}, and ${cpuinfoPath} is unreadable`);
  }
  const flags = cpuinfoFlags(text);
  if (!flags) return unknown('x64', `${fallbackReason}, and ${cpuinfoPath} has no flags line`);
  return { arch: 'x64', source: 'cpuinfo', features: flags, osDisabled: [], fallbackReason };
}
