/**
 * Once per `npm run test:package`: `npm pack`, then `npm install --offline` of the tarball
 * into an empty project, with no compiler, make or python on PATH and no Eigen headers, so
 * any attempt at a source build fails the install. The test files share that installation
 * (test/package/installed.ts names its folders).
 *
 * Needs the prebuilt binaries: `npm run prebuild` first (`npm run test:package` does both).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

import { binaryName, platformTag, VARIANTS } from '../../src/native/variants';
import { bareEnv, type InstalledPackage } from './installed';

declare module 'vitest' {
  export interface ProvidedContext {
    installedPackage: InstalledPackage;
  }
}

const root = join(__dirname, '..', '..');

function dirSize(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const p = join(dir, e.name);
    return sum + (e.isDirectory() ? dirSize(p) : statSync(p).size);
  }, 0);
}

export default function setup(project: TestProject): () => void {
  for (const v of VARIANTS) {
    const file = join(root, 'prebuilds', platformTag(v.arch), binaryName(v.name));
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run prebuild\` first (or \`npm run test:package\`)`);
  }
  const work = mkdtempSync(join(tmpdir(), 'rnn-node-package-'));
  const installed: InstalledPackage = {
    work,
    project: join(work, 'project'),
    bin: join(work, 'bin'),
    tarball: '',
    installLog: '',
  };
  mkdirSync(installed.project);
  mkdirSync(installed.bin);
  symlinkSync(process.execPath, join(installed.bin, 'node'));
  symlinkSync(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()), join(installed.bin, 'npm'));
  symlinkSync('/bin/sh', join(installed.bin, 'sh'));
  writeFileSync(join(installed.project, 'package.json'), JSON.stringify({ name: 'rnn-node-install-test', private: true }));

  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  installed.tarball = join(work, packed[0].filename);

  // The offline install resolves the package's runtime dependencies (node-addon-api, needed
  // only for a source build; csv-parse, tinyglobby, hyparquet, d3-scale, bullmq, onnx-proto
  // and theirs) from the npm cache. Resolve the tarball's tree online first, as a user's npm
  // would (a transitive range such as protobufjs's @types/node ">=13.7.0" picks today's
  // newest, not the version in our lockfile), and put every package of that resolution in
  // the cache; the install itself then runs offline.
  const resolveDir = join(work, 'resolve');
  mkdirSync(resolveDir);
  writeFileSync(join(resolveDir, 'package.json'), JSON.stringify({ name: 'rnn-node-resolve', private: true }));
  const resolved = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', installed.tarball], { cwd: resolveDir, encoding: 'utf8', timeout: 300_000 });
  if (resolved.status !== 0) throw new Error(`npm could not resolve the package's dependencies:\n${resolved.stderr}`);
  const lock = JSON.parse(readFileSync(join(resolveDir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; resolved?: string }> };
  for (const [path, p] of Object.entries(lock.packages)) {
    if (!path.includes('node_modules/') || !p.version || p.resolved?.startsWith('file:')) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (name === 'rnn-node') continue;
    spawnSync('npm', ['cache', 'add', `${name}@${p.version}`], { stdio: 'ignore' });
  }

  const result = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', installed.tarball], {
    cwd: installed.project,
    env: bareEnv(installed),
    encoding: 'utf8',
    timeout: 300_000,
  });
  installed.installLog = `${result.stdout}\n${result.stderr}`;
  if (result.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`npm install failed (exit ${result.status}):\n${installed.installLog}`);
  }
  const module = join(installed.project, 'node_modules', 'rnn-node');
  const prebuilds = readdirSync(join(module, 'prebuilds'))
    .map((tag) => `${tag} ${(dirSize(join(module, 'prebuilds', tag)) / 1e6).toFixed(2)} MB`)
    .join(', ');
  console.log(`package: tarball ${(statSync(installed.tarball).size / 1e6).toFixed(2)} MB, installed rnn-node ${(dirSize(module) / 1e6).toFixed(2)} MB (prebuilds: ${prebuilds})`);
  project.provide('installedPackage', installed);
  return () => rmSync(work, { recursive: true, force: true });
}
