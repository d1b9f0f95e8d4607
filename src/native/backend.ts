/** What the loaded native backend is and how it runs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { getNumThreads } from './threads';
import { loadedBinary, native } from './addon';
import type { IsaVariant, VariantNotTaken } from './variants';

export interface BackendInfo {
  /** Version of this package. */
  version: string;
  /** Path of the loaded binary. */
  binary: string;
  /** Which binary: a prebuilt ISA variant, or 'source' for one built from source on install. */
  variant: IsaVariant | 'source';
  /** How it was decided: CPUID+XGETBV on x64 (`cpuid`), the kernel's HWCAP on arm64
   * (`hwcap`), the kernel's /proc/cpuinfo list when neither is available (`cpuinfo`),
   * RNN_NODE_ISA or RNN_NODE_BINARY (`forced`), a source build, or nothing (`unknown`: no
   * source could be read, so the architecture's baseline variant). */
  decidedBy: 'cpuid' | 'hwcap' | 'cpuinfo' | 'forced' | 'source-build' | 'unknown';
  /** Why that binary was chosen, in words. */
  variantReason: string;
  /** Where the CPU features came from ('unknown': none could be read). */
  featureSource: 'cpuid' | 'hwcap' | 'cpuinfo' | 'unknown';
  /** The usable CPU features the variant table looks at, in cpuinfo names (x64: `abm` is
   * LZCNT, `pni` SSE3; arm64: `asimd` is NEON, plus the noted `asimddp`, `sve`, `sve2`,
   * `i8mm`, `bf16` when present). */
  cpuFeatures: string[];
  /** Prebuilt variants this CPU can run, best first. */
  supportedVariants: string[];
  /** Better prebuilt variants than the loaded one, each with why it was not taken. */
  variantsNotTaken: VariantNotTaken[];
  /** -march the binary was compiled for ('native' for a source build). */
  isa: string;
  /** SIMD instruction sets Eigen uses. */
  simd: string;
  /** What int8 models (`quantize()`) run on: 'avx512-vnni', 'avx-vnni' or 'avx2' on x64,
   * 'neon-dot' or 'neon' on arm64 (chosen from the CPU's features at run time), else
   * 'portable' (exact integer sums on the float kernels, which can be slower than float32:
   * `quantize()` then warns, RNN_NODE_PORTABLE_INT8). */
  int8Kernel: string;
  /** What bf16 models run on: 'avx512-bf16', else 'portable' (RNN_NODE_PORTABLE_BF16). */
  bf16Kernel: string;
  openmp: boolean;
  /** The OpenMP runtime file actually loaded (the prebuilt binaries carry their own libgomp). */
  openmpRuntime: string | undefined;
  /** Default threads for native work. */
  threads: number;
  /** Cores OpenMP sees. */
  maxThreads: number;
  eigen: string;
  compiler: string | undefined;
  napiVersion: string | undefined;
  node: string;
}

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function backendInfo(): BackendInfo {
  const info = native().buildInfo();
  const choice = loadedBinary!;
  return {
    version: packageVersion(),
    binary: choice.path,
    variant: choice.variant,
    decidedBy: choice.decidedBy,
    variantReason: choice.reason,
    featureSource: choice.featureSource,
    cpuFeatures: choice.features,
    supportedVariants: choice.supported,
    variantsNotTaken: choice.notTaken,
    isa: info.isa,
    simd: info.simd,
    int8Kernel: info.int8Kernel,
    bf16Kernel: info.bf16Kernel,
    openmp: info.openmp,
    openmpRuntime: info.openmpLibrary || undefined,
    threads: getNumThreads(),
    maxThreads: info.maxThreads,
    eigen: info.eigen,
    compiler: info.compiler,
    napiVersion: process.versions.napi,
    node: process.versions.node,
  };
}
