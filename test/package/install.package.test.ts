/**
 * The npm package as users get it on linux-x64, installed by test/package/global-setup.ts
 * (`npm pack`, `npm install --offline` with no compiler on PATH and no Eigen). Then: the
 * binaries find the libgomp that ships beside them, need nothing newer than the stated glibc
 * floor, and every ISA variant this CPU supports predicts the same as the others for one
 * saved model. test/package/arm64.package.test.ts covers the linux-arm64 binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';

import { type IsaVariant, variantsFor } from '../../src/native/variants';
import { bareEnv, GLIBC_FLOOR, glibcVersionsNeeded, moduleDir, newerThan } from './installed';

const installedPackage = inject('installedPackage');
const { work, project } = installedPackage;
const installed = moduleDir(installedPackage);
const installedPrebuilds = join(installed, 'prebuilds', 'linux-x64');
const X64 = variantsFor('x64');

/**
 * The variants this CPU and OS can run, by a referee independent of our probe: GCC's own
 * CPU detection (__builtin_cpu_supports of the x86-64 levels, which checks CPUID and
 * XGETBV), compiled and run here.
 */
function variantsByGcc(): IsaVariant[] {
  const source = join(work, 'levels.c');
  const exe = join(work, 'levels');
  writeFileSync(source, '#include <stdio.h>\nint main(void) { __builtin_cpu_init(); printf("%d %d %d\\n", !!__builtin_cpu_supports("x86-64-v2"), !!__builtin_cpu_supports("x86-64-v3"), !!__builtin_cpu_supports("x86-64-v4")); return 0; }\n');
  execFileSync('gcc', ['-O0', '-o', exe, source]);
  const [v2, v3, v4] = execFileSync(exe, { encoding: 'utf8' }).trim().split(' ').map(Number);
  return [...(v4 ? ['avx512' as const] : []), ...(v3 ? ['avx2' as const] : []), ...(v2 ? ['baseline' as const] : [])];
}

