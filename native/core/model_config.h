// The network description shared by every part of the core. It mirrors the public
// `SequenceClassifier` config (docs/API.md); defaults are applied in TypeScript.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cells.h"  // CellType, and each kind's facts (gate_count among them)

namespace rnn {

enum class Activation { kTanh = 0, kRelu = 1 };
enum class RecurrentActivation { kSigmoid = 0, kHardSigmoid = 1 };
enum class Pooling { kLast = 0, kMean = 1, kMax = 2 };
enum class InputType { kDense = 0, kTokens = 1 };
// How a bidirectional layer joins its two directions (Keras's Bidirectional merge_mode):
// side by side (concat: 2u wide), or elementwise (sum, ave = mean, mul: u wide).
enum class MergeMode { kConcat = 0, kSum = 1, kAve = 2, kMul = 3 };
// The arithmetic of the inference GEMMs (quantized_gemm.cc). kFloat32 everywhere else and
// for training; kInt8 and kBf16 models are inference-only.
enum class Precision { kFloat32 = 0, kInt8 = 1, kBf16 = 2 };

// Weight initialisers (initializers.cc). The first of each is Keras's default, the other
// PyTorch's; which the public API uses by default was chosen by measurement (bench/INIT.md).
enum class EmbeddingInit { kUniform = 0, kNormal = 1 };        // U(-0.05, 0.05) | N(0, 1)
enum class KernelInit { kGlorotUniform = 0, kTorchUniform = 1 };
enum class RecurrentInit { kOrthogonal = 0, kTorchUniform = 1 };
enum class BiasInit { kZeros = 0, kTorchUniform = 1 };

struct LayerConfig {
  CellType cell = CellType::kLstm;
  int units = 0;
  bool bidirectional = false;
  MergeMode merge_mode = MergeMode::kConcat;  // bidirectional only
  Activation activation = Activation::kTanh;
  RecurrentActivation recurrent_activation = RecurrentActivation::kSigmoid;
  bool reset_after = true;       // GRU only: true = PyTorch/cuDNN/Keras-2 form
  bool unit_forget_bias = true;  // LSTM only: forget-gate bias initialised to 1
  double dropout = 0.0;          // on this layer's output sequence, training only
  KernelInit kernel_init = KernelInit::kGlorotUniform;
  RecurrentInit recurrent_init = RecurrentInit::kOrthogonal;
  BiasInit bias_init = BiasInit::kZeros;
  Precision precision = Precision::kFloat32;  // the model's, copied here for the cells' packers

  int directions() const { return bidirectional ? 2 : 1; }
  // An elementwise merge: the layer's output is u wide, computed from both directions.
  bool merged() const { return bidirectional && merge_mode != MergeMode::kConcat; }
  int output_size() const { return merged() ? units : units * directions(); }
};

struct ModelConfig {
  InputType input = InputType::kDense;
  int features = 0;       // dense input: values per step
  int vocab_size = 0;     // token input: ids in [0, vocab_size)
  int embedding_dim = 0;  // token input: embedding width
  EmbeddingInit embedding_init = EmbeddingInit::kUniform;
  std::vector<LayerConfig> layers;
  Pooling pooling = Pooling::kLast;
  int classes = 0;
  Precision precision = Precision::kFloat32;

  int input_size() const { return input == InputType::kDense ? features : embedding_dim; }
  int head_input_size() const { return layers.empty() ? 0 : layers.back().output_size(); }
};

// Limits that keep every derived size comfortably inside 32-bit indices and memory.
constexpr int kMaxUnits = 1 << 14;
constexpr int kMaxFeatures = 1 << 20;
constexpr int kMaxVocab = 1 << 24;
constexpr int kMaxClasses = 1 << 20;
constexpr int kMaxLayers = 64;
// Deepest int8 product (input width or units): exact int32 sums on every kernel.
constexpr int kMaxInt8Depth = 1024;

// Returns an empty string when the config is valid, else what is wrong with it.
std::string validate_config(const ModelConfig& config);

}  // namespace rnn
