// `NativeModel`: the JavaScript handle of one rnn::Model. It owns the model through a
// shared_ptr that every running job copies, so dispose() can drop the handle at once while
// a job finishes on its own copy. Busy state (a training step running, predictions running)
// is only touched on the JavaScript thread.
#pragma once

#include <napi.h>

#include <memory>

#include "model.h"

namespace rnn_binding {

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit NativeModel(const Napi::CallbackInfo& info);

  // Called by jobs on the JavaScript thread when they settle.
  void training_finished() { training_ = false; }
  void prediction_finished() { --predictions_; }

 private:
  Napi::Value param_count(const Napi::CallbackInfo& info);
  Napi::Value tensors(const Napi::CallbackInfo& info);
  Napi::Value initialize(const Napi::CallbackInfo& info);
  Napi::Value get_params(const Napi::CallbackInfo& info);
  Napi::Value set_params(const Napi::CallbackInfo& info);
  Napi::Value set_optimizer(const Napi::CallbackInfo& info);
  Napi::Value get_optimizer_state(const Napi::CallbackInfo& info);
  Napi::Value set_optimizer_state(const Napi::CallbackInfo& info);
  Napi::Value train_step(const Napi::CallbackInfo& info);
  Napi::Value gradients(const Napi::CallbackInfo& info);
  Napi::Value predict(const Napi::CallbackInfo& info);
  Napi::Value predict_sync(const Napi::CallbackInfo& info);
  Napi::Value stream_info(const Napi::CallbackInfo& info);
  Napi::Value stream(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value is_disposed(const Napi::CallbackInfo& info);

  // The model, or a DisposedError.
  std::shared_ptr<rnn::Model> live(Napi::Env env) const;
  // Throws a BusyError when a training step runs (and, if `exclusive`, when predictions run).
  void ensure_idle(Napi::Env env, bool exclusive, const char* what) const;

  std::shared_ptr<rnn::Model> model_;
  bool training_ = false;
  int predictions_ = 0;
};

// Threads a call uses: `requested` when > 0, else this environment's default.
int resolve_threads(Napi::Env env, int requested);

}  // namespace rnn_binding
