/** What the loaded native backend is and how it runs. */
import { getNumThreads } from './classifier';
import { addonPath, native } from './native';

export interface BackendInfo {
  /** Path of the loaded binary. */
  binary: string;
  /** ISA variant the binary was built for ('native' for a source build). */
  isa: string;
  /** SIMD instruction sets Eigen uses. */
  simd: string;
  openmp: boolean;
  /** Default threads for native work. */
  threads: number;
  eigen: string;
  napiVersion: string | undefined;
  node: string;
}

export function backendInfo(): BackendInfo {
  const info = native().buildInfo();
  return {
    binary: addonPath,
    isa: info.isa,
    simd: info.simd,
    openmp: info.openmp,
    threads: getNumThreads(),
    eigen: info.eigen,
    napiVersion: process.versions.napi,
    node: process.versions.node,
  };
}
