/**
 * The order of the gate blocks in each cell's weights (Keras's, which tfjs and our model files
 * use). It mirrors native/core/gates.h, the one definition the kernels use: a test compares
 * this with the addon's `buildInfo().gateOrder`. Import and export map other frameworks'
 * orders onto these names (PyTorch LSTM i f g o, ONNX LSTM i o f c, PyTorch GRU r z n).
 */
export const GATE_ORDER = {
  lstm: ['i', 'f', 'g', 'o'],
  gru: ['z', 'r', 'h'],
  rnn: ['a'],
} as const;

/** The form model files record (`header.gateOrder`). */
export const FILE_GATE_ORDER = { lstm: GATE_ORDER.lstm.join(','), gru: GATE_ORDER.gru.join(',') } as { lstm: 'i,f,g,o'; gru: 'z,r,h' };
