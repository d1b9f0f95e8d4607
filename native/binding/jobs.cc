#include "jobs.h"

#include <cstring>
#include <exception>

#include "errors.h"
#include "native_model.h"
#include "parallel.h"

namespace rnn_binding {

void ModelJob::Execute() {
  try {
    rnn::use_threads(threads_);
    const std::string err = run();
    if (!err.empty()) SetError(err);
  } catch (const std::bad_alloc&) {
    SetError("out of memory");
  } catch (const std::exception& e) {
    SetError(e.what());
  }
}

// A job can finish while its environment is being torn down (a Worker terminated, the
// process exiting): JavaScript can no longer run, so settling the promise throws. Nobody is
// left to await it; letting the exception escape would abort the whole process.
void ModelJob::OnOK() {
  settle();
  Napi::Value value;
  try {
    value = result(Env());
  } catch (const Napi::Error& error) {
    // A result that cannot be delivered (StreamJob: its state pages changed) rejects.
    try {
      deferred_.Reject(error.Value());
    } catch (const Napi::Error&) {
    }
    return;
  }
  try {
    deferred_.Resolve(value);
  } catch (const Napi::Error&) {
  }
}

void ModelJob::OnError(const Napi::Error& error) {
  settle();
  // Inputs were checked before the job started, so what fails here is a value the core
  // rejected (a length, an id) or memory.
  try {
    deferred_.Reject(make_error(Env(), ErrorKind::kRange, kNative, error.Message()).Value());
  } catch (const Napi::Error&) {
  }
}

// node-addon-api's completion opens a handle scope and, for a failed job, builds the Error
// before OnError runs: in an environment being torn down either can throw, outside the
// guards above (seen as a SIGABRT when a Worker was terminated mid-training). Nothing can be
// settled then; the exception must not reach std::terminate.
void ModelJob::OnWorkComplete(Napi::Env env, napi_status status) {
  try {
    Napi::AsyncWorker::OnWorkComplete(env, status);
  } catch (...) {
  }
}

std::string TrainStepJob::run() {
  return model_->train_step(batch_, labels_.data(),
                            class_weights_.empty() ? nullptr : class_weights_.data(),
                            learning_rate_, seed_, &step_);
}

Napi::Value TrainStepJob::result(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", step_.loss);
  out.Set("correct", double(step_.correct));
  out.Set("gradNorm", step_.grad_norm);
  return out;
}

void TrainStepJob::settle() { handle_->training_finished(); }

std::string PredictJob::run() {
  probabilities_.resize(size_t(batch_.layout.batch) * model_->network().config().classes);
  return model_->predict(batch_, probabilities_.data());
}

Napi::Value PredictJob::result(Napi::Env env) {
  Napi::Float32Array out = Napi::Float32Array::New(env, probabilities_.size());
  std::memcpy(out.Data(), probabilities_.data(), probabilities_.size() * sizeof(float));
  return out;
}

void PredictJob::settle() { handle_->prediction_finished(); }

std::string StreamJob::run() {
  const long rows = every_step_ ? long(batch_.layout.batch) * batch_.layout.steps : batch_.layout.batch;
  probabilities_.assign(size_t(rows) * model_->network().config().classes, 0.0f);
  return model_->stream(batch_, states_.data(), prior_steps_.data(), every_step_, probabilities_.data());
}

Napi::Value StreamJob::result(Napi::Env env) {
  pages_->write_back(env, states_);  // throws (the call rejects) if the pages changed meanwhile
  Napi::Float32Array probs = Napi::Float32Array::New(env, probabilities_.size());
  std::memcpy(probs.Data(), probabilities_.data(), probabilities_.size() * sizeof(float));
  return probs;
}

void StreamJob::settle() { handle_->prediction_finished(); }

}  // namespace rnn_binding
