// The gate blocks of each cell. Their names, order and count are the cell table's (cells.h:
// kCells, the one definition, which buildInfo() hands the TypeScript side, which writes the
// order into model files); here are the kernels' names for the LSTM and GRU blocks, checked
// against that table, and the helpers that address a block. Blocks sit side by side, `units`
// columns each, in the columns of the input kernel W [input, G*units], the recurrent kernel
// U [units, G*units] and the bias. The order is Keras's (and tfjs's and our files'); other
// frameworks order the same blocks differently, which import and export map by name:
//   LSTM  here i f g o   PyTorch i f g o   ONNX i o f c
//   GRU   here z r h     PyTorch r z n     ONNX z r h
#pragma once

#include "cells.h"
#include "eigen_types.h"
#include "model_config.h"

namespace rnn {

enum class LstmGate : int { kInput = 0, kForget = 1, kCell = 2, kOutput = 3 };  // i f g o
enum class GruGate : int { kUpdate = 0, kReset = 1, kCandidate = 2 };           // z r h

constexpr int kLstmGates = gate_count(CellType::kLstm);
constexpr int kGruGates = gate_count(CellType::kGru);

// The kernels' enums and the table must agree: one enumerator per gate, in the table's order.
constexpr bool gate_is(CellType cell, int index, char letter) {
  return index < gate_count(cell) && cell_spec(cell).gates.names[index][0] == letter &&
         cell_spec(cell).gates.names[index][1] == '\0';
}
static_assert(int(LstmGate::kOutput) + 1 == kLstmGates, "LstmGate must name every LSTM gate of kCells");
static_assert(gate_is(CellType::kLstm, int(LstmGate::kInput), 'i') &&
                  gate_is(CellType::kLstm, int(LstmGate::kForget), 'f') &&
                  gate_is(CellType::kLstm, int(LstmGate::kCell), 'g') &&
                  gate_is(CellType::kLstm, int(LstmGate::kOutput), 'o'),
              "LstmGate's order must be kCells' i f g o");
static_assert(int(GruGate::kCandidate) + 1 == kGruGates, "GruGate must name every GRU gate of kCells");
static_assert(gate_is(CellType::kGru, int(GruGate::kUpdate), 'z') &&
                  gate_is(CellType::kGru, int(GruGate::kReset), 'r') &&
                  gate_is(CellType::kGru, int(GruGate::kCandidate), 'h'),
              "GruGate's order must be kCells' z r h");

// One-letter names in block order, as model files and buildInfo() spell them (cells.h).
inline const char* const* gate_names(CellType cell, int* count) {
  *count = cell_spec(cell).gates.count;
  return cell_spec(cell).gates.names;
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
