// Standalone benchmark of the native core (no Node): training throughput, inference
// throughput and single-sequence latency for one model shape, at a given thread count.
//
//   bench [--cell lstm|gru|rnn] [--units 128] [--steps 28] [--features 28] [--classes 10]
//         [--batch 128] [--infer-batch 1024] [--threads N] [--seconds 3] [--json]
//         [--only train|infer|throughput]   (profiling one phase; the others report 0)
//         [--precision float32|int8|bf16]   (int8/bf16: inference only, as quantize() makes)
//   bench --gemm-peak [--threads N] [--seconds 3] [--json]
//   bench --kernels   (the int8 and bf16 kernels this build runs here, after
//                      RNN_NODE_LOW_PRECISION_KERNEL: bench/int8-profile.mjs asks)
//
// --gemm-peak measures the fp32 GEMM rate of the packed micro-kernels themselves (the best
// over a few large shapes): the ceiling the recurrent products can reach on this machine.
//
// Built by CMake beside the tests; it needs no Node, so it can be carried to another
// machine (with its OpenMP runtime) to measure thread scaling.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "model.h"
#include "packed_gemm.h"
#include "parallel.h"
#include "rng.h"

using namespace rnn;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string cell = "lstm";
  int units = 128, steps = 28, features = 28, classes = 10, batch = 128, infer_batch = 1024;
  int threads = 0;
  double seconds = 3;
  bool json = false;
  bool gemm_peak = false;
  std::string only;  // "train", "infer" or "throughput" (infer without latency): profiling
  Precision precision = Precision::kFloat32;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--cell") o.cell = next();
    else if (a == "--units") o.units = std::atoi(next());
    else if (a == "--steps") o.steps = std::atoi(next());
    else if (a == "--features") o.features = std::atoi(next());
    else if (a == "--classes") o.classes = std::atoi(next());
    else if (a == "--batch") o.batch = std::atoi(next());
    else if (a == "--infer-batch") o.infer_batch = std::atoi(next());
    else if (a == "--threads") o.threads = std::atoi(next());
    else if (a == "--seconds") o.seconds = std::atof(next());
    else if (a == "--json") o.json = true;
    else if (a == "--gemm-peak") o.gemm_peak = true;
    else if (a == "--kernels") {
      std::printf("int8 kernel: %s\nbf16 kernel: %s\n", int8_kernel_name(), bf16_kernel_name());
      std::exit(0);
    }
    else if (a == "--only") {
      o.only = next();
      if (o.only != "train" && o.only != "infer" && o.only != "throughput") {
        std::fprintf(stderr, "bench: --only must be train, infer or throughput, got %s\n", o.only.c_str());
        std::exit(2);
      }
    }
    else if (a == "--precision") {
      const std::string p = next();
      if (p == "float32") o.precision = Precision::kFloat32;
      else if (p == "int8") o.precision = Precision::kInt8;
      else if (p == "bf16") o.precision = Precision::kBf16;
      else {
        std::fprintf(stderr, "bench: --precision must be float32, int8 or bf16, got %s\n", p.c_str());
        std::exit(2);
      }
    }
    else {
      std::fprintf(stderr, "bench: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.only == "train" && o.precision != Precision::kFloat32) {
    std::fprintf(stderr, "bench: --only train needs --precision float32 (int8 and bf16 models are inference-only)\n");
    std::exit(2);
  }
  return o;
}

struct Batch {
  std::vector<float> x;
  std::vector<int32_t> lengths, labels;
  BatchInput<float> view(int batch, int steps) const {
    BatchInput<float> in;
    in.batch = batch;
    in.steps = steps;
    in.dense = x.data();
    in.lengths = lengths.data();
    return in;
  }
};

Batch make_batch(const Options& o, int batch, uint64_t seed) {
  Rng rng(seed);
  Batch b;
  b.x.resize(size_t(batch) * o.steps * o.features);
  for (float& v : b.x) v = float(rng.uniform());
  b.lengths.assign(batch, o.steps);
  for (int i = 0; i < batch; ++i) b.labels.push_back(int32_t(rng.next() % uint64_t(o.classes)));
  return b;
}

// Runs `step` repeatedly for about `seconds` (after one warm-up call); returns calls/second.
template <typename Step>
double rate(double seconds, Step&& step) {
  step();
  long calls = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    step();
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return calls / elapsed;
}

