// The gate blocks of each cell: one definition of their names and order, read by the cells,
// the initialisers and (through buildInfo().gateOrder) the TypeScript side, which writes the
// order into model files. Blocks sit side by side, `units` columns each, in the columns of
// the input kernel W [input, G*units], the recurrent kernel U [units, G*units] and the bias.
// The order is Keras's (and tfjs's and our files'); other frameworks order the same blocks
// differently, which import and export map by name:
//   LSTM  here i f g o   PyTorch i f g o   ONNX i o f c
//   GRU   here z r h     PyTorch r z n     ONNX z r h
#pragma once

#include "eigen_types.h"
#include "model_config.h"

namespace rnn {

enum class LstmGate : int { kInput = 0, kForget = 1, kCell = 2, kOutput = 3 };  // i f g o
enum class GruGate : int { kUpdate = 0, kReset = 1, kCandidate = 2 };           // z r h

constexpr int kLstmGates = 4;
constexpr int kGruGates = 3;

// One-letter names in block order, as model files and buildInfo() spell them.
inline const char* const* gate_names(CellType cell, int* count) {
  static const char* const lstm[] = {"i", "f", "g", "o"};
  static const char* const gru[] = {"z", "r", "h"};
  static const char* const rnn[] = {"a"};
  switch (cell) {
    case CellType::kLstm: *count = kLstmGates; return lstm;
    case CellType::kGru: *count = kGruGates; return gru;
    case CellType::kRnn: break;
  }
  *count = 1;
  return rnn;
}

// First column of a gate's block.
template <typename Gate>
constexpr Index gate_column(Gate gate, Index units) {
  return Index(gate) * units;
}

// The columns of one gate in a block of rows with G*units columns.
template <typename Rows, typename Gate>
auto gate(Rows&& rows, Gate g, Index units) {
  return rows.middleCols(gate_column(g, units), units);
}

// The columns of the consecutive gates first..last.
template <typename Rows, typename Gate>
auto gates(Rows&& rows, Gate first, Gate last, Index units) {
  return rows.middleCols(gate_column(first, units), (Index(last) - Index(first) + 1) * units);
}

}  // namespace rnn
