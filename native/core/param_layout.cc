#include "param_layout.h"

namespace rnn {

namespace {

const char* cell_name(CellType c) {
  switch (c) {
    case CellType::kRnn: return "simple_rnn";
    case CellType::kLstm: return "lstm";
    case CellType::kGru: return "gru";
  }
  return "?";
}

}  // namespace

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
    const long gu = long(gate_count(layer.cell)) * layer.units;
    const std::string base = std::string(cell_name(layer.cell)) + "_" + std::to_string(l);
    std::vector<ParamLayout::Direction> dirs;
    for (int d = 0; d < layer.directions(); ++d) {
      const std::string prefix =
          layer.bidirectional
              ? "bidirectional_" + std::to_string(l) + (d == 0 ? "/forward_" : "/backward_") +
                    cell_name(layer.cell)
              : base;
      ParamLayout::Direction dir{};
      dir.kernel = add(prefix + "/kernel", {input, gu}, TensorRole::kKernel, int(l), d);
      dir.recurrent = add(prefix + "/recurrent_kernel", {layer.units, gu}, TensorRole::kRecurrent,
                          int(l), d);
      const bool two_biases = layer.cell == CellType::kGru && layer.reset_after;
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
