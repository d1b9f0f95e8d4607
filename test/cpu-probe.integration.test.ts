/**
 * The CPUID probe addon on this machine: it runs, its features cover what the kernel lists,
 * it refuses bad arguments, and the binary choice reports CPUID as its source.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { cpuinfoFlags, detectCpu, probePaths, readCpuid } from '../src/native/cpu-features';
import { chooseBinary, supportedVariants, variantsFor } from '../src/native/variants';

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('this machine', () => {
  const root = join(__dirname, '..');

  it('the probe runs CPUID and XGETBV, and its features cover what the kernel lists', () => {
    const detection = detectCpu(root);
    expect(detection.source).toBe('cpuid');
    const kernel = cpuinfoFlags(readFileSync('/proc/cpuinfo', 'utf8'))!;
    const relevant = new Set(variantsFor('x64').flatMap((v) => v.flags));
    // Anything the kernel says is usable, CPUID+XGETBV say too (the reverse may not hold: VMs hide flags).
    const kernelOnly = [...kernel].filter((f) => relevant.has(f) && !detection.features!.has(f));
    expect(kernelOnly).toEqual([]);
    expect(supportedVariants(detection.features).length).toBeGreaterThanOrEqual(supportedVariants(kernel).length);
  });

  it('the probe refuses bad arguments with a TypeError instead of running CPUID on garbage', () => {
    const probe = require(probePaths(root).find((p) => existsSync(p))!);
    expect(() => probe.cpuid(-1, 0)).toThrow(TypeError);
    expect(() => probe.cpuid(1.5, 0)).toThrow(TypeError);
    expect(() => probe.cpuid('1', 0)).toThrow(TypeError);
    expect(() => probe.cpuid(1)).toThrow(/subleaf/);
    expect(readCpuid(probe).leaves['0x0'][0]).toBeGreaterThanOrEqual(1);
  });

  it('chooseBinary reports CPUID as its source', () => {
    const choice = chooseBinary(root, {});
    expect(choice.featureSource).toBe('cpuid');
    expect(choice.features).toContain('sse4_2');
  });
});
