// Reading JavaScript arguments into plain C++ values. Every typed array's type and length
// is checked here, before native code touches its memory; batches are copied into memory
// the native side owns, so a worker never reads a buffer JavaScript may free or detach.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model_config.h"
#include "network.h"
#include "optimizer.h"

namespace rnn_binding {

// A batch copied out of JavaScript: {batch, steps, lengths: Int32Array,
// dense?: Float32Array [batch*steps*features], tokens?: Int32Array [batch*steps]}.
struct OwnedBatch {
  int batch = 0, steps = 0;
  rnn::Buffer<float> dense;
  std::vector<int32_t> tokens, lengths;

  rnn::BatchInput<float> view() const;
};

OwnedBatch read_batch(const Napi::Value& value, const rnn::ModelConfig& config);
std::vector<int32_t> read_labels(const Napi::Value& value, int batch, int classes);
// Float32Array of `classes` finite, non-negative weights, or null/undefined (empty result).
std::vector<float> read_class_weights(const Napi::Value& value, int classes);

rnn::ModelConfig read_model_config(const Napi::Value& value);
rnn::OptimizerConfig read_optimizer_config(const Napi::Value& value);

// A Float32Array of exactly `length` values (TypeError for another type, RangeError for
// another length); the returned view is only valid during the call.
Napi::Float32Array read_float32_array(const Napi::Value& value, const char* name, size_t length);

// A non-negative integer-valued number no larger than `max`.
int64_t read_integer(const Napi::Value& value, const char* name, int64_t min, int64_t max);
double read_number(const Napi::Value& value, const char* name);

}  // namespace rnn_binding
