#include "arguments.h"

#include <cmath>
#include <cstring>

#include "cells.h"
#include "errors.h"

namespace rnn_binding {

namespace {

Napi::Object expect_object(const Napi::Value& v, const char* name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray())
    throw_type(v.Env(), std::string("Expected an object for ") + name);
  return v.As<Napi::Object>();
}

template <typename Array>
Array expect_typed_array(const Napi::Value& v, napi_typedarray_type type, const char* type_name,
                         const char* name, size_t expected_length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_type(v.Env(), std::string("Expected a ") + type_name + " for " + name);
  Array array = v.As<Array>();
  if (array.ElementLength() != expected_length)
    throw_range(v.Env(), std::string("Expected ") + name + " to hold " +
                             std::to_string(expected_length) + " values, got " +
                             std::to_string(array.ElementLength()));
  return array;
}

bool read_bool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw_type(o.Env(), std::string("Expected a boolean for ") + key);
  return v.As<Napi::Boolean>().Value();
}

std::string read_string(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw_type(o.Env(), std::string("Expected a string for ") + key);
  return v.As<Napi::String>().Utf8Value();
}

std::string read_optional_string(const Napi::Object& o, const char* key, const char* fallback) {
  return o.Get(key).IsUndefined() ? std::string(fallback) : read_string(o, key);
}

[[noreturn]] void bad_choice(Napi::Env env, const char* key, const std::string& got,
                             const char* allowed) {
  throw_range(env, std::string("Expected ") + key + " to be one of " + allowed + ", got '" + got + "'");
}

// The API's cell names, from the cell table in its order, as bad_choice lists choices:
// "'rnn', 'lstm', 'gru'".
std::string cell_choices() {
  std::string out;
  for (const rnn::CellSpec& spec : rnn::kCells)
    out += (out.empty() ? "'" : ", '") + std::string(spec.name) + "'";
  return out;
}

}  // namespace

int64_t read_integer(const Napi::Value& v, const char* name, int64_t min, int64_t max) {
  if (!v.IsNumber()) throw_type(v.Env(), std::string("Expected an integer for ") + name);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < double(min) || d > double(max))
    throw_range(v.Env(), std::string("Expected ") + name + " to be an integer in [" +
                             std::to_string(min) + ", " + std::to_string(max) + "]");
  return int64_t(d);
}

double read_number(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw_type(v.Env(), std::string("Expected a number for ") + name);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_range(v.Env(), std::string("Expected a finite number for ") + name);
  return d;
}

Napi::Float32Array read_float32_array(const Napi::Value& value, const char* name, size_t length) {
  return expect_typed_array<Napi::Float32Array>(value, napi_float32_array, "Float32Array", name, length);
}

std::vector<int32_t> read_int32_array(const Napi::Value& value, const char* name, size_t length) {
  Napi::Int32Array a = expect_typed_array<Napi::Int32Array>(value, napi_int32_array, "Int32Array", name, length);
  return std::vector<int32_t>(a.Data(), a.Data() + length);
}

