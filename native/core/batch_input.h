// A batch on its way into the network, in the two forms it takes:
//   BatchInput   the caller's padded rows, read in place: [count, steps, features] values
//                (dense) or [count, steps] ids (tokens), lengths, and optionally which of
//                those sequences make up the batch (so a caller can pass a whole data set
//                and a list of indices instead of copying the batch out first);
//   PackedInput  the batch gathered into packed, time-major order (packed_layout.h), owned.
// pack_batch turns the first into the second: the one copy of the input between the
// caller's memory and the kernels. It checks every length, index and token id it reads, so
// no caller (the binding, C++ tests, the benchmark) can make the core read out of bounds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eigen_types.h"
#include "model_config.h"
#include "packed_layout.h"

namespace rnn {

template <typename T>
struct BatchInput {
  int batch = 0;                      // sequences in the batch
  int steps = 0;                      // padded length of each source row of dense/tokens
  const T* dense = nullptr;           // [count, steps, features] (dense input)
  const int32_t* tokens = nullptr;    // [count, steps] ids (token input)
  const int32_t* lengths = nullptr;   // [count], each in [1, steps]
  // Batch entry i is source sequence sequences[i], each in [0, count); null: entry i is
  // sequence i and count is batch.
  const int32_t* sequences = nullptr;
  int count = 0;
};

template <typename T>
struct PackedInput {
  PackedLayout layout;
  Buffer<T> dense;              // [rows, features] (dense input)
  std::vector<int32_t> tokens;  // [rows] (token input)
  int input_steps = 0;          // the source's padded steps (for input gradients in caller layout)
};

// Gathers `in` into `out` (whose buffers are reused). Returns an error message or "".
template <typename T>
std::string pack_batch(const BatchInput<T>& in, const ModelConfig& config, PackedInput<T>& out);

}  // namespace rnn
