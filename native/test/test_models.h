// Small model configs and random batches shared by the C++ tests.
#pragma once

#include <string>
#include <vector>

#include "model_config.h"
#include "network.h"
#include "rng.h"

namespace testing_support {

using namespace rnn;

inline LayerConfig layer(CellType cell, int units) {
  LayerConfig l;
  l.cell = cell;
  l.units = units;
  return l;
}

inline ModelConfig dense_model(std::vector<LayerConfig> layers, int features = 3, int classes = 3,
                               Pooling pooling = Pooling::kLast) {
  ModelConfig c;
  c.input = InputType::kDense;
  c.features = features;
  c.layers = std::move(layers);
  c.classes = classes;
  c.pooling = pooling;
  return c;
}

inline ModelConfig token_model(std::vector<LayerConfig> layers, int vocab = 7, int dim = 3,
                               int classes = 3, Pooling pooling = Pooling::kLast) {
  ModelConfig c = dense_model(std::move(layers), 0, classes, pooling);
  c.input = InputType::kTokens;
  c.vocab_size = vocab;
  c.embedding_dim = dim;
  return c;
}

// A ragged batch: valid steps hold random values, padding holds junk that must not matter.
template <typename T>
struct RandomBatch {
  int batch = 0, steps = 0;
  std::vector<T> dense;
  std::vector<int32_t> tokens, lengths, labels;

  RandomBatch(const ModelConfig& c, std::vector<int32_t> lens, uint64_t seed)
      : batch(int(lens.size())), lengths(std::move(lens)) {
    Rng rng(seed);
    for (int len : lengths) steps = std::max(steps, len);
    if (c.input == InputType::kDense) {
      dense.resize(size_t(batch) * steps * c.features);
      for (T& v : dense) v = T(2 * rng.uniform() - 1);
    } else {
      tokens.resize(size_t(batch) * steps);
      for (int b = 0; b < batch; ++b)
        for (int t = 0; t < steps; ++t)
          tokens[b * steps + t] =
              t < lengths[b] ? 1 + int32_t(rng.next() % uint64_t(c.vocab_size - 1)) : 0;
    }
    for (int b = 0; b < batch; ++b) labels.push_back(int32_t(rng.next() % uint64_t(c.classes)));
  }

  BatchInput<T> input() const {
    BatchInput<T> in;
    in.batch = batch;
    in.steps = steps;
    in.dense = dense.empty() ? nullptr : dense.data();
    in.tokens = tokens.empty() ? nullptr : tokens.data();
    in.lengths = lengths.data();
    return in;
  }
};

}  // namespace testing_support
