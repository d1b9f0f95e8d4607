/**
 * A model as plain data: toDescription() and fromDescription() give back the same model
 * (weights, config, preprocessing, predictions to the bit), a quantized model's description
 * keeps its grid as it is, and a bad description is refused with an error naming the tensor.
 */
import { describe, expect, it } from 'vitest';

import { SequenceClassifier } from '../src/index';

const config = { input: { type: 'dense' as const, features: 3 }, layers: [{ cell: 'gru' as const, units: 4, bidirectional: true }, { cell: 'lstm' as const, units: 3 }], classes: ['a', 'b'], seed: 5 };
const x = Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.sin(i));
const input = { values: x, shape: [2, 4, 3] as [number, number, number] };

describe('ModelDescription', () => {
  it('round-trips a model: the same config, weights, preprocessing and probabilities', async () => {
    const model = new SequenceClassifier(config);
    model.preprocessing = { kind: 'sequence', features: 3, normalization: null, missing: 'error', maxLength: null };
    const d = model.toDescription();
    expect(d.weights.map((w) => w.name)).toEqual(model.getWeights().map((w) => w.name));
    const back = SequenceClassifier.fromDescription(d);
    expect(back.config).toEqual(model.config);
    expect(back.labels).toEqual(['a', 'b']);
    expect(back.preprocessing).toEqual(model.preprocessing);
    expect(await back.predictProba(input)).toEqual(await model.predictProba(input));
    // The description is a copy: changing it changes neither model.
    d.weights[0].values[0] += 1;
    d.config.layers[0].units = 99;
    expect(model.config.layers[0].units).toBe(4);
    (d.preprocessing as { features: number }).features = 99;
    expect(model.getWeights()[0].values[0]).toBe(back.getWeights()[0].values[0]);
    expect((model.preprocessing as { features: number }).features).toBe(3);
    model.dispose();
    back.dispose();
  });

  it('an int8 description comes back with the same grid and the same probabilities', async () => {
    const model = new SequenceClassifier(config);
    const int8 = await model.quantize();
    const back = SequenceClassifier.fromDescription(int8.toDescription());
    expect(back.config.precision).toBe('int8');
    expect(back.getWeights()).toEqual(int8.getWeights());
    expect(await back.predictProba(input)).toEqual(await int8.predictProba(input));
    for (const m of [model, int8, back]) m.dispose();
  });

  it('refuses a bad description with a typed error naming what is wrong', () => {
    const model = new SequenceClassifier(config);
    const d = model.toDescription();
    expect(() => SequenceClassifier.fromDescription(null as never)).toThrow(TypeError);
    expect(() => SequenceClassifier.fromDescription({ ...d, weights: d.weights.slice(1) })).toThrow(/Expected 11 tensors/);
    const shape = d.weights.map((w, i) => (i === 2 ? { ...w, shape: [w.shape[0] + 1] } : w));
    expect(() => SequenceClassifier.fromDescription({ ...d, weights: shape })).toThrow(/weights\[2\] \(bidirectional_0\/forward_gru\/bias\)\.shape/);
    const nan = d.weights.map((w, i) => (i === 1 ? { ...w, values: Float32Array.from(w.values, (v, k) => (k === 3 ? NaN : v)) } : w));
    expect(() => SequenceClassifier.fromDescription({ ...d, weights: nan })).toThrow(/weights\[1\] \(bidirectional_0\/forward_gru\/recurrent_kernel\)\.values\[3\]/);
    expect(() => SequenceClassifier.fromDescription({ ...d, config: { ...d.config, layers: [] } })).toThrow(/config\.layers/);
    expect(() => SequenceClassifier.fromDescription({ ...d, config: null as never })).toThrow(/description\.config/);
    expect(() => SequenceClassifier.fromDescription({ ...d, preprocessing: 'text' as never })).toThrow(/description\.preprocessing/);
    model.dispose();
  });
});
