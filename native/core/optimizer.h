// Optimizers over one flat parameter vector (weights, gradients and moments share offsets).
// Formulas follow PyTorch: SGD momentum buffer v = mu v + g (Nesterov: step g + mu v);
// Adam/AdamW with bias correction (AdamW decays weights decoupled: p -= lr wd p);
// RMSprop v = rho v + (1 - rho) g^2 with optional momentum. weight_decay on the other
// optimizers is classic L2 (g += wd p).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eigen_types.h"

namespace rnn {

enum class OptimizerType { kSgd = 0, kAdam = 1, kAdamW = 2, kRmsprop = 3 };

struct OptimizerConfig {
  OptimizerType type = OptimizerType::kAdam;
  double momentum = 0.0;      // sgd, rmsprop
  bool nesterov = false;      // sgd
  double beta1 = 0.9, beta2 = 0.999;
  double rho = 0.9;           // rmsprop
  double epsilon = 1e-7;
  double weight_decay = 0.0;  // AdamW: decoupled; others: L2
  double clip_norm = 0.0;     // global gradient-norm clipping; 0 = off
};

std::string validate_optimizer(const OptimizerConfig& config);

template <typename T>
class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, long size);

  // Clips grads by global norm (if configured), then updates params in place.
  // Returns the gradient norm before clipping, or NaN when the step was not taken: a
  // non-finite gradient, or an update that would leave a parameter or moment non-finite
  // (float32 overflow, e.g. g^2 past 3.4e38 at a huge learning rate). Then the parameters,
  // moments and step count are as they were.
  double step(T* params, T* grads, double learning_rate);

  long steps() const { return steps_; }
  const OptimizerConfig& config() const { return config_; }

  // Moments and step count, for checkpoints: [m..., v...] as one vector.
  Buffer<T>& state() { return state_; }
  void set_steps(long s) { steps_ = s; }

 private:
  OptimizerConfig config_;
  long size_;
  long steps_ = 0;
  Buffer<T> state_;  // first moments (or momentum buffer), then second moments
  Buffer<T> backup_;  // parameters and moments before the step being taken (preallocated)
};

}  // namespace rnn
