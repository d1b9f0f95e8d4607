/**
 * Source builds find Eigen by themselves (scripts/find-eigen.js): EIGEN3_INCLUDE_DIR, then
 * pkg-config, then the usual prefixes and conda; where none holds it, one message that names
 * the package to install on this platform.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const { findEigen, installHint } = require('../scripts/find-eigen.js') as {
  findEigen(o: { env?: NodeJS.ProcessEnv; pkgConfig?: () => string[]; exists?: (p: string) => boolean; platform?: string; osRelease?: string }): { dir: string; from: string };
  installHint(platform: string, osRelease: string): string;
};

/** A file system where only these directories hold Eigen/Core. */
const withEigenIn = (...dirs: string[]) => (p: string) => dirs.some((d) => p === join(d, 'Eigen', 'Core'));

describe('finding Eigen for a source build', () => {
  it('searches EIGEN3_INCLUDE_DIR, pkg-config, the usual prefixes, then conda, in that order', () => {
    const everywhere = withEigenIn('/custom', '/pc/eigen3', '/usr/include/eigen3', '/usr/local/include/eigen3', '/opt/homebrew/include/eigen3', '/conda/include/eigen3');
    const pkg = () => ['/pc/eigen3'];
    expect(findEigen({ env: { EIGEN3_INCLUDE_DIR: '/custom', CONDA_PREFIX: '/conda' }, pkgConfig: pkg, exists: everywhere })).toEqual({ dir: '/custom', from: 'EIGEN3_INCLUDE_DIR' });
    expect(findEigen({ env: { CONDA_PREFIX: '/conda' }, pkgConfig: pkg, exists: everywhere }).from).toBe('pkg-config eigen3');
    expect(findEigen({ env: {}, pkgConfig: () => [], exists: withEigenIn('/usr/local/include/eigen3', '/opt/homebrew/include/eigen3') }).dir).toBe('/usr/local/include/eigen3');
    expect(findEigen({ env: {}, pkgConfig: () => [], exists: withEigenIn('/opt/homebrew/include/eigen3') }).dir).toBe('/opt/homebrew/include/eigen3');
    expect(findEigen({ env: { CONDA_PREFIX: '/conda' }, pkgConfig: () => [], exists: withEigenIn('/conda/include/eigen3') }).from).toBe('CONDA_PREFIX');
    expect(findEigen({ env: { CONDA_PREFIX: 'C:/conda' }, pkgConfig: () => [], exists: withEigenIn(join('C:/conda', 'Library', 'include', 'eigen3')) }).from).toBe('CONDA_PREFIX (Windows)');
  });

  it('an EIGEN3_INCLUDE_DIR without Eigen is refused by name, not skipped', () => {
    expect(() => findEigen({ env: { EIGEN3_INCLUDE_DIR: '/empty' }, pkgConfig: () => ['/pc'], exists: withEigenIn('/pc'), platform: 'linux', osRelease: 'ID=debian' })).toThrow(
      /EIGEN3_INCLUDE_DIR=\/empty holds no Eigen\/Core; .*apt-get install libeigen3-dev/,
    );
  });

  it('where none is found, one line names what to install on this platform', () => {
    const none = { env: {}, pkgConfig: () => [], exists: () => false };
    expect(() => findEigen({ ...none, platform: 'linux', osRelease: 'ID=ubuntu\nID_LIKE=debian' })).toThrow(/found none \(looked in \/usr\/include\/eigen3, .*\): apt-get install libeigen3-dev, or set EIGEN3_INCLUDE_DIR/);
    expect(installHint('linux', 'ID="rocky"\nID_LIKE="rhel centos fedora"')).toBe('dnf install eigen3-devel');
    expect(installHint('linux', 'ID=amzn')).toBe('dnf install eigen3-devel');
    expect(installHint('linux', 'ID=alpine')).toBe('apk add eigen-dev');
    expect(installHint('darwin', '')).toBe('brew install eigen');
    expect(installHint('win32', '')).toMatch(/^vcpkg install eigen3/);
    expect(installHint('linux', 'ID=gentoo')).toMatch(/Eigen 3 development package/);
  });

  it('on this machine it finds the headers the build uses', () => {
    expect(findEigen({}).dir).toMatch(/eigen3$/);
  });
});
