/** What the loaded native backend is and how it runs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { getNumThreads } from './classifier';
import { loadedBinary, native } from './native';
import { supportedVariants } from './variants';

export interface BackendInfo {
  /** Version of this package. */
  version: string;
  /** Path of the loaded binary. */
  binary: string;
  /** Which binary: a prebuilt ISA variant, or 'source' for one built from source on install. */
  variant: 'baseline' | 'avx2' | 'avx512' | 'source';
  /** Why that binary was chosen (best supported variant, forced by RNN_NODE_ISA, source build). */
  variantReason: string;
  /** Prebuilt variants this CPU can run, best first. */
  supportedVariants: string[];
  /** -march the binary was compiled for ('native' for a source build). */
  isa: string;
  /** SIMD instruction sets Eigen uses. */
  simd: string;
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

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
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
    variantReason: choice.reason,
    supportedVariants: supportedVariants(),
    isa: info.isa,
    simd: info.simd,
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
