/**
 * Prebuilt binary variants and the choice between them.
 *
 * The package ships one `.node` per x86-64 micro-architecture level (linux-x64) and one for
 * armv8-a with NEON (linux-arm64). Picking one must never execute an instruction the CPU
 * lacks, so the choice is made from the CPU's features as src/native/cpu-features.ts detects them
 * (x86-64: CPUID and XGETBV through a probe built for plain x86-64; arm64: the kernel's HWCAP;
 * /proc/cpuinfo only as a fallback), never by loading a variant to see whether it works.
 * Plain CommonJS-compatible TypeScript with no imports from the rest of the package but
 * cpu-features: `scripts/install.js` uses it at install time.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { type CpuDetection, detectCpu } from './cpu-features';

export type IsaVariant = 'baseline' | 'avx2' | 'avx512' | 'armv8';

/** The architectures with prebuilt binaries (Node's `process.arch` names). */
export type PrebuiltArch = 'x64' | 'arm64';

export interface VariantSpec {
  name: IsaVariant;
  arch: PrebuiltArch;
  /** The -march level it is compiled for. */
  march: string;
  /** CPU features the level requires, in /proc/cpuinfo's names (x64: the psABI levels' flags;
   * arm64: HWCAP names, as in the Features line). */
  flags: readonly string[];
}

