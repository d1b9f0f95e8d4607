/**
 * One description of the native build: the two builds (node-gyp's binding.gyp for the addon,
 * CMake for the C++ tests and sanitizers) compile the same core sources, and the ISA levels
 * of the prebuilt variants (src/variants.ts VARIANTS) are the ones binding.gyp and the
 * native test script compile for.
 */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { VARIANTS } from '../src/native/variants';

const root = join(__dirname, '..');
// binding.gyp is JSON with '#' comments and single-quoted strings inside conditions.
const gyp = JSON.parse(
  readFileSync(join(root, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n'),
) as { targets: { target_name: string; sources?: string[]; conditions?: [string, Record<string, unknown>][] }[] };
const addon = gyp.targets.find((t) => t.target_name === 'rnn_node')!;

describe('the native build description', () => {
  it('binding.gyp compiles every core and binding source, and nothing else', () => {
    // A `<!@(command)` entry is gyp's command expansion (the core's .cc files, listed at
    // configure time): run it where gyp does, beside binding.gyp, and take its words.
    const listed = new Set(
      addon.sources!.flatMap((s) => {
        const command = /^<!@\((.*)\)$/.exec(s);
        return command ? execSync(command[1], { cwd: root, encoding: 'utf8' }).trim().split(/\s+/) : [s];
      }),
    );
    const onDisk = [
      ...readdirSync(join(root, 'native', 'core')).filter((f) => f.endsWith('.cc')).map((f) => `native/core/${f}`),
      ...readdirSync(join(root, 'native', 'binding')).filter((f) => f.endsWith('.cc') && f !== 'glibc_compat.cc').map((f) => `native/binding/${f}`),
    ].sort();
    expect([...listed].sort()).toEqual(onDisk);
    // CMake globs native/core/*.cc: the same core list by construction.
    expect(readFileSync(join(root, 'native', 'CMakeLists.txt'), 'utf8')).toMatch(/file\(GLOB CORE_SOURCES \$\{CMAKE_CURRENT_SOURCE_DIR\}\/core\/\*\.cc\)/);
  });

  it('binding.gyp builds each prebuilt variant for the -march level VARIANTS names', () => {
    for (const v of VARIANTS) {
      const condition = addon.conditions!.find(([test]) => test === `rnn_isa=='${v.name}'`);
      expect(condition, `binding.gyp has no rnn_isa=='${v.name}' condition`).toBeDefined();
      expect((condition![1] as { cflags_cc: string[] }).cflags_cc).toContain(`-march=${v.march}`);
    }
    const isaConditions = addon.conditions!.filter(([test]) => /^rnn_isa=='[a-z0-9]+'$/.test(test)).map(([test]) => /'(.*)'/.exec(test)![1]);
    expect(isaConditions.filter((n) => n !== 'native').sort()).toEqual(VARIANTS.map((v) => v.name).sort());
  });

  it('the native test scripts compile the kernels of the non-native variants at their levels', () => {
    const x64 = readFileSync(join(root, 'scripts', 'native-tests.sh'), 'utf8');
    for (const v of VARIANTS.filter((x) => x.arch === 'x64' && x.name !== 'avx512')) expect(x64).toContain(`-march=${v.march}`);
    // The arm64 core, cross-compiled and run under qemu at the armv8 variant's level.
    const arm64 = readFileSync(join(root, 'scripts', 'arm64-tests.sh'), 'utf8');
    for (const v of VARIANTS.filter((x) => x.arch === 'arm64')) expect(arm64).toContain(`-march=${v.march}`);
  });
});
