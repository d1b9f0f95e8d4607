#include "arguments.h"

#include <cmath>
#include <cstring>

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

rnn::BatchInput<float> OwnedBatch::view() const {
  rnn::BatchInput<float> in;
  in.batch = batch;
  in.steps = steps;
  in.dense = dense.empty() ? nullptr : dense.data();
  in.tokens = tokens.empty() ? nullptr : tokens.data();
  in.lengths = lengths.data();
  return in;
}

OwnedBatch read_batch(const Napi::Value& value, const rnn::ModelConfig& config) {
  Napi::Object o = expect_object(value, "batch");
  OwnedBatch b;
  b.batch = int(read_integer(o.Get("batch"), "batch.batch", 1, 1 << 24));
  b.steps = int(read_integer(o.Get("steps"), "batch.steps", 1, 1 << 24));
  const size_t cells = size_t(b.batch) * size_t(b.steps);
  if (cells > (size_t(1) << 31)) throw_range(o.Env(), "batch.batch * batch.steps is too large");
  Napi::Int32Array lengths = expect_typed_array<Napi::Int32Array>(
      o.Get("lengths"), napi_int32_array, "Int32Array", "batch.lengths", size_t(b.batch));
  b.lengths.assign(lengths.Data(), lengths.Data() + b.batch);
  for (int i = 0; i < b.batch; ++i)
    if (b.lengths[i] < 1 || b.lengths[i] > b.steps)
      throw_range(o.Env(), "Expected batch.lengths[" + std::to_string(i) + "] in [1, " +
                               std::to_string(b.steps) + "], got " + std::to_string(b.lengths[i]));
  if (config.input == rnn::InputType::kDense) {
    const size_t n = cells * size_t(config.features);
    if (n > (size_t(1) << 34)) throw_range(o.Env(), "batch.dense is too large");
    Napi::Float32Array dense = expect_typed_array<Napi::Float32Array>(
        o.Get("dense"), napi_float32_array, "Float32Array", "batch.dense", n);
    b.dense.assign(dense.Data(), dense.Data() + n);
  } else {
    Napi::Int32Array tokens = expect_typed_array<Napi::Int32Array>(
        o.Get("tokens"), napi_int32_array, "Int32Array", "batch.tokens", cells);
    b.tokens.assign(tokens.Data(), tokens.Data() + cells);
    for (int s = 0; s < b.batch; ++s)
      for (int t = 0; t < b.lengths[s]; ++t) {
        const int32_t id = b.tokens[size_t(s) * b.steps + t];
        if (id < 0 || id >= config.vocab_size)
          throw_range(o.Env(), "Expected token ids in [0, " + std::to_string(config.vocab_size) +
                                   "), got " + std::to_string(id) + " at sequence " +
                                   std::to_string(s) + ", step " + std::to_string(t));
      }
  }
  return b;
}

std::vector<int32_t> read_labels(const Napi::Value& value, int batch, int classes) {
  Napi::Int32Array labels = expect_typed_array<Napi::Int32Array>(
      value, napi_int32_array, "Int32Array", "labels", size_t(batch));
  std::vector<int32_t> out(labels.Data(), labels.Data() + batch);
  for (int i = 0; i < batch; ++i)
    if (out[i] < 0 || out[i] >= classes)
      throw_range(value.Env(), "Expected labels[" + std::to_string(i) + "] in [0, " +
                                   std::to_string(classes) + "), got " + std::to_string(out[i]));
  return out;
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
    if (cell == "rnn") l.cell = rnn::CellType::kRnn;
    else if (cell == "lstm") l.cell = rnn::CellType::kLstm;
    else if (cell == "gru") l.cell = rnn::CellType::kGru;
    else bad_choice(env, "cell", cell, "'rnn', 'lstm', 'gru'");
    l.units = int(read_integer(lo.Get("units"), "units", 1, rnn::kMaxUnits));
    l.bidirectional = read_bool(lo, "bidirectional", false);
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
