// The cell kinds: one table, the one owner of every fact about a cell that the rest of the
// native code needs to know without running it. The parser of `cell` (binding/arguments.cc),
// buildInfo() (binding/addon.cc, from which the TypeScript side checks its own table), the
// weight names and bias shapes (param_layout.cc), the gate counts and names (gates.h) and the
// factory that makes a cell's RecurrentDirection (recurrent_direction.cc) all read it, so none
// of them switches on the cell. A new cell kind is its CellType value and one kCells entry
// here, plus its own files (its direction class and its make_*_direction, as lstm.h/lstm.cc).
//
// Only declarations of the directions are needed here, so every header may include this one.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <type_traits>

namespace rnn {

// The enumerator is the cell's position in kCells (checked below).
enum class CellType { kRnn = 0, kLstm = 1, kGru = 2 };

struct LayerConfig;
template <typename T>
class RecurrentDirection;

// Makes one direction of one layer: config.cell's kind, input_size wide, reversed or not.
template <typename T>
using DirectionFactory = std::unique_ptr<RecurrentDirection<T>> (*)(const LayerConfig& config,
                                                                    int input_size, bool reverse);

// Each cell's factory, defined beside its direction class (simple_rnn.cc, lstm.cc, gru.cc)
// for float and double.
template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_simple_rnn_direction(const LayerConfig&, int, bool);
template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_lstm_direction(const LayerConfig&, int, bool);
template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_gru_direction(const LayerConfig&, int, bool);

// One-letter gate names in block order: the order of the G blocks of `units` columns in the
// kernel, recurrent kernel and bias (Keras's order; see gates.h for other frameworks').
inline constexpr const char* kSimpleRnnGateNames[] = {"a"};
inline constexpr const char* kLstmGateNames[] = {"i", "f", "g", "o"};
inline constexpr const char* kGruGateNames[] = {"z", "r", "h"};

struct CellGates {
  const char* const* names;
  int count;
};
template <std::size_t N>
constexpr CellGates cell_gates(const char* const (&names)[N]) {
  return {names, int(N)};
}

struct CellSpec {
  CellType type;
  std::string_view name;           // the API's: config `cell`, buildInfo().cells[].type
  std::string_view weight_prefix;  // Keras's layer name: "<prefix>_<layer>/kernel", ...
  CellGates gates;                 // count and names, in block order
  // A reset_after layer (LayerConfig::reset_after) keeps two bias rows [2, G*units], the
  // input's and the recurrent one's, instead of one [G*units]: Keras's GRU (reset_after=True).
  bool two_biases_when_reset_after;
  // Carries a cell state c beside h from step to step (LSTM): a stream keeps both.
  bool cell_state;
  DirectionFactory<float> make_float;
  DirectionFactory<double> make_double;

  template <typename T>
  constexpr DirectionFactory<T> factory() const {
    if constexpr (std::is_same_v<T, float>) return make_float;
    else return make_double;
  }
};

// In CellType order; names and prefixes as model files, Keras and tfjs spell them.
inline constexpr CellSpec kCells[] = {
    {CellType::kRnn, "rnn", "simple_rnn", cell_gates(kSimpleRnnGateNames), false, false,
     &make_simple_rnn_direction<float>, &make_simple_rnn_direction<double>},
    {CellType::kLstm, "lstm", "lstm", cell_gates(kLstmGateNames), false, true,
     &make_lstm_direction<float>, &make_lstm_direction<double>},
    {CellType::kGru, "gru", "gru", cell_gates(kGruGateNames), true, false,
     &make_gru_direction<float>, &make_gru_direction<double>},
};
inline constexpr int kCellCount = int(sizeof(kCells) / sizeof(kCells[0]));

constexpr bool cells_in_enum_order() {
  for (int i = 0; i < kCellCount; ++i)
    if (int(kCells[i].type) != i) return false;
  return true;
}
static_assert(cells_in_enum_order(), "kCells[i].type must be CellType(i)");

constexpr const CellSpec& cell_spec(CellType cell) { return kCells[int(cell)]; }

// The entry whose API name is `name`, or null.
constexpr const CellSpec* find_cell(std::string_view name) {
  for (const CellSpec& spec : kCells)
    if (spec.name == name) return &spec;
  return nullptr;
}

constexpr int gate_count(CellType cell) { return cell_spec(cell).gates.count; }

}  // namespace rnn
