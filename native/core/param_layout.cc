#include "param_layout.h"

namespace rnn {

ParamLayout make_param_layout(const ModelConfig& c) {
  ParamLayout out;
  auto add = [&](std::string name, std::vector<long> shape, TensorRole role, int layer, int dir) {
    long size = 1;
    for (long d : shape) size *= d;
    out.tensors.push_back({std::move(name), std::move(shape), out.total, size, role, layer, dir});
    out.total += size;
    return out.tensors.back().offset;
  };
  if (c.input == InputType::kTokens)
    out.embedding = add("embedding/embeddings", {c.vocab_size, c.embedding_dim},
                        TensorRole::kEmbedding, -1, 0);
  long input = c.input_size();
  for (size_t l = 0; l < c.layers.size(); ++l) {
    const LayerConfig& layer = c.layers[l];
    // The names, gate count and bias rows are the cell table's (cells.h).
    const CellSpec& cell = cell_spec(layer.cell);
    const std::string weight_prefix(cell.weight_prefix);
    const long gu = long(cell.gates.count) * layer.units;
    const std::string base = weight_prefix + "_" + std::to_string(l);
    std::vector<ParamLayout::Direction> dirs;
    for (int d = 0; d < layer.directions(); ++d) {
      const std::string prefix =
          layer.bidirectional
              ? "bidirectional_" + std::to_string(l) + (d == 0 ? "/forward_" : "/backward_") +
                    weight_prefix
              : base;
      ParamLayout::Direction dir{};
      dir.kernel = add(prefix + "/kernel", {input, gu}, TensorRole::kKernel, int(l), d);
      dir.recurrent = add(prefix + "/recurrent_kernel", {layer.units, gu}, TensorRole::kRecurrent,
                          int(l), d);
      const bool two_biases = cell.two_biases_when_reset_after && layer.reset_after;
      dir.bias = add(prefix + "/bias", two_biases ? std::vector<long>{2, gu} : std::vector<long>{gu},
                     TensorRole::kBias, int(l), d);
      dirs.push_back(dir);
    }
    out.layers.push_back(dirs);
    input = layer.output_size();
  }
  out.dense_kernel = add("dense/kernel", {input, c.classes}, TensorRole::kDenseKernel, -1, 0);
  out.dense_bias = add("dense/bias", {c.classes}, TensorRole::kDenseBias, -1, 0);
  return out;
}

}  // namespace rnn
