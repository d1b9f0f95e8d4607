// Module entry: the NativeModel class and process-wide settings.
#include <napi.h>

#include <Eigen/Core>

#include "arguments.h"
#include "native_model.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rnn_binding {

namespace {

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  set_default_threads(int(read_integer(info[0], "threads", 1, 1024)));
  return info.Env().Undefined();
}

Napi::Value get_num_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), default_threads());
}

Napi::Value build_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
#ifdef _OPENMP
  out.Set("openmp", true);
  out.Set("openmpVersion", double(_OPENMP));
  out.Set("maxThreads", omp_get_num_procs());
#else
  out.Set("openmp", false);
  out.Set("maxThreads", 1);
#endif
  out.Set("eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                       "." + std::to_string(EIGEN_MINOR_VERSION));
  out.Set("simd", Eigen::SimdInstructionSetsInUse());
#ifdef RNN_NODE_ISA
  out.Set("isa", RNN_NODE_ISA);
#else
  out.Set("isa", "native");
#endif
  return out;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", NativeModel::define(env));
  exports.Set("setNumThreads", Napi::Function::New(env, set_num_threads));
  exports.Set("getNumThreads", Napi::Function::New(env, get_num_threads));
  exports.Set("buildInfo", Napi::Function::New(env, build_info));
  return exports;
}

}  // namespace

}  // namespace rnn_binding

static Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  return rnn_binding::init(env, exports);
}

NODE_API_MODULE(rnn_node, init_module)
