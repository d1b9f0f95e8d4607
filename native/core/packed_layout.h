// Packed, time-major layout of a batch of variable-length sequences (as PyTorch's
// PackedSequence). The batch is sorted by length, longest first, so that at step t the
// sequences still running are rows 0..active[t]-1 and their data is contiguous:
// packed row offset[t] + r is step t of sorted sequence r. Padding is never stored and
// never computed on, and masked steps cannot change a state by construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rnn {

struct PackedLayout {
  int batch = 0;               // sequences
  int steps = 0;               // longest length
  long rows = 0;               // packed rows: sum of lengths
  std::vector<int> order;      // sorted position -> index in the caller's batch
  std::vector<int> lengths;    // per sorted position, non-increasing
  std::vector<int> active;     // per step: sequences with length > t
  std::vector<long> offset;    // per step (+1): first packed row of step t

  // Packed row of step t of sorted sequence r (requires r < active[t]).
  long row(int t, int r) const { return offset[t] + r; }
};

// Builds the layout for `batch` lengths, each in [1, max_steps]. Returns an error message
// (empty on success); the layout is untouched on error.
std::string build_layout(const int32_t* lengths, int batch, int max_steps, PackedLayout& out);

}  // namespace rnn
