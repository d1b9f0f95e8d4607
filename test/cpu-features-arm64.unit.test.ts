/**
 * arm64 feature detection: the HWCAP words of the auxiliary vector (what getauxval returns),
 * decoded with bit positions checked against the kernel's own header, and the fallbacks when
 * /proc/self/auxv cannot be read. (The arm64 binary chosen by them under qemu:
 * test/package/arm64.package.test.ts.)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ARM64_HWCAP_BITS, AT_HWCAP, AT_HWCAP2, cpuinfoArmFeatures, detectCpu, featuresFromHwcap, parseAuxv } from '../src/native/cpu-features';
import { supportedVariants } from '../src/native/variants';

const dir = mkdtempSync(join(tmpdir(), 'rnn-node-arm64-features-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An auxiliary vector as the kernel lays it out on a 64-bit little-endian machine. */
function auxv(pairs: [number, bigint][], terminate = true): Buffer {
  const all = terminate ? [...pairs, [0, 0n] as [number, bigint]] : pairs;
  const buf = Buffer.alloc(all.length * 16);
  all.forEach(([key, value], i) => {
    buf.writeBigUInt64LE(BigInt(key), i * 16);
    buf.writeBigUInt64LE(value, i * 16 + 8);
  });
  return buf;
}

// Recorded on this project's x86 VM from an arm64 Node under qemu-aarch64-static 7.2 (its
// default "max" CPU): /proc/self/auxv gave AT_HWCAP 0xecfffffb, AT_HWCAP2 0x7f877fff.
const QEMU_MAX = { hwcap: 0xecfffffbn, hwcap2: 0x7f877fffn };
// AWS Graviton2 (Neoverse N1), the Features line of /proc/cpuinfo.
const GRAVITON2 = 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs';

describe('arm64 HWCAP', () => {
  const header = '/usr/aarch64-linux-gnu/include/asm/hwcap.h';
  it.runIf(existsSync(header))("bit positions are the kernel header's (linux-libc-dev-arm64-cross)", () => {
    const text = readFileSync(header, 'utf8');
    for (const f of ARM64_HWCAP_BITS) {
      const macro = `HWCAP${f.word === 2 ? '2' : ''}_${f.name.toUpperCase()}`;
      const match = new RegExp(`#define\\s+${macro}\\s+\\(1 << (\\d+)\\)`).exec(text);
      expect(match, macro).not.toBeNull();
      expect(Number(match![1]), macro).toBe(f.bit);
    }
  });

  it('parses a 64-bit auxiliary vector up to AT_NULL, and refuses a torn one', () => {
    const parsed = parseAuxv(auxv([[6, 4096n], [AT_HWCAP, QEMU_MAX.hwcap], [AT_HWCAP2, QEMU_MAX.hwcap2], [0, 0n], [AT_HWCAP, 0n]]));
    expect(parsed?.get(AT_HWCAP)).toBe(QEMU_MAX.hwcap);
    expect(parsed?.get(AT_HWCAP2)).toBe(QEMU_MAX.hwcap2);
    expect(parsed?.get(6)).toBe(4096n);
    expect(parseAuxv(auxv([[AT_HWCAP, 3n]]).subarray(0, 20))).toBeNull();
    expect(parseAuxv(new Uint8Array(0))).toBeNull();
  });

  it('decodes recorded HWCAP words into cpuinfo names', () => {
    expect([...featuresFromHwcap(QEMU_MAX.hwcap, QEMU_MAX.hwcap2)].sort()).toEqual(['asimd', 'asimddp', 'asimdhp', 'bf16', 'fp', 'i8mm', 'sve', 'sve2']);
    expect(supportedVariants(featuresFromHwcap(QEMU_MAX.hwcap, QEMU_MAX.hwcap2), 'arm64')).toEqual(['armv8']);
    // FP alone (no Advanced SIMD): not armv8 as GCC compiles it.
    expect(supportedVariants(featuresFromHwcap(0b1n), 'arm64')).toEqual([]);
  });

  it('reads the Features line of an arm64 cpuinfo, and nothing from an x86 one', () => {
    const features = cpuinfoArmFeatures(`processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: ${GRAVITON2}\nCPU implementer\t: 0x41\n`);
    expect(supportedVariants(features, 'arm64')).toEqual(['armv8']);
    expect(features).toContain('asimddp');
    expect(cpuinfoArmFeatures('processor\t: 0\nflags\t\t: fpu sse sse2\n')).toBeNull();
  });
});

describe('detectCpu on arm64', () => {
  const cpuinfoArm = join(dir, 'cpuinfo-arm');
  writeFileSync(cpuinfoArm, `processor\t: 0\nFeatures\t: ${GRAVITON2}\n`);
  // What qemu-user shows an arm64 process: the host's x86 text.
  const cpuinfoX86 = join(dir, 'cpuinfo-x86');
  writeFileSync(cpuinfoX86, 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse sse2 avx2\n');
  const goodAuxv = join(dir, 'auxv');
  writeFileSync(goodAuxv, auxv([[AT_HWCAP, QEMU_MAX.hwcap], [AT_HWCAP2, QEMU_MAX.hwcap2]]));
  const noHwcap = join(dir, 'auxv-no-hwcap');
  writeFileSync(noHwcap, auxv([[6, 4096n]]));

  it('prefers HWCAP, over what cpuinfo says', () => {
    const d = detectCpu(dir, { auxv: goodAuxv, cpuinfo: cpuinfoX86 }, 'arm64');
    expect(d).toMatchObject({ arch: 'arm64', source: 'hwcap', osDisabled: [] });
    expect(d.features).toContain('sve2');
  });

  it('falls back to the Features line, saying why', () => {
    const d = detectCpu(dir, { auxv: join(dir, 'missing'), cpuinfo: cpuinfoArm }, 'arm64');
    expect(d).toMatchObject({ arch: 'arm64', source: 'cpuinfo', fallbackReason: expect.stringMatching(/missing gave no HWCAP/) });
    expect(detectCpu(dir, { auxv: noHwcap, cpuinfo: cpuinfoArm }, 'arm64')).toMatchObject({ source: 'cpuinfo', fallbackReason: expect.stringMatching(/no AT_HWCAP entry/) });
  });

  it('is unknown when neither says anything (then armv8, the arm64 baseline, is still tried)', () => {
    const d = detectCpu(dir, { auxv: noHwcap, cpuinfo: cpuinfoX86 }, 'arm64');
    expect(d).toMatchObject({ arch: 'arm64', source: 'unknown', features: null, fallbackReason: expect.stringMatching(/has no Features line/) });
    expect(supportedVariants(d.features, 'arm64')).toEqual(['armv8']);
    expect(detectCpu(dir, {}, 'riscv64')).toMatchObject({ source: 'unknown', fallbackReason: 'no prebuilt binaries for riscv64' });
  });
});
