#include "packed_layout.h"

#include <algorithm>
#include <numeric>

namespace rnn {

std::string build_layout(const int32_t* lengths, int batch, int max_steps, PackedLayout& out) {
  if (batch < 1) return "batch must hold at least one sequence";
  int longest = 0;
  for (int b = 0; b < batch; ++b) {
    if (lengths[b] < 1 || lengths[b] > max_steps)
      return "sequence " + std::to_string(b) + " has length " + std::to_string(lengths[b]) +
             ", expected 1.." + std::to_string(max_steps);
    longest = std::max(longest, static_cast<int>(lengths[b]));
  }
  out.batch = batch;
  out.steps = longest;
  out.order.resize(batch);
  std::iota(out.order.begin(), out.order.end(), 0);
  // Stable, so equal lengths keep the caller's order and results are reproducible.
  std::stable_sort(out.order.begin(), out.order.end(),
                   [&](int a, int b) { return lengths[a] > lengths[b]; });
  out.lengths.resize(batch);
  for (int r = 0; r < batch; ++r) out.lengths[r] = lengths[out.order[r]];
  out.active.assign(longest, 0);
  out.offset.assign(longest + 1, 0);
  int running = batch;
  for (int t = 0; t < longest; ++t) {
    while (running > 0 && out.lengths[running - 1] <= t) --running;
    out.active[t] = running;
    out.offset[t + 1] = out.offset[t] + running;
  }
  out.rows = out.offset[longest];
  return "";
}

}  // namespace rnn