const V2 = ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'];
const V3 = [...V2, 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'];
const V4 = [...V3, 'avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];

/**
 * Every prebuilt variant, per architecture best first; the last of each architecture is its
 * baseline, tried when the CPU's features cannot be read. armv8-a includes the FP and
 * Advanced SIMD (NEON) units on every 64-bit Arm server, and GCC uses them at that level.
 */
export const VARIANTS: readonly VariantSpec[] = [
  { name: 'avx512', arch: 'x64', march: 'x86-64-v4', flags: V4 },
  { name: 'avx2', arch: 'x64', march: 'x86-64-v3', flags: V3 },
  { name: 'baseline', arch: 'x64', march: 'x86-64-v2', flags: V2 },
  { name: 'armv8', arch: 'arm64', march: 'armv8-a', flags: ['fp', 'asimd'] },
];

/** The variants of one architecture, best first (none for an architecture without prebuilts). */
export function variantsFor(arch: string = process.arch): readonly VariantSpec[] {
  return VARIANTS.filter((v) => v.arch === arch);
}

/**
 * Features reported by backendInfo() beside the ones the variant table needs: those a later
 * arm64 variant (dot product, SVE, int8/bf16 matrix instructions) would build on, so that
 * field reports show what the machine had.
 */
const NOTED_FEATURES: Record<PrebuiltArch, readonly string[]> = { x64: [], arm64: ['asimddp', 'sve', 'sve2', 'i8mm', 'bf16'] };

/** What `RNN_NODE_ISA` accepts: a variant, or `source` for the binary built from source. */
export const ISA_CHOICES = ['baseline', 'avx2', 'avx512', 'armv8', 'source'] as const;
export type IsaChoice = (typeof ISA_CHOICES)[number];

export function binaryName(variant: IsaVariant): string {
  return `rnn_node.${variant}.node`;
}

export function platformTag(arch: string = process.arch): string {
  return `${process.platform}-${arch}`;
}

/** Variants a CPU of `arch` with these usable features can run, best first. Unknown: its baseline only. */
export function supportedVariants(features: Set<string> | null, arch: string = process.arch): IsaVariant[] {
  const table = variantsFor(arch);
  if (features === null) return table.slice(-1).map((v) => v.name);
  return table.filter((v) => v.flags.every((f) => features.has(f))).map((v) => v.name);
}

/** Features `variant` needs that `features` lacks. */
export function missingFlags(variant: IsaVariant, features: Set<string> | null): string[] {
  const spec = VARIANTS.find((v) => v.name === variant)!;
  const table = variantsFor(spec.arch);
  if (features === null) return spec === table[table.length - 1] ? [] : ['(CPU features unknown)'];
  return spec.flags.filter((f) => !features.has(f));
}

/** A better variant that was not loaded, and why. */
export interface VariantNotTaken {
  variant: IsaVariant;
  /** Features it needs that are not usable here (empty when it was only not shipped/forced away). */
  missing: string[];
  /** Of those, the ones the CPU has but the OS does not enable (XCR0 lacks their state). */
  osDisabled: string[];
  reason: string;
}

export interface BinaryChoice {
  path: string;
  variant: IsaVariant | 'source';
  /** How the variant was decided: CPUID+XGETBV, the kernel's cpuinfo flags, RNN_NODE_ISA, a
   * source build, or nothing at all ('unknown': neither could be read; the baseline only). */
  decidedBy: 'cpuid' | 'hwcap' | 'cpuinfo' | 'forced' | 'source-build' | 'unknown';
  /** Why this one, in words: shown by backendInfo(). */
  reason: string;
  /** Where the CPU features came from, and the ones the variant table uses. */
  featureSource: CpuDetection['source'];
  features: string[];
  /** Prebuilt variants this CPU can run, best first. */
  supported: IsaVariant[];
  /** Better prebuilt variants than the one loaded, and why each was not taken. */
  notTaken: VariantNotTaken[];
}

/** Reads and checks RNN_NODE_ISA. */
export function forcedIsa(env: NodeJS.ProcessEnv = process.env): IsaChoice | undefined {
  const raw = env.RNN_NODE_ISA;
  if (raw === undefined || raw === '') return undefined;
  if (!(ISA_CHOICES as readonly string[]).includes(raw)) {
    throw new RangeError(
      `Expected one of ${ISA_CHOICES.join(', ')} for RNN_NODE_ISA but received ${JSON.stringify(raw)}`,
    );
  }
  return raw as IsaChoice;
}

/** The features the variant table looks at (and the noted ones), sorted: what backendInfo() reports. */
function relevantFeatures(detection: CpuDetection): string[] {
  if (!detection.features) return [];
  const noted = NOTED_FEATURES[detection.arch as PrebuiltArch] ?? [];
  const all = new Set([...variantsFor(detection.arch).flatMap((v) => v.flags), ...noted]);
  return [...detection.features].filter((f) => all.has(f)).sort();
}

/** Where the features came from, in words. */
function featureSourceWords(source: CpuDetection['source']): string {
  switch (source) {
    case 'cpuid': return 'CPUID/XGETBV';
    case 'hwcap': return "the kernel's HWCAP (auxiliary vector)";
    case 'cpuinfo': return '/proc/cpuinfo flags';
    default: return 'no feature source';
  }
}

function describeMissing(missing: string[], osDisabled: string[]): string {
  const cpuLacks = missing.filter((f) => !osDisabled.includes(f));
  const parts: string[] = [];
  if (cpuLacks.length > 0) parts.push(`the CPU lacks ${cpuLacks.join(' ')}`);
  if (osDisabled.length > 0) parts.push(`the OS does not enable the register state of ${osDisabled.join(' ')} (XCR0)`);
  return parts.join('; ');
}

/** Why each variant better than `loaded` (or all, when nothing loaded) was not taken. */
function variantsNotTaken(loaded: IsaVariant | 'source' | null, detection: CpuDetection, shipped: (v: IsaVariant) => boolean, forced: boolean): VariantNotTaken[] {
  const out: VariantNotTaken[] = [];
  for (const spec of variantsFor(detection.arch)) {
    if (spec.name === loaded) break;
    const missing = missingFlags(spec.name, detection.features);
    const osDisabled = missing.filter((f) => detection.osDisabled.includes(f));
    let reason: string;
    if (missing.length > 0) reason = detection.features === null ? 'CPU features unknown' : describeMissing(missing, osDisabled);
    else if (forced) reason = 'RNN_NODE_ISA chose another variant';
    else if (!shipped(spec.name)) reason = 'not in this package';
    else continue; // supported and shipped but a source build was preferred: not "better"
    out.push({ variant: spec.name, missing, osDisabled, reason });
  }
  return out;
}

/**
 * The prebuilt variant to load: the one RNN_NODE_ISA forces (checked against the CPU like
 * any other), else the best one this CPU supports. Throws, saying what was looked for and
 * why each variant was refused, when none fits.
 */
export function choosePrebuilt(packageRoot: string, env: NodeJS.ProcessEnv = process.env, detection: CpuDetection = detectCpu(packageRoot)): BinaryChoice {
  const tag = platformTag(detection.arch);
  const prebuiltDir = join(packageRoot, 'prebuilds', tag);
  const pathOf = (v: IsaVariant) => join(prebuiltDir, binaryName(v));
  const shipped = (v: IsaVariant) => existsSync(pathOf(v));
  const forced = forcedIsa(env);
  const table = variantsFor(detection.arch);
  const supported = supportedVariants(detection.features, detection.arch);
  const common = { featureSource: detection.source, features: relevantFeatures(detection), supported };
  const decidedBy = detection.source;
  const from = featureSourceWords(detection.source);
  if (forced && forced !== 'source') {
    if (!table.some((v) => v.name === forced)) {
      const spec = VARIANTS.find((v) => v.name === forced)!;
      const here = table.length > 0 ? `its variants are ${table.map((v) => v.name).join(', ')}` : 'no prebuilt variant exists for it';
      throw new Error(`rnn-node: RNN_NODE_ISA=${forced} is a variant for ${spec.arch}, but this machine is ${tag} (${here})`);
    }
    const missing = missingFlags(forced, detection.features);
    if (missing.length > 0) {
      const osDisabled = missing.filter((f) => detection.osDisabled.includes(f));
      throw new Error(`rnn-node: RNN_NODE_ISA=${forced} needs CPU features this machine lacks (by ${from}): ${describeMissing(missing, osDisabled)}`);
    }
    if (!shipped(forced)) throw new Error(`rnn-node: RNN_NODE_ISA=${forced} but ${pathOf(forced)} does not exist`);
    return {
      path: pathOf(forced), variant: forced, decidedBy: 'forced',
      reason: `forced by RNN_NODE_ISA=${forced} (the CPU supports it, by ${from})`,
      ...common, notTaken: variantsNotTaken(forced, detection, shipped, true),
    };
  }
  for (const variant of supported) {
    if (!shipped(variant)) continue;
    const fallback = detection.fallbackReason ? `; ${detection.fallbackReason}` : '';
    return {
      path: pathOf(variant), variant, decidedBy,
      reason: `best prebuilt variant this CPU supports, by ${from}${fallback}`,
      ...common, notTaken: variantsNotTaken(variant, detection, shipped, false),
    };
  }
  const refused = variantsNotTaken(null, detection, shipped, false).map((n) => `${n.variant}: ${n.reason}`);
  throw new Error(
    `rnn-node: no prebuilt binary for ${tag} that this CPU supports ` +
      `(it supports: ${supported.join(', ') || `none of ${table.map((v) => v.name).join(', ') || 'the prebuilt variants'}`}, by ${from}; ${[...refused, ''].join('; ')}looked in ${prebuiltDir})`,
  );
}

/**
 * The binary to load: with RNN_NODE_ISA=source, or when a source build exists (install made
 * one because no prebuilt binary fits or one was asked for), build/Release; otherwise
 * choosePrebuilt. Throws with what was looked for when nothing fits.
 */
export function chooseBinary(packageRoot: string, env: NodeJS.ProcessEnv = process.env, detection?: CpuDetection): BinaryChoice {
  // A binary named outright (a sanitized or debug build: scripts/addon-sanitize-tests.sh).
  const named = env.RNN_NODE_BINARY;
  if (named !== undefined && named !== '') {
    if (!existsSync(named)) throw new Error(`rnn-node: RNN_NODE_BINARY=${named} does not exist`);
    const d = detection ?? detectCpu(packageRoot);
    return {
      path: named, variant: 'source', decidedBy: 'forced', reason: `forced by RNN_NODE_BINARY=${named}`,
      featureSource: d.source, features: relevantFeatures(d), supported: supportedVariants(d.features, d.arch), notTaken: [],
    };
  }
  const sourceBuilds = [join(packageRoot, 'build', 'Release', 'rnn_node.node'), join(packageRoot, 'build', 'Debug', 'rnn_node.node')];
  const source = sourceBuilds.find((p) => existsSync(p));
  const forced = forcedIsa(env);
  const detected = () => detection ?? detectCpu(packageRoot);
  const sourceChoice = (reason: string): BinaryChoice => {
    const d = detected();
    return {
      path: source!, variant: 'source', decidedBy: forced ? 'forced' : 'source-build', reason,
      featureSource: d.source, features: relevantFeatures(d), supported: supportedVariants(d.features, d.arch), notTaken: [],
    };
  };
  if (forced === 'source') {
    if (!source) throw new Error(`rnn-node: RNN_NODE_ISA=source but no source build exists (${sourceBuilds[0]}); run \`RNN_NODE_BUILD_FROM_SOURCE=1 npm rebuild rnn-node\``);
    return sourceChoice('forced by RNN_NODE_ISA=source');
  }
  if (source && !forced) return sourceChoice('source build (install built one; it is tuned for this CPU with -march=native)');
  try {
    return choosePrebuilt(packageRoot, env, detected());
  } catch (error) {
    if (forced) throw error;
    throw new Error(
      `${(error as Error).message}, and no source build (${sourceBuilds[0]}). Build one with ` +
        '`RNN_NODE_BUILD_FROM_SOURCE=1 npm rebuild rnn-node` (needs g++, make, python3 and Eigen 3.4 headers: apt-get install libeigen3-dev).',
    );
  }
}
