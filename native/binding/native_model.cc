#include "native_model.h"

#include <cstring>

#include "arguments.h"
#include "environment.h"
#include "errors.h"
#include "jobs.h"
#include "parallel.h"
#include "stream.h"

namespace rnn_binding {

namespace {

constexpr int64_t kMaxSeed = (int64_t(1) << 53) - 1;
constexpr int kMaxThreads = 1024;

}  // namespace

int resolve_threads(Napi::Env env, int requested) {
  return requested > 0 ? requested : environment(env).default_threads;
}

// A handful of sequences is too little work to split: waking a second thread costs more
// than it saves, so small predictions (the latency path) run on the calling thread.
int threads_for_batch(int threads, int batch) { return batch < 16 ? 1 : threads; }

Napi::Function NativeModel::define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceMethod("paramCount", &NativeModel::param_count),
                         InstanceMethod("tensors", &NativeModel::tensors),
                         InstanceMethod("initialize", &NativeModel::initialize),
                         InstanceMethod("getParams", &NativeModel::get_params),
                         InstanceMethod("setParams", &NativeModel::set_params),
                         InstanceMethod("setOptimizer", &NativeModel::set_optimizer),
                         InstanceMethod("getOptimizerState", &NativeModel::get_optimizer_state),
                         InstanceMethod("setOptimizerState", &NativeModel::set_optimizer_state),
                         InstanceMethod("trainStep", &NativeModel::train_step),
                         InstanceMethod("gradients", &NativeModel::gradients),
                         InstanceMethod("predict", &NativeModel::predict),
                         InstanceMethod("predictSync", &NativeModel::predict_sync),
                         InstanceMethod("streamInfo", &NativeModel::stream_info),
                         InstanceMethod("stream", &NativeModel::stream),
                         InstanceMethod("dispose", &NativeModel::dispose),
                         InstanceAccessor("disposed", &NativeModel::is_disposed, nullptr),
                     });
}

NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  const rnn::ModelConfig config = read_model_config(info[0]);
  try {
    model_ = std::make_shared<rnn::Model>(config);
  } catch (const std::bad_alloc&) {
    throw make_error(info.Env(), ErrorKind::kRange, kOutOfRange, "The model is too large to allocate");
  }
}

std::shared_ptr<rnn::Model> NativeModel::live(Napi::Env env) const {
  if (!model_) throw make_error(env, ErrorKind::kPlain, kDisposed, "The model has been disposed");
  return model_;
}

void NativeModel::ensure_idle(Napi::Env env, bool exclusive, const char* what) const {
  if (training_ || (exclusive && predictions_ > 0))
    throw make_error(env, ErrorKind::kPlain, kBusy,
                     std::string("Cannot ") + what + " while " +
                         (training_ ? "a training step" : "a prediction") + " is running");
}

Napi::Value NativeModel::param_count(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(live(info.Env())->param_count()));
}

Napi::Value NativeModel::tensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const rnn::ParamLayout& layout = live(env)->network().layout();
  Napi::Array out = Napi::Array::New(env, layout.tensors.size());
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const rnn::TensorSlot& s = layout.tensors[i];
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", s.name);
    Napi::Array shape = Napi::Array::New(env, s.shape.size());
    for (size_t d = 0; d < s.shape.size(); ++d) shape.Set(uint32_t(d), double(s.shape[d]));
    t.Set("shape", shape);
    t.Set("offset", double(s.offset));
    t.Set("size", double(s.size));
    out.Set(uint32_t(i), t);
  }
  return out;
}

Napi::Value NativeModel::initialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, true, "initialize the weights");
  model->initialize(uint64_t(read_integer(info[0], "seed", 0, kMaxSeed)));
  return env.Undefined();
}

Napi::Value NativeModel::get_params(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, false, "read the weights");
  Napi::Float32Array out = Napi::Float32Array::New(env, size_t(model->param_count()));
  model->copy_params(out.Data());
  return out;
}

Napi::Value NativeModel::set_params(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, true, "set the weights");
  model->set_params(read_float32_array(info[0], "params", size_t(model->param_count())).Data());
  return env.Undefined();
}

Napi::Value NativeModel::set_optimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, true, "change the optimizer");
  model->set_optimizer(read_optimizer_config(info[0]));
  return env.Undefined();
}

// getOptimizerState() -> {steps, moments: Float32Array [2 * paramCount]}
Napi::Value NativeModel::get_optimizer_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, false, "read the optimizer state");  // predictions never touch it
  Napi::Float32Array moments = Napi::Float32Array::New(env, size_t(2 * model->param_count()));
  model->copy_optimizer_state(moments.Data());
  Napi::Object out = Napi::Object::New(env);
  out.Set("steps", double(model->optimizer_steps()));
  out.Set("moments", moments);
  return out;
}

// setOptimizerState(steps, moments): after setOptimizer(), to resume training.
Napi::Value NativeModel::set_optimizer_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, true, "set the optimizer state");
  const long steps = long(read_integer(info[0], "steps", 0, kMaxSeed));
  model->set_optimizer_state(steps, read_float32_array(info[1], "moments", size_t(2 * model->param_count())).Data());
  return env.Undefined();
}

