/** The installation test/package/global-setup.ts makes, as the package tests see it. */
import { join } from 'node:path';

export interface InstalledPackage {
  /** Temporary folder holding everything below. */
  work: string;
  /** The empty project the tarball was installed into. */
  project: string;
  /** PATH of the install: node, npm and sh, nothing else. */
  bin: string;
  tarball: string;
  /** npm install's output. */
  installLog: string;
}

/** The installed package's folder. */
export const moduleDir = (p: InstalledPackage) => join(p.project, 'node_modules', 'rnn-node');

/** Environment of an install: node, npm and a shell on PATH, no compiler, no Eigen. */
export function bareEnv(p: InstalledPackage): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: p.bin, HOME: process.env.HOME, EIGEN3_INCLUDE_DIR: join(p.work, 'no-eigen-here') };
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  return env;
}

/** Newest glibc symbol versions an ELF file needs (readelf reads any architecture's files). */
export function glibcVersionsNeeded(readelfOutput: string): string[] {
  return [...new Set(readelfOutput.match(/GLIBC_\d+(\.\d+)*/g) ?? [])];
}

/** Whether a GLIBC_x.y version is newer than `floor`. */
export function newerThan(version: string, floor: readonly number[]): boolean {
  const parts = version.replace('GLIBC_', '').split('.').map(Number);
  for (let i = 0; i < Math.max(parts.length, floor.length); i++) {
    const a = parts[i] ?? 0;
    const b = floor[i] ?? 0;
    if (a !== b) return a > b;
  }
  return false;
}

/** The newest glibc symbol version any shipped binary may need (README: supported platforms). */
export const GLIBC_FLOOR = [2, 34] as const;