rnn::PackedInput<float> read_batch(const Napi::Value& value, const rnn::ModelConfig& config) {
  Napi::Object o = expect_object(value, "batch");
  Napi::Env env = o.Env();
  // Every property is read before any pointer into JavaScript memory is taken: a getter
  // (or anything else a Get may run) could otherwise detach a buffer we already point into.
  Napi::Value batch_value = o.Get("batch"), steps_value = o.Get("steps");
  Napi::Value sequences = o.Get("sequences"), lengths_value = o.Get("lengths");
  Napi::Value values = o.Get(config.input == rnn::InputType::kDense ? "dense" : "tokens");
  rnn::BatchInput<float> in;
  in.batch = int(read_integer(batch_value, "batch.batch", 1, 1 << 24));
  in.steps = int(read_integer(steps_value, "batch.steps", 1, 1 << 24));
  // Rows the packed batch may need (repeated member indices included).
  if (size_t(in.batch) * size_t(in.steps) > (size_t(1) << 31)) throw_range(env, "batch.batch * batch.steps is too large");
  // With `sequences`, lengths and values describe a larger source (a whole data set) and
  // the batch names its members: the one copy is the gather below, straight from there.
  if (!lengths_value.IsTypedArray() || lengths_value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(env, "Expected a Int32Array for batch.lengths");
  const size_t count = sequences.IsUndefined() ? size_t(in.batch) : lengths_value.As<Napi::Int32Array>().ElementLength();
  if (count < 1 || count > (size_t(1) << 24)) throw_range(env, "Expected batch.lengths to hold 1 to 2^24 values");
  in.count = int(count);
  in.lengths = expect_typed_array<Napi::Int32Array>(lengths_value, napi_int32_array, "Int32Array", "batch.lengths", count).Data();
  if (!sequences.IsUndefined())
    in.sequences = expect_typed_array<Napi::Int32Array>(sequences, napi_int32_array, "Int32Array", "batch.sequences", size_t(in.batch)).Data();
  const size_t cells = count * size_t(in.steps);
  if (cells > (size_t(1) << 31)) throw_range(env, "batch.lengths.length * batch.steps is too large");
  if (config.input == rnn::InputType::kDense) {
    const size_t n = cells * size_t(config.features);
    if (n > (size_t(1) << 34)) throw_range(env, "batch.dense is too large");
    in.dense = expect_typed_array<Napi::Float32Array>(values, napi_float32_array, "Float32Array", "batch.dense", n).Data();
  } else {
    in.tokens = expect_typed_array<Napi::Int32Array>(values, napi_int32_array, "Int32Array", "batch.tokens", cells).Data();
  }
  // The core checks every length, member index and token id as it gathers (pack_batch).
  rnn::PackedInput<float> out;
  std::string err;
  try {
    err = rnn::pack_batch(in, config, out);
  } catch (const std::bad_alloc&) {
    err = "the batch is too large to allocate";
  }
  if (!err.empty()) throw_range(env, "Invalid batch: " + err);
  return out;
}

std::vector<int32_t> read_labels(const Napi::Value& value, int batch, int classes) {
  Napi::Int32Array labels = expect_typed_array<Napi::Int32Array>(
      value, napi_int32_array, "Int32Array", "labels", size_t(batch));
  // Values are checked where they index memory: by the core (check_labels), for every caller.
  (void)classes;
  return std::vector<int32_t>(labels.Data(), labels.Data() + batch);
}

std::vector<float> read_class_weights(const Napi::Value& value, int classes) {
  if (value.IsNull() || value.IsUndefined()) return {};
  Napi::Float32Array w = expect_typed_array<Napi::Float32Array>(
      value, napi_float32_array, "Float32Array", "classWeights", size_t(classes));
  std::vector<float> out(w.Data(), w.Data() + classes);
  for (float x : out)
    if (!(x >= 0 && std::isfinite(x)))
      throw_range(value.Env(), "Expected classWeights to be finite and non-negative");
  return out;
}

rnn::ModelConfig read_model_config(const Napi::Value& value) {
  Napi::Env env = value.Env();
  Napi::Object o = expect_object(value, "config");
  rnn::ModelConfig c;
  const std::string input = read_string(o, "input");
  if (input == "dense") {
    c.input = rnn::InputType::kDense;
    c.features = int(read_integer(o.Get("features"), "features", 1, rnn::kMaxFeatures));
  } else if (input == "tokens") {
    c.input = rnn::InputType::kTokens;
    c.vocab_size = int(read_integer(o.Get("vocabSize"), "vocabSize", 1, rnn::kMaxVocab));
    c.embedding_dim = int(read_integer(o.Get("embeddingDim"), "embeddingDim", 1, rnn::kMaxUnits));
    const std::string embedding_init = read_optional_string(o, "embeddingInitializer", "uniform");
    if (embedding_init == "uniform") c.embedding_init = rnn::EmbeddingInit::kUniform;
    else if (embedding_init == "normal") c.embedding_init = rnn::EmbeddingInit::kNormal;
    else bad_choice(env, "embeddingInitializer", embedding_init, "'uniform', 'normal'");
  } else {
    bad_choice(env, "input", input, "'dense', 'tokens'");
  }
  Napi::Value layers_value = o.Get("layers");
  if (!layers_value.IsArray()) throw_type(env, "Expected an array for layers");
  Napi::Array layers = layers_value.As<Napi::Array>();
  if (layers.Length() < 1 || layers.Length() > uint32_t(rnn::kMaxLayers))
    throw_range(env, "Expected 1 to 64 layers");
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    Napi::Object lo = expect_object(layers.Get(i), "layers[i]");
    rnn::LayerConfig l;
    const std::string cell = read_string(lo, "cell");
    const rnn::CellSpec* spec = rnn::find_cell(cell);
    if (!spec) bad_choice(env, "cell", cell, cell_choices().c_str());
    l.cell = spec->type;
    l.units = int(read_integer(lo.Get("units"), "units", 1, rnn::kMaxUnits));
    l.bidirectional = read_bool(lo, "bidirectional", false);
    const std::string merge = read_optional_string(lo, "mergeMode", "concat");
    if (merge == "concat") l.merge_mode = rnn::MergeMode::kConcat;
    else if (merge == "sum") l.merge_mode = rnn::MergeMode::kSum;
    else if (merge == "ave") l.merge_mode = rnn::MergeMode::kAve;
    else if (merge == "mul") l.merge_mode = rnn::MergeMode::kMul;
    else bad_choice(env, "mergeMode", merge, "'concat', 'sum', 'ave', 'mul'");
    const std::string act = read_string(lo, "activation");
    if (act == "tanh") l.activation = rnn::Activation::kTanh;
    else if (act == "relu") l.activation = rnn::Activation::kRelu;
    else bad_choice(env, "activation", act, "'tanh', 'relu'");
    const std::string rec = read_string(lo, "recurrentActivation");
    if (rec == "sigmoid") l.recurrent_activation = rnn::RecurrentActivation::kSigmoid;
    else if (rec == "hardSigmoid") l.recurrent_activation = rnn::RecurrentActivation::kHardSigmoid;
    else bad_choice(env, "recurrentActivation", rec, "'sigmoid', 'hardSigmoid'");
    l.reset_after = read_bool(lo, "resetAfter", true);
    l.unit_forget_bias = read_bool(lo, "unitForgetBias", true);
    l.dropout = read_number(lo.Get("dropout"), "dropout");
    // Initialisers are optional here (the TypeScript config always sends them): absent means
    // Keras's, the core's own default.
    const std::string kernel_init = read_optional_string(lo, "kernelInitializer", "glorotUniform");
    if (kernel_init == "glorotUniform") l.kernel_init = rnn::KernelInit::kGlorotUniform;
    else if (kernel_init == "torchUniform") l.kernel_init = rnn::KernelInit::kTorchUniform;
    else bad_choice(env, "kernelInitializer", kernel_init, "'glorotUniform', 'torchUniform'");
    const std::string recurrent_init = read_optional_string(lo, "recurrentInitializer", "orthogonal");
    if (recurrent_init == "orthogonal") l.recurrent_init = rnn::RecurrentInit::kOrthogonal;
    else if (recurrent_init == "torchUniform") l.recurrent_init = rnn::RecurrentInit::kTorchUniform;
    else bad_choice(env, "recurrentInitializer", recurrent_init, "'orthogonal', 'torchUniform'");
    const std::string bias_init = read_optional_string(lo, "biasInitializer", "zeros");
    if (bias_init == "zeros") l.bias_init = rnn::BiasInit::kZeros;
    else if (bias_init == "torchUniform") l.bias_init = rnn::BiasInit::kTorchUniform;
    else bad_choice(env, "biasInitializer", bias_init, "'zeros', 'torchUniform'");
    c.layers.push_back(l);
  }
  const std::string pooling = read_string(o, "pooling");
  if (pooling == "last") c.pooling = rnn::Pooling::kLast;
  else if (pooling == "mean") c.pooling = rnn::Pooling::kMean;
  else if (pooling == "max") c.pooling = rnn::Pooling::kMax;
  else bad_choice(env, "pooling", pooling, "'last', 'mean', 'max'");
  c.classes = int(read_integer(o.Get("classes"), "classes", 2, rnn::kMaxClasses));
  const std::string precision = read_optional_string(o, "precision", "float32");
  if (precision == "float32") c.precision = rnn::Precision::kFloat32;
  else if (precision == "int8") c.precision = rnn::Precision::kInt8;
  else if (precision == "bf16") c.precision = rnn::Precision::kBf16;
  else bad_choice(env, "precision", precision, "'float32', 'int8', 'bf16'");
  for (rnn::LayerConfig& l : c.layers) l.precision = c.precision;
  const std::string err = rnn::validate_config(c);
  if (!err.empty()) throw_range(env, err);
  return c;
}

