// Reading JavaScript arguments into plain C++ values. Every typed array's type and length
// is checked here, before native code touches its memory; batches are gathered (by the
// core's pack_batch, which checks every value it reads) into packed memory the native side
// owns, during the call, so a worker never reads a buffer JavaScript may change or detach.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model_config.h"
#include "network.h"
#include "optimizer.h"

namespace rnn_binding {

// A batch gathered out of JavaScript into packed order: {batch, steps, lengths: Int32Array,
// dense?: Float32Array [count*steps*features], tokens?: Int32Array [count*steps],
// sequences?: Int32Array [batch]}, where count is batch, or lengths.length with `sequences`
// (the batch's members among count source sequences).
rnn::PackedInput<float> read_batch(const Napi::Value& value, const rnn::ModelConfig& config);
// An Int32Array of `batch` labels (their range is the core's check).
std::vector<int32_t> read_labels(const Napi::Value& value, int batch, int classes);
// Float32Array of `classes` finite, non-negative weights, or null/undefined (empty result).
std::vector<float> read_class_weights(const Napi::Value& value, int classes);

rnn::ModelConfig read_model_config(const Napi::Value& value);
rnn::OptimizerConfig read_optimizer_config(const Napi::Value& value);

// A Float32Array of exactly `length` values (TypeError for another type, RangeError for
// another length); the returned view is only valid during the call.
Napi::Float32Array read_float32_array(const Napi::Value& value, const char* name, size_t length);

// An Int32Array of exactly `length` values, copied out.
std::vector<int32_t> read_int32_array(const Napi::Value& value, const char* name, size_t length);

// A non-negative integer-valued number no larger than `max`.
int64_t read_integer(const Napi::Value& value, const char* name, int64_t min, int64_t max);
double read_number(const Napi::Value& value, const char* name);

}  // namespace rnn_binding
