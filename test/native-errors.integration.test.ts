/**
 * The one wrapper around the addon (src/native.ts callNative): native error codes become the
 * library's classes, thrown or rejected, and an async rejection carries the caller's stack.
 */
import { describe, expect, it } from 'vitest';

import { BusyError, DisposedError, SequenceClassifier } from '../src/index';
import { callNative } from '../src/native/addon';

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

  it('guards the real addon: a disposed model throws DisposedError from every path', async () => {
    const model = new SequenceClassifier({ input: { type: 'dense', features: 2 }, layers: [{ cell: 'gru', units: 3 }], classes: 2 });
    model.dispose();
    expect(() => model.predictProbaSync([[[1, 2]]])).toThrow(DisposedError);
    await expect(model.predictProba([[[1, 2]]])).rejects.toThrow(DisposedError);
  });
});
