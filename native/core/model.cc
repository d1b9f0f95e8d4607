#include "model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "stream.h"

namespace rnn {

namespace {

const char* const kInferenceOnly =
    "this model is inference-only (int8 or bf16 precision): train the float32 model, then quantize it";

const ModelConfig& checked(const ModelConfig& config) {
  const std::string err = validate_config(config);
  if (!err.empty()) throw std::invalid_argument(err);
  return config;
}

std::string check_labels(const int32_t* labels, int batch, int classes) {
  for (int i = 0; i < batch; ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      return "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
             " is outside [0, " + std::to_string(classes) + ")";
  return "";
}

}  // namespace

Model::Model(const ModelConfig& config)
    : network_(checked(config)),
      params_(network_.param_count(), 0.0f),
      grads_(network_.param_count(), 0.0f),
      optimizer_(std::make_unique<Optimizer<float>>(OptimizerConfig{}, network_.param_count())) {}

void Model::copy_params(float* out) {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::copy(params_.begin(), params_.end(), out);
}

void Model::set_params(const float* values) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  std::copy(values, values + params_.size(), params_.begin());
  ++params_version_;
}

void Model::initialize(uint64_t seed) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  network_.initialize(params_.data(), seed);
  ++params_version_;
}

void Model::set_optimizer(const OptimizerConfig& config) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  optimizer_ = std::make_unique<Optimizer<float>>(config, param_count());
}

long Model::optimizer_steps() {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return optimizer_->steps();
}

void Model::copy_optimizer_state(float* out) {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::copy(optimizer_->state().begin(), optimizer_->state().end(), out);
}

void Model::set_optimizer_state(long steps, const float* values) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  std::copy(values, values + optimizer_->state().size(), optimizer_->state().begin());
  optimizer_->set_steps(steps);
}

std::string Model::train_step(const PackedInput<float>& in, const int32_t* labels,
                              const float* class_weights, double learning_rate, uint64_t seed,
                              StepResult* result) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (network_.config().precision != Precision::kFloat32) return kInferenceOnly;
  std::string err = check_labels(labels, in.layout.batch, network_.config().classes);
  workspace_.params_version = params_version_;
  if (err.empty()) err = network_.forward(workspace_, params_.data(), in, true, seed);
  if (!err.empty()) return err;
  result->loss = network_.loss(workspace_, labels, class_weights, &result->correct);
  if (!std::isfinite(result->loss)) {
    // The parameters stay as they were: the caller stops training with the model intact.
    result->grad_norm = std::numeric_limits<double>::quiet_NaN();
    return "";
  }
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  network_.backward(workspace_, params_.data(), grads_.data(), nullptr);
  result->grad_norm = optimizer_->step(params_.data(), grads_.data(), learning_rate);
  if (std::isfinite(result->grad_norm)) ++params_version_;  // else no step was taken
  return "";
}

std::string Model::gradients(const PackedInput<float>& in, const int32_t* labels,
                             const float* class_weights, float* grads, double* loss) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (network_.config().precision != Precision::kFloat32) return kInferenceOnly;
  std::string err = check_labels(labels, in.layout.batch, network_.config().classes);
  workspace_.params_version = params_version_;
  if (err.empty()) err = network_.forward(workspace_, params_.data(), in, false, 0);
  if (!err.empty()) return err;
  *loss = network_.loss(workspace_, labels, class_weights, nullptr);
  // Accumulate in our aligned buffer (not the caller's) so results are reproducible.
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  network_.backward(workspace_, params_.data(), grads_.data(), nullptr);
  std::copy(grads_.begin(), grads_.end(), grads);
  return "";
}

std::unique_ptr<Workspace<float>> Model::acquire_workspace() {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  if (idle_workspaces_.empty()) return std::make_unique<Workspace<float>>();
  std::unique_ptr<Workspace<float>> ws = std::move(idle_workspaces_.back());
  idle_workspaces_.pop_back();
  return ws;
}

void Model::release_workspace(std::unique_ptr<Workspace<float>> ws) {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  idle_workspaces_.push_back(std::move(ws));
}

std::string Model::predict(const PackedInput<float>& in, float* probabilities) {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::unique_ptr<Workspace<float>> ws = acquire_workspace();
  ws->params_version = params_version_;
  std::string err = network_.forward(*ws, params_.data(), in, false, 0, /*keep_for_backward=*/false);
  if (err.empty()) network_.probabilities(*ws, probabilities);
  release_workspace(std::move(ws));
  return err;
}

std::string Model::stream(const PackedInput<float>& in, float* states, const int32_t* prior_steps,
                          bool every_step, float* probabilities) {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::unique_ptr<Workspace<float>> ws = acquire_workspace();
  ws->params_version = params_version_;
  const std::string err = stream_forward(network_, *ws, params_.data(), in, states, prior_steps,
                                         every_step, probabilities);
  release_workspace(std::move(ws));
  return err;
}

}  // namespace rnn
