#!/usr/bin/env node
// Finds the Eigen 3 headers for a source build, so a user needs to name nothing when Eigen is
// installed where package managers put it. binding.gyp runs it (`<!(node scripts/find-eigen.js)`)
// and prints what it finds; CMake (native/CMakeLists.txt) asks it too. The order:
//   1. EIGEN3_INCLUDE_DIR (when set it must hold Eigen: the user asked for that copy);
//   2. `pkg-config --cflags-only-I eigen3`;
//   3. /usr/include/eigen3, /usr/local/include/eigen3, /opt/homebrew/include/eigen3,
//      $CONDA_PREFIX/include/eigen3 (and $CONDA_PREFIX/Library/include/eigen3 on Windows).
// Where none holds Eigen/Core, it exits 1 with one line naming the package to install here.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

/** Whether `dir` holds the Eigen headers. */
function holdsEigen(dir, exists = existsSync) {
  return exists(path.join(dir, 'Eigen', 'Core'));
}

/** Include directories pkg-config reports for eigen3, or [] (no pkg-config, no eigen3.pc). */
function pkgConfigDirs() {
  try {
    const flags = execFileSync('pkg-config', ['--cflags-only-I', 'eigen3'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return flags.split(/\s+/).filter((f) => f.startsWith('-I')).map((f) => f.slice(2));
  } catch {
    return [];
  }
}

/** The places searched, in order, each with where it came from. */
function candidates(env = process.env, pkgConfig = pkgConfigDirs) {
  const out = [];
  if (env.EIGEN3_INCLUDE_DIR) return [{ dir: env.EIGEN3_INCLUDE_DIR, from: 'EIGEN3_INCLUDE_DIR' }];
  for (const dir of pkgConfig()) out.push({ dir, from: 'pkg-config eigen3' });
  for (const dir of ['/usr/include/eigen3', '/usr/local/include/eigen3', '/opt/homebrew/include/eigen3']) out.push({ dir, from: dir });
  if (env.CONDA_PREFIX) {
    out.push({ dir: path.join(env.CONDA_PREFIX, 'include', 'eigen3'), from: 'CONDA_PREFIX' });
    out.push({ dir: path.join(env.CONDA_PREFIX, 'Library', 'include', 'eigen3'), from: 'CONDA_PREFIX (Windows)' });
  }
  return out;
}

/** The Linux distribution family, from /etc/os-release (ID and ID_LIKE). */
function linuxFamily(osRelease) {
  const ids = /^(ID|ID_LIKE)=(.*)$/gm;
  const names = [];
  for (let m = ids.exec(osRelease); m; m = ids.exec(osRelease)) names.push(...m[2].replace(/"/g, '').split(/\s+/));
  if (names.includes('alpine')) return 'alpine';
  if (names.some((n) => ['debian', 'ubuntu'].includes(n))) return 'debian';
  if (names.some((n) => ['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'amzn'].includes(n))) return 'fedora';
  return 'linux';
}

/** What to install on this platform, in one line. */
function installHint(platform = process.platform, osRelease = readOsRelease()) {
  if (platform === 'darwin') return 'brew install eigen';
  if (platform === 'win32') return 'vcpkg install eigen3 (then set EIGEN3_INCLUDE_DIR to its include\\eigen3), or conda install -c conda-forge eigen';
  switch (linuxFamily(osRelease)) {
    case 'debian': return 'apt-get install libeigen3-dev';
    case 'fedora': return 'dnf install eigen3-devel';
    case 'alpine': return 'apk add eigen-dev';
    default: return "your package manager's Eigen 3 development package (libeigen3-dev, eigen3-devel, eigen-dev), or conda install -c conda-forge eigen";
  }
}

function readOsRelease() {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return '';
  }
}

/** The first candidate that holds Eigen; else throws an Error whose message says what to do. */
function findEigen({ env = process.env, pkgConfig = pkgConfigDirs, exists = existsSync, platform = process.platform, osRelease } = {}) {
  const list = candidates(env, pkgConfig);
  const found = list.find((c) => holdsEigen(c.dir, exists));
  if (found) return found;
  const hint = installHint(platform, osRelease ?? readOsRelease());
  if (env.EIGEN3_INCLUDE_DIR)
    throw new Error(`rnn-node: EIGEN3_INCLUDE_DIR=${env.EIGEN3_INCLUDE_DIR} holds no Eigen/Core; point it at Eigen 3.4's include directory, or unset it and ${hint}`);
  throw new Error(`rnn-node: a source build needs the Eigen 3.4 headers and found none (looked in ${list.map((c) => c.dir).join(', ')}): ${hint}, or set EIGEN3_INCLUDE_DIR`);
}

module.exports = { findEigen, candidates, installHint, linuxFamily };

if (require.main === module) {
  try {
    process.stdout.write(findEigen().dir + '\n');
  } catch (error) {
    process.stderr.write(error.message + '\n');
    process.exit(1);
  }
}
