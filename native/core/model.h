// A trainable classifier: the network, its flat float32 parameters and gradients, the
// optimizer state and reusable workspaces. Predictions share the parameters (shared lock,
// each with a workspace from a pool, so they may run at once); anything that writes the
// parameters takes the lock exclusively. The binding decides who may call when.
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "network.h"
#include "optimizer.h"

namespace rnn {

struct StepResult {
  double loss = 0;
  long correct = 0;
  double grad_norm = 0;
};

class Model {
 public:
  // Throws std::invalid_argument when validate_config(config) reports a problem.
  explicit Model(const ModelConfig& config);

  const Network<float>& network() const { return network_; }
  long param_count() const { return network_.param_count(); }
  void copy_params(float* out);          // param_count() values
  void set_params(const float* values);  // param_count() values
  void initialize(uint64_t seed);

  void set_optimizer(const OptimizerConfig& config);  // resets moments and step count

  // Optimizer moments ([2 * param_count()]) and step count, for checkpoints and resuming.
  long optimizer_steps();
  void copy_optimizer_state(float* out);
  void set_optimizer_state(long steps, const float* values);

  // Batches come packed (pack_batch): the one copy of the input, made by the caller.
  // Forward, backward and one optimizer update. Returns an error message or "".
  std::string train_step(const PackedInput<float>& in, const int32_t* labels,
                         const float* class_weights, double learning_rate, uint64_t seed,
                         StepResult* result);

  // Loss and gradients (not applied) of one batch, evaluation mode. grads: param_count().
  std::string gradients(const PackedInput<float>& in, const int32_t* labels,
                        const float* class_weights, float* grads, double* loss);

  // Class probabilities [batch, classes] in caller order.
  std::string predict(const PackedInput<float>& in, float* probabilities);

  // One chunk of each row's stream, from and into its carried state (stream.h).
  std::string stream(const PackedInput<float>& in, float* states, const int32_t* prior_steps,
                     bool every_step, float* probabilities);

 private:
  Network<float> network_;
  Buffer<float> params_, grads_;
  // Bumped (under the exclusive lock) whenever params_ change; workspaces compare it to
  // decide whether what they derived from the parameters (packed kernels) is stale.
  uint64_t params_version_ = 1;
  std::unique_ptr<Optimizer<float>> optimizer_;
  std::unique_ptr<Workspace<float>> acquire_workspace();
  void release_workspace(std::unique_ptr<Workspace<float>> ws);

  Workspace<float> workspace_;  // training
  std::vector<std::unique_ptr<Workspace<float>>> idle_workspaces_;
  std::mutex pool_mutex_;
  std::shared_mutex mutex_;
};

}  // namespace rnn
