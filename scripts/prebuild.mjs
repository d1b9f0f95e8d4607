#!/usr/bin/env node
// `npm run prebuild`: builds the binaries that ship in the npm package, one per x86-64 variant
// (x86-64-v2, -v3, -v4), into prebuilds/<platform>-<arch>/, with the OpenMP runtime they link
// copied beside them (found through their rpath $ORIGIN), and the CPUID probe the loader runs
// to choose between them (native/probe, plain x86-64). Any build/ already there (the
// developer's source build) is set aside and put back afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { VARIANTS, binaryName, platformTag } = require(join(root, 'dist', 'variants.js'));

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`rnn-node prebuild: builds linux-x64 binaries only (this is ${platformTag()})`);
  process.exit(2);
}
const only = process.argv.slice(2);
const unknown = only.filter((name) => !VARIANTS.some((v) => v.name === name));
if (unknown.length > 0) {
  console.error(`rnn-node prebuild: expected variant names among ${VARIANTS.map((v) => v.name).join(', ')} but received ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  process.exit(2);
}
const variants = VARIANTS.filter((v) => only.length === 0 || only.includes(v.name));
const outDir = join(root, 'prebuilds', platformTag());
const buildDir = join(root, 'build');
const saved = join(root, 'build.prebuild-saved');

// npm runs scripts with its bundled node-gyp on PATH and names it in npm_config_node_gyp.
const nodeGyp = process.env.npm_config_node_gyp ? [process.execPath, process.env.npm_config_node_gyp] : ['node-gyp'];

function libgompPath(binary) {
  const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const line = ldd.split('\n').find((l) => l.includes('libgomp.so.1'));
  const match = line && /=>\s*(\S+)/.exec(line);
  if (!match || !existsSync(match[1])) throw new Error(`cannot find the libgomp ${binary} links:\n${ldd}`);
  return realpathSync(match[1]);
}

mkdirSync(outDir, { recursive: true });
if (existsSync(buildDir)) {
  rmSync(saved, { recursive: true, force: true });
  renameSync(buildDir, saved);
}
try {
  for (const variant of variants) {
    const t0 = Date.now();
    console.log(`== ${variant.name} (${variant.march})`);
    const result = spawnSync(nodeGyp[0], [...nodeGyp.slice(1), 'rebuild', '--jobs=max', '--loglevel=warn', `--rnn_isa=${variant.name}`], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (result.status !== 0) throw new Error(`node-gyp failed for ${variant.name} (exit ${result.status})`);
    const built = join(buildDir, 'Release', 'rnn_node.node');
    execFileSync('strip', ['--strip-unneeded', built]);
    const target = join(outDir, binaryName(variant.name));
    copyFileSync(built, target);
    copyFileSync(libgompPath(built), join(outDir, 'libgomp.so.1'));
    // The CPUID probe is the same plain x86-64 build in every pass: keep one copy.
    const probe = join(buildDir, 'Release', 'rnn_cpuid.node');
    execFileSync('strip', ['--strip-unneeded', probe]);
    copyFileSync(probe, join(outDir, 'rnn_cpuid.node'));
    console.log(`   ${target}: ${(statSync(target).size / 1e6).toFixed(2)} MB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
} finally {
  rmSync(buildDir, { recursive: true, force: true });
  if (existsSync(saved)) renameSync(saved, buildDir);
}
console.log(`prebuilt binaries in ${outDir}`);
