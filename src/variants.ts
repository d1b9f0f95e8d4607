/**
 * Prebuilt binary variants and the choice between them.
 *
 * The package ships one `.node` per x86-64 micro-architecture level. Picking one must never
 * execute an instruction the CPU lacks, so the CPU's features are read from the kernel
 * (/proc/cpuinfo lists only what both the CPU and the kernel support, AVX state saving
 * included), not probed by running native code. Plain CommonJS-compatible TypeScript with no
 * imports from the rest of the package: `scripts/install.js` uses it at install time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type IsaVariant = 'baseline' | 'avx2' | 'avx512';

export interface VariantSpec {
  name: IsaVariant;
  /** The -march level it is compiled for. */
  march: string;
  /** /proc/cpuinfo flags the level requires (x86-64 psABI levels). */
  flags: readonly string[];
}

const V2 = ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'];
const V3 = [...V2, 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'];
const V4 = [...V3, 'avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'];

/** Best first. */
export const VARIANTS: readonly VariantSpec[] = [
  { name: 'avx512', march: 'x86-64-v4', flags: V4 },
  { name: 'avx2', march: 'x86-64-v3', flags: V3 },
  { name: 'baseline', march: 'x86-64-v2', flags: V2 },
];

/** What `RNN_NODE_ISA` accepts: a variant, or `source` for the binary built from source. */
export const ISA_CHOICES = ['baseline', 'avx2', 'avx512', 'source'] as const;
export type IsaChoice = (typeof ISA_CHOICES)[number];

export function binaryName(variant: IsaVariant): string {
  return `rnn_node.${variant}.node`;
}

export function platformTag(): string {
  return `${process.platform}-${process.arch}`;
}

/** The CPU's feature flags, or null where they can't be read (then only the baseline is tried). */
export function cpuFlags(cpuinfoPath = '/proc/cpuinfo'): Set<string> | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  let text: string;
  try {
    text = readFileSync(cpuinfoPath, 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.startsWith('flags'));
  if (!line) return null;
  return new Set(line.slice(line.indexOf(':') + 1).trim().split(/\s+/));
}

/** Variants this CPU can run, best first. Unknown features: the baseline only. */
export function supportedVariants(flags: Set<string> | null = cpuFlags()): IsaVariant[] {
  if (flags === null) return ['baseline'];
  return VARIANTS.filter((v) => v.flags.every((f) => flags.has(f))).map((v) => v.name);
}

export function missingFlags(variant: IsaVariant, flags: Set<string> | null = cpuFlags()): string[] {
  const spec = VARIANTS.find((v) => v.name === variant)!;
  if (flags === null) return variant === 'baseline' ? [] : ['(CPU features unknown)'];
  return spec.flags.filter((f) => !flags.has(f));
}

export interface BinaryChoice {
  path: string;
  variant: IsaVariant | 'source';
  /** Why this one: shown by backendInfo(). */
  reason: string;
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

/**
 * The prebuilt variant to load: the one RNN_NODE_ISA forces, else the best one this CPU
 * supports. Throws, saying what was looked for, when none fits.
 */
export function choosePrebuilt(packageRoot: string, env: NodeJS.ProcessEnv = process.env, flags: Set<string> | null = cpuFlags()): BinaryChoice {
  const prebuiltDir = join(packageRoot, 'prebuilds', platformTag());
  const forced = forcedIsa(env);
  if (forced && forced !== 'source') {
    const missing = missingFlags(forced, flags);
    if (missing.length > 0) {
      throw new Error(`rnn-node: RNN_NODE_ISA=${forced} needs CPU features this machine lacks: ${missing.join(' ')}`);
    }
    const path = join(prebuiltDir, binaryName(forced));
    if (!existsSync(path)) throw new Error(`rnn-node: RNN_NODE_ISA=${forced} but ${path} does not exist`);
    return { path, variant: forced, reason: `forced by RNN_NODE_ISA=${forced}` };
  }
  const supported = supportedVariants(flags);
  for (const variant of supported) {
    const path = join(prebuiltDir, binaryName(variant));
    if (existsSync(path)) return { path, variant, reason: 'best prebuilt variant this CPU supports' };
  }
  throw new Error(
    `rnn-node: no prebuilt binary for ${platformTag()} that this CPU supports ` +
      `(it supports: ${supported.join(', ') || 'none of baseline, avx2, avx512'}; looked in ${prebuiltDir})`,
  );
}

/**
 * The binary to load: with RNN_NODE_ISA=source, or when a source build exists (install made
 * one because no prebuilt binary fits or one was asked for), build/Release; otherwise
 * choosePrebuilt. Throws with what was looked for when nothing fits.
 */
export function chooseBinary(packageRoot: string, env: NodeJS.ProcessEnv = process.env, flags: Set<string> | null = cpuFlags()): BinaryChoice {
  const sourceBuilds = [join(packageRoot, 'build', 'Release', 'rnn_node.node'), join(packageRoot, 'build', 'Debug', 'rnn_node.node')];
  const source = sourceBuilds.find((p) => existsSync(p));
  const forced = forcedIsa(env);
  if (forced === 'source') {
    if (!source) throw new Error(`rnn-node: RNN_NODE_ISA=source but no source build exists (${sourceBuilds[0]}); run \`RNN_NODE_BUILD_FROM_SOURCE=1 npm rebuild rnn-node\``);
    return { path: source, variant: 'source', reason: 'forced by RNN_NODE_ISA=source' };
  }
  if (source && !forced) return { path: source, variant: 'source', reason: 'source build' };
  try {
    return choosePrebuilt(packageRoot, env, flags);
  } catch (error) {
    if (forced) throw error;
    throw new Error(
      `${(error as Error).message}, and no source build (${sourceBuilds[0]}). Build one with ` +
        '`RNN_NODE_BUILD_FROM_SOURCE=1 npm rebuild rnn-node` (needs g++, make, python3 and Eigen 3.4 headers: apt-get install libeigen3-dev).',
    );
  }
}
