/**
 * The one wrapper around the addon (src/native/addon.ts callNative): native error codes become
 * the library's classes, thrown or rejected, and an async rejection carries the caller's stack.
 * Also: the real addon's own disposed-model check (reached through the raw addon handle, not
 * the SequenceClassifier facade, which refuses a disposed model before calling native code),
 * and what the loaded addon reports (thread count, SIMD instruction sets).
 */
import { afterAll, describe, expect, it } from 'vitest';

import { backendInfo, BusyError, DisposedError, getNumThreads, setNumThreads } from '../src/index';
import { resolveConfig, toNativeConfig } from '../src/model/config';
import { callNative, native, type NativeBatch } from '../src/native/addon';
import { defaultThreadCount } from '../src/native/threads';
import { outcome } from './helpers';

function nativeError(code: string, message: string): Error {
  return Object.assign(new RangeError(message), { code });
}

describe('callNative', () => {
  it('maps thrown codes to the library classes and passes argument errors through', () => {
    expect(() => callNative(() => { throw nativeError('ERR_RNN_BUSY', 'a training step is running'); })).toThrow(BusyError);
    expect(() => callNative(() => { throw nativeError('ERR_RNN_DISPOSED', 'gone'); })).toThrow(DisposedError);
    const range = nativeError('ERR_OUT_OF_RANGE', 'Expected labels[3] in [0, 2]');
    expect(() => callNative(() => { throw range; })).toThrow(range);
    expect(callNative(() => 42)).toBe(42);
  });

  it('maps rejections too, and re-stacks them onto the caller', async () => {
    async function callerFunctionName() {
      return callNative(() => new Promise((_, reject) => setTimeout(() => reject(nativeError('ERR_RNN_BUSY', 'later')), 1)));
    }
    const error = await callerFunctionName().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(BusyError);
    expect(error.stack).toMatch(/^BusyError: later\n/);
    expect(error.stack).toMatch(/callerFunctionName/);
  });

  it("guards the real addon: after dispose() every method of a native model throws the addon's own ERR_RNN_DISPOSED, as DisposedError", async () => {
    // The raw addon handle: SequenceClassifier would throw DisposedError itself, before any
    // native call, and never reach the check in native/binding/native_model.cc (live()).
    const config = toNativeConfig(resolveConfig({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 3 }], classes: 2 }));
    const model = new (native().NativeModel)(config);
    const batch: NativeBatch = { batch: 2, steps: 3, lengths: new Int32Array([3, 2]), dense: new Float32Array(12).fill(0.5) };
    const labels = new Int32Array([0, 1]);
    const params = model.paramCount();
    // Each guarded method, with valid arguments, and with arguments the addon refuses: a
    // disposed model must be refused before its arguments are read, so the bad-argument calls
    // (TypeError/RangeError on a live model, checked below) also give DisposedError.
    const valid: [string, () => unknown][] = [
      ['paramCount', () => model.paramCount()],
      ['tensors', () => model.tensors()],
      ['initialize', () => model.initialize(1)],
      ['getParams', () => model.getParams()],
      ['setParams', () => model.setParams(new Float32Array(params))],
      ['setOptimizer', () => model.setOptimizer({ type: 'sgd' })],
      ['getOptimizerState', () => model.getOptimizerState()],
      ['setOptimizerState', () => model.setOptimizerState(0, new Float32Array(2 * params))],
      ['trainStep', () => model.trainStep(batch, labels, null, 0.1, 1, 1)],
      ['gradients', () => model.gradients(batch, labels, null, 1)],
      ['predict', () => model.predict(batch, 1)],
      ['predictSync', () => model.predictSync(batch, 1)],
    ];
    const invalid: [string, () => unknown][] = [
      ['initialize(-1)', () => model.initialize(-1)],
      ['setParams(3 values)', () => model.setParams(new Float32Array(3))],
      ['setOptimizer(null)', () => model.setOptimizer(null as never)],
      ['setOptimizerState(short)', () => model.setOptimizerState(0, new Float32Array(1))],
      ['trainStep(null)', () => model.trainStep(null as never, labels, null, 0.1, 1, 1)],
      ['gradients(null)', () => model.gradients(null as never, labels, null, 1)],
      ['predict(null)', () => model.predict(null as never, 1)],
      ['predictSync(null)', () => model.predictSync(null as never, 1)],
    ];
    for (const [name, call] of valid) expect(await outcome(call), name).toBeNull();
    for (const [name, call] of invalid) expect((await outcome(call))?.constructor, name).toSatisfy((c) => c === TypeError || c === RangeError);

    model.dispose();
    expect(model.disposed).toBe(true);
    for (const [name, call] of [...valid, ...invalid]) {
      const error = await outcome(call);
      expect(error, name).toBeInstanceOf(DisposedError);
      expect(error!.code, name).toBe('ERR_RNN_DISPOSED');
      expect(error!.message, name).toBe('The model has been disposed');
    }
    model.dispose(); // idempotent
  });
});

