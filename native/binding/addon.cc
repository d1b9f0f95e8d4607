// Module entry: the NativeModel class and process-wide settings.
#include <napi.h>

#include <Eigen/Core>

#include "arguments.h"
#include "environment.h"
#include "cells.h"
#include "packed_gemm.h"
#include "native_model.h"

#ifdef _OPENMP
#include <omp.h>
#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#define RNN_HAVE_DLADDR 1
#endif
#endif

namespace rnn_binding {

namespace {

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  environment(info.Env()).default_threads = int(read_integer(info[0], "threads", 1, 1024));
  return info.Env().Undefined();
}

Napi::Value get_num_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), environment(info.Env()).default_threads);
}

// Which OpenMP runtime file the dynamic linker actually bound: the prebuilt binaries carry
// their own libgomp beside them, and this is how a user (and the install test) can tell.
std::string openmp_library() {
#if defined(_OPENMP) && defined(RNN_HAVE_DLADDR)
  Dl_info found{};
  if (dladdr(reinterpret_cast<void*>(&omp_get_max_threads), &found) != 0 && found.dli_fname != nullptr) {
    return found.dli_fname;
  }
#endif
  return "";
}

// The vector instruction sets this binary was compiled to use (Eigen's own summary string
// says "AVX" for AVX2+FMA builds too).
std::string simd_in_use() {
  std::string out;
  auto add = [&out](const char* name) { out += out.empty() ? name : std::string(", ") + name; };
#ifdef __AVX512F__
  add("AVX-512");
#endif
#ifdef __FMA__
  add("FMA");
#endif
#ifdef __AVX2__
  add("AVX2");
#endif
#ifdef __AVX__
  add("AVX");
#endif
#ifdef __SSE4_2__
  add("SSE4.2");
#endif
#ifdef __SSE2__
  add("SSE2");
#endif
#ifdef __ARM_NEON
  add("NEON");
#endif
  return out.empty() ? "none" : out;
}

Napi::Value build_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
#ifdef _OPENMP
  out.Set("openmp", true);
  out.Set("openmpVersion", double(_OPENMP));
  out.Set("maxThreads", omp_get_num_procs());
  out.Set("openmpLibrary", openmp_library());
#else
  out.Set("openmp", false);
  out.Set("maxThreads", 1);
#endif
  out.Set("eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                       "." + std::to_string(EIGEN_MINOR_VERSION));
  out.Set("simd", simd_in_use());
  // The kernels int8 and bf16 models run on here (chosen by CPUID at run time).
  out.Set("int8Kernel", rnn::int8_kernel_name());
  out.Set("bf16Kernel", rnn::bf16_kernel_name());
#ifdef __VERSION__
  out.Set("compiler", __VERSION__);
#endif
#ifdef RNN_NODE_ISA
  out.Set("isa", RNN_NODE_ISA);
#else
  out.Set("isa", "native");
#endif
  // The cell table (cells.h), from which the TypeScript side checks its own: per kind its API
  // name, Keras weight-name prefix, gate names in block order (what model files record and
  // import/export map) and whether a reset_after layer has two bias rows. gateOrder is the
  // gate names alone, keyed by name.
  Napi::Array cells = Napi::Array::New(env, rnn::kCellCount);
  Napi::Object order = Napi::Object::New(env);
  auto gate_list = [&env](const rnn::CellSpec& spec) {
    Napi::Array gates = Napi::Array::New(env, spec.gates.count);
    for (int i = 0; i < spec.gates.count; ++i) gates.Set(uint32_t(i), spec.gates.names[i]);
    return gates;
  };
  for (int c = 0; c < rnn::kCellCount; ++c) {
    const rnn::CellSpec& spec = rnn::kCells[c];
    const std::string name(spec.name);
    Napi::Object cell = Napi::Object::New(env);
    cell.Set("type", name);
    cell.Set("weightPrefix", std::string(spec.weight_prefix));
    cell.Set("gates", gate_list(spec));
    cell.Set("twoBiasesWhenResetAfter", spec.two_biases_when_reset_after);
    cell.Set("cellState", spec.cell_state);
    cells.Set(uint32_t(c), cell);
    order.Set(name, gate_list(spec));
  }
  out.Set("gateOrder", order);
  out.Set("cells", cells);
  return out;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new EnvironmentData());  // deleted by Node when this environment ends
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
