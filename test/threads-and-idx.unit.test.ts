/**
 * Unit tests (no addon): the default thread count and setNumThreads' argument checks, and the
 * IDX reader. What the loaded addon reports (setNumThreads taking effect, backendInfo's SIMD
 * names) is in native-errors.integration.test.ts; the last test here checks that nothing
 * in this file loaded the addon.
 */
import { availableParallelism } from 'node:os';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx, setNumThreads } from '../src/index';
import * as addon from '../src/native/addon';
import { defaultThreadCount } from '../src/native/threads';

describe('thread count', () => {
  it('RNN_NODE_THREADS, then OMP_NUM_THREADS, then the CPUs available', () => {
    expect(defaultThreadCount({ RNN_NODE_THREADS: '3', OMP_NUM_THREADS: '5' })).toBe(3);
    expect(defaultThreadCount({ OMP_NUM_THREADS: '5' })).toBe(5);
    expect(defaultThreadCount({ OMP_NUM_THREADS: '4,2' })).toBe(4);
    const cpus = defaultThreadCount({ RNN_NODE_THREADS: 'lots' });
    expect(cpus).toBeGreaterThanOrEqual(1);
    expect(cpus).toBeLessThanOrEqual(availableParallelism());
  });
  it('setNumThreads validates its argument before it reaches the addon', () => {
    expect(() => setNumThreads(0)).toThrow(RangeError);
    expect(() => setNumThreads(1025)).toThrow(RangeError);
    expect(() => setNumThreads('2' as never)).toThrow(TypeError);
  });
});

describe('IDX reader', () => {
  const idx = (shape: number[], data: number[]) => {
    const header = Buffer.alloc(4 + 4 * shape.length);
    header[2] = 0x08;
    header[3] = shape.length;
    shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
    return new Uint8Array(Buffer.concat([header, Buffer.from(data)]));
  };
  it('parses plain and gzip-compressed files', () => {
    const bytes = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    for (const b of [bytes, new Uint8Array(gzipSync(bytes))]) {
      const a = parseIdx(b);
      expect(a.shape).toEqual([2, 2, 3]);
      expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    }
  });
  it('rejects bad magic, unsupported types, truncated headers and size mismatches', () => {
    expect(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'f')).toThrow(/f: not an IDX file/);
    const float = idx([1], [0, 0, 0, 0]);
    float[2] = 0x0d;
    expect(() => parseIdx(float)).toThrow(/element type 0xd/);
    expect(() => parseIdx(idx([2, 2], [1, 2, 3, 4]).subarray(0, 9))).toThrow(/truncated header/);
    expect(() => parseIdx(idx([2, 2], [1, 2, 3]))).toThrow(/promises 4 bytes.*holds 3/);
    expect(() => parseIdx(idx([0xffffffff, 0xffffffff], [1]))).toThrow(/promises/);
  });
});

describe('a unit test loads no addon', () => {
  it('importing the package (src/index) and running the tests above left the native addon unloaded', () => {
    expect(addon.loadedBinary).toBeUndefined();
  });
});