// C[m, n] = A[m, k] B[k, n] with B packed once, as the recurrent steps use it, over a few
// shapes whose B fits the core's L2 (so the kernel, not memory, sets the rate); reports the
// best shape's GFLOP/s (2mkn per product).
int gemm_peak(const Options& o, int threads) {
  struct Shape { Index m, k, n; };
  const Shape shapes[] = {{4096, 256, 512}, {4096, 512, 256}, {4096, 512, 512}, {4096, 256, 1024}};
  Rng rng(7);
  double best = 0;
  Shape best_shape{};
  for (const Shape& s : shapes) {
    std::vector<float> A(size_t(s.m * s.k)), B(size_t(s.k * s.n)), C(size_t(s.m * s.n));
    for (float& v : A) v = float(rng.uniform());
    for (float& v : B) v = float(rng.uniform());
    PackedMatrix<float> packed;
    packed.pack(B.data(), s.n, s.k, s.n, false);
    const double calls = rate(o.seconds / 4, [&] { packed.multiply(A.data(), s.k, s.m, C.data(), s.n, true); });
    const double gflops = calls * 2.0 * double(s.m) * double(s.k) * double(s.n) / 1e9;
    if (gflops > best) best = gflops, best_shape = s;
  }
  if (o.json) {
    std::printf("{\"threads\":%d,\"gemmGflops\":%.2f,\"m\":%ld,\"k\":%ld,\"n\":%ld,\"vectorized\":%s}\n", threads, best,
                long(best_shape.m), long(best_shape.k), long(best_shape.n), packed_gemm_vectorized() ? "true" : "false");
  } else {
    std::printf("packed fp32 GEMM, %d threads: %.1f GFLOP/s (best shape m=%ld k=%ld n=%ld)\n", threads, best,
                long(best_shape.m), long(best_shape.k), long(best_shape.n));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int threads = o.threads > 0 ? o.threads : max_threads();
  use_threads(threads);
  if (o.gemm_peak) return gemm_peak(o, threads);
  ModelConfig config;
  config.input = InputType::kDense;
  config.features = o.features;
  LayerConfig layer;
  layer.cell = o.cell == "gru" ? CellType::kGru : o.cell == "rnn" ? CellType::kRnn : CellType::kLstm;
  layer.units = o.units;
  config.layers = {layer};
  config.classes = o.classes;
  config.precision = o.precision;
  Model model(config);
  model.initialize(1);
  model.set_optimizer(OptimizerConfig{});
  const Batch train = make_batch(o, o.batch, 2), infer = make_batch(o, o.infer_batch, 3), one = make_batch(o, 1, 4);
  StepResult result;
  uint64_t seed = 0;
  // Each call gathers its batch into packed form first, as the addon does.
  PackedInput<float> packed;
  // Low-precision models are inference-only (train_step refuses them).
  const bool train_phase = (o.only.empty() || o.only == "train") && o.precision == Precision::kFloat32;
  const bool infer_phase = o.only != "train", latency_phase = infer_phase && o.only != "throughput";
  const double train_steps = !train_phase ? 0 : rate(o.seconds, [&] {
    pack_batch(train.view(o.batch, o.steps), config, packed);
    model.train_step(packed, train.labels.data(), nullptr, 1e-3, ++seed, &result);
  });
  std::vector<float> probs(size_t(o.infer_batch) * o.classes);
  const double infer_calls = !infer_phase ? 0 : rate(o.seconds, [&] {
    pack_batch(infer.view(o.infer_batch, o.steps), config, packed);
    model.predict(packed, probs.data());
  });
  const double single_calls = !latency_phase ? 0 : rate(o.seconds / 2, [&] {
    pack_batch(one.view(1, o.steps), config, packed);
    model.predict(packed, probs.data());
  });
  const int gates = gate_count(layer.cell);
  // FLOPs of one training sequence: forward GEMMs (input + recurrent) x 3 for backward.
  const double flops_per_seq = 3.0 * 2.0 * o.steps * double(gates) * o.units * (o.features + o.units);
  const double train_seq = train_steps * o.batch;
  if (o.json) {
    std::printf(
        "{\"cell\":\"%s\",\"units\":%d,\"steps\":%d,\"features\":%d,\"batch\":%d,\"threads\":%d,"
        "\"trainSeqPerSec\":%.1f,\"inferSeqPerSec\":%.1f,\"latencyMs\":%.4f,\"trainGflops\":%.2f}\n",
        o.cell.c_str(), o.units, o.steps, o.features, o.batch, threads, train_seq, infer_calls * o.infer_batch,
        (single_calls > 0 ? 1000.0 / single_calls : 0.0), train_seq * flops_per_seq / 1e9);
  } else {
    std::printf("%s(%d) T=%d F=%d, %d threads: train %.0f seq/s (batch %d, %.1f GFLOP/s), infer %.0f seq/s (batch %d), latency %.3f ms\n",
                o.cell.c_str(), o.units, o.steps, o.features, threads, train_seq, o.batch, train_seq * flops_per_seq / 1e9,
                infer_calls * o.infer_batch, o.infer_batch, (single_calls > 0 ? 1000.0 / single_calls : 0.0));
  }
  return 0;
}
