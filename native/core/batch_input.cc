#include "batch_input.h"

#include <cmath>
#include <cstring>

namespace rnn {

template <typename T>
std::string pack_batch(const BatchInput<T>& in, const ModelConfig& c, PackedInput<T>& out) {
  const int count = in.sequences ? in.count : in.batch;
  if (in.batch < 1 || count < 1) return "batch must hold at least one sequence";
  // Members and their lengths, in batch order, each read once: what is checked here is what
  // the gather below uses, even if the caller's memory changes meanwhile (shared buffers).
  std::vector<int32_t> members(in.batch), lengths(in.batch);
  for (int i = 0; i < in.batch; ++i) {
    const int32_t s = in.sequences ? in.sequences[i] : i;
    if (s < 0 || s >= count)
      return "batch entry " + std::to_string(i) + " names sequence " + std::to_string(s) +
             ", outside [0, " + std::to_string(count) + ")";
    members[i] = s;
    lengths[i] = in.lengths[s];
  }
  PackedLayout layout;
  std::string err = build_layout(lengths.data(), in.batch, in.steps, layout);
  if (!err.empty()) return err;
  const long width = c.input == InputType::kDense ? c.features : 1;
  if (c.input == InputType::kDense) out.dense.resize(size_t(layout.rows) * width);
  else out.tokens.resize(size_t(layout.rows));
  for (int t = 0; t < layout.steps; ++t) {
    for (int r = 0; r < layout.active[t]; ++r) {
      const int entry = layout.order[r];
      const size_t source = size_t(members[entry]) * in.steps + t;
      const long row = layout.row(t, r);
      if (c.input == InputType::kDense) {
        T* copy = out.dense.data() + row * width;
        std::memcpy(copy, in.dense + source * width, sizeof(T) * width);
        // The copy is checked (what the kernels will read): NaN or infinite input would make
        // NaN probabilities, e.g. from a buffer changed after the caller's own checks.
        for (long f = 0; f < width; ++f)
          if (!std::isfinite(copy[f]))
            return "value " + std::to_string(copy[f]) + " at sequence " + std::to_string(entry) +
                   ", step " + std::to_string(t) + ", feature " + std::to_string(f) + " is not finite";
      } else {
        const int32_t id = in.tokens[source];  // read once: checked and stored as read
        if (id < 0 || id >= c.vocab_size)
          return "token id " + std::to_string(id) + " at sequence " + std::to_string(entry) +
                 ", step " + std::to_string(t) + " is outside the vocabulary [0, " +
                 std::to_string(c.vocab_size) + ")";
        out.tokens[row] = id;
      }
    }
  }
  out.layout = std::move(layout);
  out.input_steps = in.steps;
  return "";
}

template std::string pack_batch<float>(const BatchInput<float>&, const ModelConfig&, PackedInput<float>&);
template std::string pack_batch<double>(const BatchInput<double>&, const ModelConfig&, PackedInput<double>&);

}  // namespace rnn
