// Long native work runs in these AsyncWorkers, off the JavaScript thread, each settling a
// promise. A job keeps its own reference to the model and to the JS handle (the worker's
// receiver), so neither can be freed while it runs.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "arguments.h"
#include "model.h"
#include "state_pages.h"

namespace rnn_binding {

class NativeModel;

class ModelJob : public Napi::AsyncWorker {
 public:
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  ModelJob(Napi::Object owner, NativeModel* handle, std::shared_ptr<rnn::Model> model, int threads)
      : Napi::AsyncWorker(owner.Env(), "rnn-node"),
        deferred_(Napi::Promise::Deferred::New(owner.Env())), owner_(Napi::Persistent(owner)),
        handle_(handle), model_(std::move(model)), threads_(threads) {}

  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& error) final;
  void OnWorkComplete(Napi::Env env, napi_status status) final;

  virtual std::string run() = 0;                 // worker thread; returns an error or ""
  virtual Napi::Value result(Napi::Env env) = 0;  // JavaScript thread
  virtual void settle() = 0;                      // JavaScript thread: clear busy state

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;  // keeps the JS handle (and so handle_) alive
  NativeModel* handle_;
  std::shared_ptr<rnn::Model> model_;
  int threads_;
};

class TrainStepJob final : public ModelJob {
 public:
  TrainStepJob(Napi::Object owner, NativeModel* handle, std::shared_ptr<rnn::Model> model,
               int threads, rnn::PackedInput<float> batch, std::vector<int32_t> labels,
               std::vector<float> class_weights, double learning_rate, uint64_t seed)
      : ModelJob(owner, handle, std::move(model), threads), batch_(std::move(batch)),
        labels_(std::move(labels)), class_weights_(std::move(class_weights)),
        learning_rate_(learning_rate), seed_(seed) {}

 private:
  std::string run() override;
  Napi::Value result(Napi::Env env) override;
  void settle() override;

  rnn::PackedInput<float> batch_;
  std::vector<int32_t> labels_;
  std::vector<float> class_weights_;
  double learning_rate_;
  uint64_t seed_;
  rnn::StepResult step_;
};

class PredictJob final : public ModelJob {
 public:
  PredictJob(Napi::Object owner, NativeModel* handle, std::shared_ptr<rnn::Model> model,
             int threads, rnn::PackedInput<float> batch)
      : ModelJob(owner, handle, std::move(model), threads), batch_(std::move(batch)) {}

 private:
  std::string run() override;
  Napi::Value result(Napi::Env env) override;
  void settle() override;

  rnn::PackedInput<float> batch_;
  std::vector<float> probabilities_;
};

// One chunk of many streams (Model::stream): their states are copied in from their pages
// when the job is made, and the new ones written back into the same rows as it settles.
class StreamJob final : public ModelJob {
 public:
  StreamJob(Napi::Object owner, NativeModel* handle, std::shared_ptr<rnn::Model> model, int threads,
            rnn::PackedInput<float> batch, std::unique_ptr<StatePages> pages, std::vector<float> states,
            std::vector<int32_t> prior_steps, bool every_step)
      : ModelJob(owner, handle, std::move(model), threads), batch_(std::move(batch)),
        pages_(std::move(pages)), states_(std::move(states)), prior_steps_(std::move(prior_steps)),
        every_step_(every_step) {}

 private:
  std::string run() override;
  Napi::Value result(Napi::Env env) override;
  void settle() override;

  rnn::PackedInput<float> batch_;
  std::unique_ptr<StatePages> pages_;
  std::vector<float> states_;
  std::vector<int32_t> prior_steps_;
  bool every_step_;
  std::vector<float> probabilities_;
};

}  // namespace rnn_binding