describe('the loaded addon', () => {
  afterAll(() => setNumThreads(defaultThreadCount()));

  it('setNumThreads is reported by getNumThreads and backendInfo, which names the SIMD instruction sets of this architecture', () => {
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    expect(backendInfo().threads).toBe(1);
    const simd = backendInfo().simd;
    if (process.arch === 'x64') expect(simd).toMatch(/\b(SSE2|SSE4\.2|AVX|AVX2|FMA|AVX-512)\b/);
    else if (process.arch === 'arm64') expect(simd).toMatch(/\bNEON\b/);
    else expect(simd).not.toBe('');
  });
});

describe('the stream call checks every size it is given', () => {
  it('state pages, slots and prior steps: wrong types, lengths and ranges are typed errors; a page changed mid-call rejects', async () => {
    const model = new (native().NativeModel)(toNativeConfig(resolveConfig({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'lstm', units: 3 }], classes: 2 })));
    model.initialize(1);
    const width = model.streamInfo().width;
    expect(width).toBe(6); // h and c of 3 units
    const batch: NativeBatch = { batch: 2, steps: 1, lengths: Int32Array.of(1, 1), dense: Float32Array.of(1, -2, 0.5, 3) };
    const pages = [new Float32Array(4 * width)];
    const slots = Int32Array.of(0, 3);
    const prior = new Int32Array(2);
    const call = (p: unknown, s: unknown, q: unknown) => outcome(() => model.stream(batch, p as Float32Array[], s as Int32Array, q as Int32Array, false, 0));
    expect(await call(new Float32Array(4 * width), slots, prior)).toBeInstanceOf(TypeError);
    expect(await call([new Float32Array(5)], slots, prior)).toBeInstanceOf(RangeError);
    expect(await call([pages[0], new Float32Array(width)], slots, prior)).toBeInstanceOf(RangeError);
    expect((await call(pages, Int32Array.of(0, 4), prior))?.message).toMatch(/slots\[1\]/);
    expect(await call(pages, Int32Array.of(0), prior)).toBeInstanceOf(RangeError);
    expect((await call(pages, slots, Int32Array.of(0, -1)))?.message).toMatch(/prior steps/);
    // A good call writes each row's new state into its slot, and nowhere else.
    expect(await call(pages, slots, prior)).toBeNull();
    expect(pages[0].subarray(width, 3 * width).every((v) => v === 0)).toBe(true);
    expect(pages[0].subarray(0, width).some((v) => v !== 0)).toBe(true);
    expect(pages[0].subarray(3 * width, 4 * width).some((v) => v !== 0)).toBe(true);
    // A page added while the call runs (a new stream's slot) is fine.
    const growing = [new Float32Array(4 * width)];
    const grown = model.stream(batch, growing, slots, prior, false, 0);
    growing.push(new Float32Array(4 * width));
    await expect(grown).resolves.toBeInstanceOf(Float32Array);
    expect(growing[0].subarray(0, width).some((v) => v !== 0)).toBe(true);
    // The pages array losing a page while the call runs: the call rejects, nothing is written.
    const shrinking = [new Float32Array(4 * width)];
    const running = model.stream(batch, shrinking, slots, prior, false, 0);
    shrinking.length = 0;
    await expect(running).rejects.toThrow(/pages/);
    model.dispose();
  });
});