function runChild(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [join(project, 'variant-child.cjs'), ...args], {
    cwd: project,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 120_000,
  });
  return result;
}

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('npm package on linux-x64 (prebuilt binaries, offline install)', () => {
  const installLog = installedPackage.installLog;

  beforeAll(() => {
    copyFileSync(join(__dirname, 'variant-child.cjs'), join(project, 'variant-child.cjs'));
  });

  it('installed from the tarball offline, with no compiler on PATH, without building anything', () => {
    const found = spawnSync('sh', ['-c', 'command -v g++ gcc cc c++ clang make python3'], { env: bareEnv(installedPackage), encoding: 'utf8' });
    expect(found.stdout.trim()).toBe('');
    expect(installLog).toMatch(/using the prebuilt (avx512|avx2|baseline) binary for linux-x64/);
    expect(existsSync(join(installed, 'build'))).toBe(false);
    expect(readdirSync(installedPrebuilds).sort()).toEqual(['libgomp.so.1', 'rnn_cpuid.node', 'rnn_node.avx2.node', 'rnn_node.avx512.node', 'rnn_node.baseline.node']);
  });

  it('every binary resolves libgomp from the package folder and links libstdc++ statically', () => {
    for (const v of X64) {
      const file = join(installedPrebuilds, `rnn_node.${v.name}.node`);
      const ldd = execFileSync('ldd', [file], { encoding: 'utf8' });
      expect(ldd).not.toMatch(/not found/);
      const gomp = /libgomp\.so\.1 => (\S+)/.exec(ldd);
      expect(gomp?.[1], `${v.name}: ${ldd}`).toBe(join(installedPrebuilds, 'libgomp.so.1'));
      const dynamic = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
      expect(dynamic).toMatch(/RUNPATH.*\[\$ORIGIN\]/);
      expect(dynamic).not.toMatch(/libstdc\+\+/);
    }
  });

  it(`no shipped binary needs a glibc symbol newer than ${GLIBC_FLOOR.join('.')}`, () => {
    for (const name of readdirSync(installedPrebuilds)) {
      const versions = glibcVersionsNeeded(execFileSync('readelf', ['-V', '-W', join(installedPrebuilds, name)], { encoding: 'utf8' }));
      // The CPUID probe calls nothing in libc at all; everything else does.
      if (name !== 'rnn_cpuid.node') expect(versions.length, name).toBeGreaterThan(0);
      expect(versions.filter((v) => newerThan(v, GLIBC_FLOOR)), name).toEqual([]);
    }
  });

  it('the CPUID probe is plain x86-64 code: no SSE3 or later, no libraries beyond libc', () => {
    const probe = join(installedPrebuilds, 'rnn_cpuid.node');
    const needed = execFileSync('readelf', ['-d', probe], { encoding: 'utf8' }).match(/NEEDED.*\[(.*)\]/g) ?? [];
    expect(needed.map((l) => /\[(.*)\]/.exec(l)![1]).filter((lib) => lib !== 'libc.so.6')).toEqual([]);
    // Instructions beyond SSE2 have mnemonics a plain x86-64 build never emits.
    const code = execFileSync('objdump', ['-d', '--no-show-raw-insn', probe], { encoding: 'utf8' });
    expect(code).not.toMatch(/\b(v[a-z]+ps|v[a-z]+pd|vpxor|vmov\w*|lzcnt|tzcnt|popcnt|pshufb|pminsd|ptest|movbe|andn|shlx|sarx)\b/);
  });

  it('picks by CPUID the best variant that CPUID and XGETBV allow, and every supported variant predicts and trains the same (1e-4)', () => {
    const model = join(work, 'model.rnn');
    const inputs = join(work, 'inputs.json');
    const first = runChild(['train', model, inputs]);
    expect(first.status, first.stderr).toBe(0);
    const best = JSON.parse(first.stdout);
    const supported = variantsByGcc();
    console.log(`backendInfo() of the installed package: ${JSON.stringify({ variant: best.backend.variant, decidedBy: best.backend.decidedBy, variantReason: best.backend.variantReason, supportedVariants: best.backend.supportedVariants, cpuFeatures: best.backend.cpuFeatures, variantsNotTaken: best.backend.variantsNotTaken })}; GCC's __builtin_cpu_supports says ${supported.join(', ')}`);
    expect(best.backend.decidedBy).toBe('cpuid');
    expect(best.backend.featureSource).toBe('cpuid');
    expect(best.backend.supportedVariants).toEqual(supported);
    expect(best.backend.variant).toBe(supported[0]);
    expect(best.backend.openmpRuntime).toBe(join(installedPrebuilds, 'libgomp.so.1'));
    expect(best.probabilities).toHaveLength(600);

    for (const variant of supported) {
      const run = runChild(['predict', model, inputs], { RNN_NODE_ISA: variant });
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout);
      expect(out.backend.variant).toBe(variant);
      expect(out.backend.isa).toBe(variant);
      const maxDiff = (a: number[], b: number[]) => a.reduce((m, p, i) => Math.max(m, Math.abs(p - b[i])), 0);
      const predicted = maxDiff(out.probabilities, best.probabilities);
      const trained = maxDiff(out.trained, best.trained);
      console.log(`variant ${variant} (${out.backend.simd}): max |Δp| vs ${supported[0]} = ${predicted.toExponential(2)}, after one more epoch of training ${trained.toExponential(2)}`);
      expect(predicted).toBeLessThan(1e-4);
      expect(trained).toBeLessThan(1e-4);
    }
  });

  it('without the probe it falls back to the kernel\'s cpuinfo flags, and says so', () => {
    const probe = join(installedPrebuilds, 'rnn_cpuid.node');
    const aside = `${probe}.aside`;
    renameSync(probe, aside);
    try {
      const run = runChild(['predict', join(work, 'model.rnn'), join(work, 'inputs.json')]);
      expect(run.status, run.stderr).toBe(0);
      const { backend } = JSON.parse(run.stdout);
      expect(backend.decidedBy).toBe('cpuinfo');
      expect(backend.variantReason).toMatch(/by \/proc\/cpuinfo flags; no CPUID probe/);
    } finally {
      renameSync(aside, probe);
    }
  });

  it('RNN_NODE_BUILD_FROM_SOURCE=1 makes the install build from source (which fails here: no compiler)', () => {
    const other = join(work, 'source-build');
    mkdirSync(other);
    writeFileSync(join(other, 'package.json'), JSON.stringify({ name: 'rnn-node-source-build-test', private: true }));
    const result = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', installedPackage.tarball], {
      cwd: other,
      env: { ...bareEnv(installedPackage), RNN_NODE_BUILD_FROM_SOURCE: '1' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/rnn-node: building from source, as asked[\s\S]*gyp ERR!/);
  });

  it('writes an HTML report from the installed package (its ES-module chart dependency resolves there)', () => {
    const script = [
      "const { SequenceClassifier } = require('rnn-node');",
      "const m = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'lstm', units: 4 }], classes: 2 });",
      'const x = Array.from({ length: 40 }, (_, i) => [[i % 2, 1], [0, i % 3]]);',
      "m.fit({ x, y: x.map((_, i) => i % 2) }, { epochs: 2, report: 'installed-report.html' }).then(() => console.log('ok'), (e) => { console.error(e.message); process.exit(1); });",
    ].join('\n');
    const run = spawnSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const html = readFileSync(join(project, 'installed-report.html'), 'utf8');
    expect(html.match(/<section data-panel=/g)).toHaveLength(8);
    expect(html).toMatch(/<svg class="chart" data-chart="loss"/);
  });

  it('says clearly what is wrong with RNN_NODE_ISA', () => {
    const model = join(work, 'model.rnn');
    const inputs = join(work, 'inputs.json');
    const bogus = runChild(['predict', model, inputs], { RNN_NODE_ISA: 'sse9' });
    expect(bogus.status).toBe(1);
    expect(bogus.stderr).toMatch(/Expected one of baseline, avx2, avx512, armv8, source for RNN_NODE_ISA but received "sse9"/);
    const arm = runChild(['predict', model, inputs], { RNN_NODE_ISA: 'armv8' });
    expect(arm.status).toBe(1);
    expect(arm.stderr).toMatch(/RNN_NODE_ISA=armv8 is a variant for arm64, but this machine is linux-x64 \(its variants are avx512, avx2, baseline\)/);
    const source = runChild(['predict', model, inputs], { RNN_NODE_ISA: 'source' });
    expect(source.status).toBe(1);
    expect(source.stderr).toMatch(/RNN_NODE_ISA=source but no source build exists/);
  });
});
