/**
 * The model's facts have one owner each, and the TypeScript and native copies agree:
 * - the cell table (src/model/cells.ts) equals the addon's (native/core/cells.h, reported by
 *   buildInfo().cells and .gateOrder);
 * - tensorsOf(config) lists exactly the tensors (names, shapes, offsets) the native parameter
 *   layout holds, for every cell, both GRU forms, bidirectional merges, stacks and token input;
 *   so descriptions, importers and the model file, which never build a native model, agree
 *   with the models that run.
 */
import { describe, expect, it } from 'vitest';

import { CELL_TYPES, CELLS, FILE_GATE_ORDER, GATE_ORDER, onnxGateOrder } from '../src/model/cells';
import { resolveConfig, toNativeConfig, type SequenceClassifierConfig } from '../src/model/config';
import { paramCountOf, tensorsOf } from '../src/model/description';
import { native } from '../src/native/addon';

const CONFIGS: SequenceClassifierConfig[] = [
  ...CELL_TYPES.map((cell) => ({ input: { type: 'dense' as const, features: 5 }, layers: [{ cell, units: 3 }], classes: 2 })),
  { input: { type: 'dense', features: 4 }, layers: [{ cell: 'gru', units: 3, resetAfter: false }], classes: 3 },
  { input: { type: 'tokens', vocabSize: 11, embeddingDim: 6 }, layers: [{ cell: 'lstm', units: 4, bidirectional: true }, { cell: 'gru', units: 2, bidirectional: true, mergeMode: 'sum' }], pooling: 'mean', classes: 4 },
  { input: { type: 'dense', features: 2 }, layers: [{ cell: 'rnn', units: 5, bidirectional: true, mergeMode: 'ave' }, { cell: 'lstm', units: 3, bidirectional: true, mergeMode: 'concat' }, { cell: 'gru', units: 7 }], classes: ['a', 'b', 'c'] },
];

describe('one table of cells, one layout of tensors', () => {
  it('the TypeScript cell table equals the native one (buildInfo().cells)', () => {
    const info = native().buildInfo();
    // The same kinds (each table lists them in its own order: the native one in enum order).
    expect(info.cells.map((c) => c.type).sort()).toEqual([...CELL_TYPES].sort());
    for (const c of info.cells) {
      const spec = CELLS[c.type as keyof typeof CELLS];
      expect({ gates: c.gates, weightPrefix: c.weightPrefix, two: c.twoBiasesWhenResetAfter, cellState: c.cellState }, c.type).toEqual({ gates: [...spec.gates], weightPrefix: spec.weightPrefix, two: spec.twoBiasesWhenResetAfter, cellState: spec.cellState });
    }
    expect(info.gateOrder).toEqual(GATE_ORDER);
  });

  it('derived facts: ONNX gate orders and the gate orders model files record', () => {
    expect(onnxGateOrder('lstm')).toEqual([0, 3, 1, 2]); // ONNX i o f c from Keras i f g o
    expect(onnxGateOrder('gru')).toEqual([0, 1, 2]);
    expect(onnxGateOrder('rnn')).toEqual([0]);
    expect(FILE_GATE_ORDER).toEqual({ lstm: 'i,f,g,o', gru: 'z,r,h' });
  });

  it.each(CONFIGS.map((c, i) => [i, c] as const))('config %i: tensorsOf equals the native parameter layout', (_, raw) => {
    const config = resolveConfig(raw);
    const model = new (native().NativeModel)(toNativeConfig(config));
    try {
      const fromNative = model.tensors().map(({ name, shape, offset, size }) => ({ name, shape, offset, size }));
      expect(tensorsOf(config).map(({ name, shape, offset, size }) => ({ name, shape, offset, size }))).toEqual(fromNative);
      expect(paramCountOf(config)).toBe(model.paramCount());
    } finally {
      model.dispose();
    }
  });
});
