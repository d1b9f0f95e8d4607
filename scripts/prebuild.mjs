#!/usr/bin/env node
// `npm run prebuild [VARIANT...]`: builds the binaries that ship in the npm package into
// prebuilds/<platform>-<arch>/: one per x86-64 variant (x86-64-v2, -v3, -v4) with the CPUID
// probe the loader runs to choose between them (native/probe, plain x86-64), and the arm64
// one (armv8-a), cross-compiled with Debian's aarch64-linux-gnu toolchain. Each folder gets
// the OpenMP runtime its binaries link, copied beside them (found through their rpath
// $ORIGIN). Any build/ already there (the developer's source build) is set aside and put
// back afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { VARIANTS, binaryName, platformTag } = require(join(root, 'dist', 'native', 'variants.js'));

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`rnn-node prebuild: runs on linux-x64 (it cross-compiles arm64); this is ${platformTag()}`);
  process.exit(2);
}
const only = process.argv.slice(2);
const unknown = only.filter((name) => !VARIANTS.some((v) => v.name === name));
if (unknown.length > 0) {
  console.error(`rnn-node prebuild: expected variant names among ${VARIANTS.map((v) => v.name).join(', ')} but received ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  process.exit(2);
}
const variants = VARIANTS.filter((v) => only.length === 0 || only.includes(v.name));
const buildDir = join(root, 'build');
const saved = join(root, 'build.prebuild-saved');

// npm runs scripts with its bundled node-gyp on PATH and names it in npm_config_node_gyp.
const nodeGyp = process.env.npm_config_node_gyp ? [process.execPath, process.env.npm_config_node_gyp] : ['node-gyp'];

/** How to build for each architecture from this linux-x64 machine. */
const TOOLCHAINS = {
  x64: {
    env: {},
    gypArgs: [],
    strip: 'strip',
    libgomp(binary) {
      const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
      const line = ldd.split('\n').find((l) => l.includes('libgomp.so.1'));
      const match = line && /=>\s*(\S+)/.exec(line);
      if (!match || !existsSync(match[1])) throw new Error(`cannot find the libgomp ${binary} links:\n${ldd}`);
      return realpathSync(match[1]);
    },
  },
  // Debian's cross toolchain: g++-aarch64-linux-gnu and libgomp1-arm64-cross (scripts/setup.sh).
  arm64: {
    env: { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar' },
    gypArgs: ['--arch=arm64'],
    strip: 'aarch64-linux-gnu-strip',
    libgomp() {
      const file = execFileSync('aarch64-linux-gnu-gcc', ['-print-file-name=libgomp.so.1'], { encoding: 'utf8' }).trim();
      if (!existsSync(file)) throw new Error(`the arm64 libgomp is missing (${file}): apt-get install libgomp1-arm64-cross`);
      return realpathSync(file);
    },
  },
};

for (const arch of new Set(variants.map((v) => v.arch))) {
  const compiler = TOOLCHAINS[arch].env.CXX;
  if (compiler && spawnSync(compiler, ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(`rnn-node prebuild: the ${arch} variants need the cross compiler ${compiler}: apt-get install g++-aarch64-linux-gnu libgomp1-arm64-cross (scripts/setup.sh installs them), or name the x64 variants alone`);
    process.exit(1);
  }
}

if (existsSync(buildDir)) {
  rmSync(saved, { recursive: true, force: true });
  renameSync(buildDir, saved);
}
try {
  for (const variant of variants) {
    const t0 = Date.now();
    const toolchain = TOOLCHAINS[variant.arch];
    const outDir = join(root, 'prebuilds', platformTag(variant.arch));
    mkdirSync(outDir, { recursive: true });
    console.log(`== ${variant.name} (${variant.arch}, ${variant.march})`);
    const result = spawnSync(nodeGyp[0], [...nodeGyp.slice(1), 'rebuild', '--jobs=max', '--loglevel=warn', ...toolchain.gypArgs, `--rnn_isa=${variant.name}`], {
      cwd: root,
      env: { ...process.env, ...toolchain.env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (result.status !== 0) throw new Error(`node-gyp failed for ${variant.name} (exit ${result.status})`);
    const built = join(buildDir, 'Release', 'rnn_node.node');
    execFileSync(toolchain.strip, ['--strip-unneeded', built]);
    const target = join(outDir, binaryName(variant.name));
    copyFileSync(built, target);
    copyFileSync(toolchain.libgomp(built), join(outDir, 'libgomp.so.1'));
    // The CPUID probe (x64 only) is the same plain x86-64 build in every pass: keep one copy.
    const probe = join(buildDir, 'Release', 'rnn_cpuid.node');
    if (variant.arch === 'x64') {
      execFileSync(toolchain.strip, ['--strip-unneeded', probe]);
      copyFileSync(probe, join(outDir, 'rnn_cpuid.node'));
    }
    console.log(`   ${target}: ${(statSync(target).size / 1e6).toFixed(2)} MB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
} finally {
  rmSync(buildDir, { recursive: true, force: true });
  if (existsSync(saved)) renameSync(saved, buildDir);
}
console.log(`prebuilt binaries in ${[...new Set(variants.map((v) => join(root, 'prebuilds', platformTag(v.arch))))].join(', ')}`);