rnn::OptimizerConfig read_optimizer_config(const Napi::Value& value) {
  Napi::Env env = value.Env();
  Napi::Object o = expect_object(value, "optimizer");
  rnn::OptimizerConfig c;
  const std::string type = read_string(o, "type");
  if (type == "sgd") c.type = rnn::OptimizerType::kSgd;
  else if (type == "adam") c.type = rnn::OptimizerType::kAdam;
  else if (type == "adamw") c.type = rnn::OptimizerType::kAdamW;
  else if (type == "rmsprop") c.type = rnn::OptimizerType::kRmsprop;
  else bad_choice(env, "optimizer.type", type, "'sgd', 'adam', 'adamw', 'rmsprop'");
  auto number = [&](const char* key, double& out) {
    Napi::Value v = o.Get(key);
    if (!v.IsUndefined()) out = read_number(v, key);
  };
  number("momentum", c.momentum);
  number("beta1", c.beta1);
  number("beta2", c.beta2);
  number("rho", c.rho);
  number("epsilon", c.epsilon);
  number("weightDecay", c.weight_decay);
  number("clipNorm", c.clip_norm);
  c.nesterov = read_bool(o, "nesterov", false);
  const std::string err = rnn::validate_optimizer(c);
  if (!err.empty()) throw_range(env, "optimizer: " + err);
  return c;
}

}  // namespace rnn_binding
