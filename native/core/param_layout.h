// Where each weight tensor lives in the model's one flat parameter buffer. The order is
// tfjs `model.getWeights()` order for the equivalent Sequential model: embedding; per
// recurrent layer kernel, recurrent kernel, bias (forward before backward when
// bidirectional); dense kernel, dense bias. Optimizer moments, gradients and checkpoints
// use the same offsets, so each is one vector.
#pragma once

#include <string>
#include <vector>

#include "model_config.h"

namespace rnn {

enum class TensorRole { kEmbedding, kKernel, kRecurrent, kBias, kDenseKernel, kDenseBias };

struct TensorSlot {
  std::string name;
  std::vector<long> shape;
  long offset = 0;
  long size = 0;
  TensorRole role = TensorRole::kKernel;
  int layer = -1;      // recurrent layer index, or -1
  int direction = 0;   // 0 forward, 1 backward
};

struct ParamLayout {
  std::vector<TensorSlot> tensors;
  long total = 0;
  long embedding = -1;                 // offset of the embedding table, or -1
  // Per layer, per direction: offsets of kernel, recurrent kernel, bias.
  struct Direction { long kernel, recurrent, bias; };
  std::vector<std::vector<Direction>> layers;
  long dense_kernel = 0, dense_bias = 0;
};

ParamLayout make_param_layout(const ModelConfig& config);

}  // namespace rnn