// trainStep(batch, labels, classWeights | null, learningRate, seed, threads) -> Promise
Napi::Value NativeModel::train_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, true, "start a training step");
  const rnn::ModelConfig& config = model->network().config();
  rnn::PackedInput<float> batch = read_batch(info[0], config);
  std::vector<int32_t> labels = read_labels(info[1], batch.layout.batch, config.classes);
  std::vector<float> weights = read_class_weights(info[2], config.classes);
  const double lr = read_number(info[3], "learningRate");
  if (lr < 0) throw_range(env, "Expected learningRate >= 0");
  const uint64_t seed = uint64_t(read_integer(info[4], "seed", 0, kMaxSeed));
  const int threads = resolve_threads(info.Env(), int(read_integer(info[5], "threads", 0, kMaxThreads)));
  auto* job = new TrainStepJob(Value(), this, model, threads, std::move(batch), std::move(labels),
                               std::move(weights), lr, seed);
  training_ = true;
  job->Queue();
  return job->promise();
}

// gradients(batch, labels, classWeights | null, threads) -> {loss, grads}; synchronous,
// evaluation mode (no dropout), weights unchanged.
Napi::Value NativeModel::gradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, true, "compute gradients");
  const rnn::ModelConfig& config = model->network().config();
  rnn::PackedInput<float> batch = read_batch(info[0], config);
  std::vector<int32_t> labels = read_labels(info[1], batch.layout.batch, config.classes);
  std::vector<float> weights = read_class_weights(info[2], config.classes);
  rnn::use_threads(resolve_threads(info.Env(), int(read_integer(info[3], "threads", 0, kMaxThreads))));
  Napi::Float32Array grads = Napi::Float32Array::New(env, size_t(model->param_count()));
  double loss = 0;
  const std::string err = model->gradients(batch, labels.data(),
                                           weights.empty() ? nullptr : weights.data(), grads.Data(), &loss);
  if (!err.empty()) throw_range(env, err);
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", loss);
  out.Set("grads", grads);
  return out;
}

// predict(batch, threads) -> Promise<Float32Array [batch * classes]>
Napi::Value NativeModel::predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, false, "predict");
  rnn::PackedInput<float> batch = read_batch(info[0], model->network().config());
  const int threads = threads_for_batch(resolve_threads(info.Env(), int(read_integer(info[1], "threads", 0, kMaxThreads))), batch.layout.batch);
  auto* job = new PredictJob(Value(), this, model, threads, std::move(batch));
  ++predictions_;
  job->Queue();
  return job->promise();
}

Napi::Value NativeModel::predict_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, false, "predict");
  rnn::PackedInput<float> batch = read_batch(info[0], model->network().config());
  rnn::use_threads(threads_for_batch(resolve_threads(info.Env(), int(read_integer(info[1], "threads", 0, kMaxThreads))), batch.layout.batch));
  Napi::Float32Array out =
      Napi::Float32Array::New(env, size_t(batch.layout.batch) * model->network().config().classes);
  const std::string err = model->predict(batch, out.Data());
  if (!err.empty()) throw_range(env, err);
  return out;
}

// streamInfo() -> {width, unsupported: string | null}: floats of carried state per stream
// row (stream.h), and why the model cannot stream, if it cannot.
Napi::Value NativeModel::stream_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const rnn::ModelConfig& config = live(env)->network().config();
  Napi::Object out = Napi::Object::New(env);
  out.Set("width", double(rnn::stream_state_layout(config).width));
  const std::string why = rnn::stream_unsupported(config);
  out.Set("unsupported", why.empty() ? env.Null() : Napi::String::New(env, why));
  return out;
}

// stream(batch, statePages: Float32Array[], slots: Int32Array [batch], priorSteps: Int32Array
// [batch], everyStep, threads) -> Promise<Float32Array>: probabilities [batch * classes], or
// [batch * batch.steps * classes] after every step. Row i's state is row slots[i] of the
// pages (state_pages.h): read now, and the state after the chunk written back as the promise
// settles.
Napi::Value NativeModel::stream(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  ensure_idle(env, false, "stream");
  const rnn::ModelConfig& config = model->network().config();
  const std::string why = rnn::stream_unsupported(config);
  if (!why.empty()) throw_range(env, "This model cannot stream: " + why);
  rnn::PackedInput<float> batch = read_batch(info[0], config);
  const size_t rows = size_t(batch.layout.batch);
  std::vector<float> states;
  auto pages = std::make_unique<StatePages>(info[1], info[2], rows, size_t(rnn::stream_state_layout(config).width), states);
  std::vector<int32_t> prior = read_int32_array(info[3], "priorSteps", rows);
  if (!info[4].IsBoolean()) throw_type(env, "Expected everyStep to be a boolean");
  const bool every_step = info[4].As<Napi::Boolean>().Value();
  const int threads = threads_for_batch(resolve_threads(env, int(read_integer(info[5], "threads", 0, kMaxThreads))), int(rows));
  auto* job = new StreamJob(Value(), this, model, threads, std::move(batch), std::move(pages), std::move(states),
                            std::move(prior), every_step);
  ++predictions_;
  job->Queue();
  return job->promise();
}

Napi::Value NativeModel::dispose(const Napi::CallbackInfo& info) {
  model_.reset();  // running jobs hold their own reference; memory goes with the last one
  return info.Env().Undefined();
}

Napi::Value NativeModel::is_disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !model_);
}

}  // namespace rnn_binding
