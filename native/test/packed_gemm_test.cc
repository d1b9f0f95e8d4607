// PackedMatrix against a naive triple loop in double: every row tail (m not a multiple of
// the micro-kernel's rows), partial last panels (n not a multiple of the panel width),
// transposed packing, accumulate and overwrite, row strides wider than the matrices, and
// the thread-split path; the int8 kernels against the portable one, bit for bit.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

#include "check.h"
#include "packed_gemm.h"
#include "parallel.h"
#include "rng.h"

using namespace rnn;

namespace {

std::vector<float> random_floats(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(2 * rng.uniform() - 1);
  return v;
}

// Max |C - reference| / (1 + |reference|) over the m x n block, with C checked untouched
// outside it (the stride padding).
double product_error(Index m, Index k, Index n, bool transpose, bool overwrite, Index pad, uint64_t seed) {
  const Index lda = k + pad, ldc = n + pad;
  std::vector<float> A = random_floats(size_t(m) * lda, seed), B = random_floats(size_t(k) * n, seed + 1);
  std::vector<float> C = random_floats(size_t(m) * ldc, seed + 2), C0 = C;
  PackedMatrix<float> packed;
  if (transpose) {
    std::vector<float> Bt(size_t(n) * k);  // [n, k], whose transpose is B
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < n; ++j) Bt[j * k + i] = B[i * n + j];
    packed.pack(Bt.data(), k, k, n, true);
  } else {
    packed.pack(B.data(), n, k, n, false);
  }
  packed.multiply(A.data(), lda, m, C.data(), ldc, overwrite);
  double worst = 0;
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < ldc; ++j) {
      double ref = C0[i * ldc + j];
      if (j < n) {
        if (overwrite) ref = 0;
        for (Index q = 0; q < k; ++q) ref += double(A[i * lda + q]) * B[q * n + j];
      }
      worst = std::max(worst, std::fabs(C[i * ldc + j] - ref) / (1 + std::fabs(ref)));
    }
  }
  return worst;
}

}  // namespace

TEST(small_and_ragged_shapes) {
#if defined(__AVX512F__)
  std::printf("  (float kernels: AVX-512, vectorized %d)\n", int(packed_gemm_vectorized()));
#elif defined(__AVX2__)
  std::printf("  (float kernels: AVX2+FMA, vectorized %d)\n", int(packed_gemm_vectorized()));
#elif defined(__SSE2__)
  std::printf("  (float kernels: SSE2, vectorized %d)\n", int(packed_gemm_vectorized()));
#elif defined(__ARM_NEON)
  std::printf("  (float kernels: NEON, vectorized %d)\n", int(packed_gemm_vectorized()));
#else
  std::printf("  (float kernels: Eigen fallback, vectorized %d)\n", int(packed_gemm_vectorized()));
#endif
  uint64_t seed = 1;
  for (Index m : {1, 2, 5, 6, 7, 8, 9, 13, 17})
    for (Index k : {1, 3, 16, 37})
      for (Index n : {1, 7, 16, 31, 32, 33, 50, 96})
        for (int variant = 0; variant < 4; ++variant) {
          const bool transpose = variant & 1, overwrite = variant & 2;
          const double e = product_error(m, k, n, transpose, overwrite, variant == 3 ? 5 : 0, seed++);
          CHECK(e < 1e-5, "m %ld k %ld n %ld transpose %d overwrite %d: error %g", long(m), long(k), long(n), transpose, overwrite, e);
        }
}

TEST(recurrent_shapes_single_and_multi_threaded) {
  // [64 x 128] x [128 x 512] (LSTM(128) forward step), its backward [64 x 512] x [512 x 128].
  for (int threads : {1, 2}) {
    use_threads(threads);
    CHECK(product_error(64, 128, 512, false, false, 0, 11) < 1e-5, "forward shape, %d threads", threads);
    CHECK(product_error(64, 512, 128, true, true, 0, 12) < 1e-5, "backward shape, %d threads", threads);
    CHECK(product_error(200, 96, 300, false, false, 3, 13) < 1e-5, "large ragged, %d threads", threads);
  }
  use_threads(1);
}

TEST(overwrite_plus_bias) {
  for (Index n : {5, 16, 32, 50, 96}) {
    const Index m = 13, k = 7;
    std::vector<float> A = random_floats(size_t(m) * k, 21), B = random_floats(size_t(k) * n, 22);
    std::vector<float> bias = random_floats(size_t(n), 23), C = random_floats(size_t(m) * n, 24);
    PackedMatrix<float> packed;
    packed.pack(B.data(), n, k, n, false);
    packed.set_bias(bias.data());
    packed.multiply(A.data(), k, m, C.data(), n, PackedMatrix<float>::kOverwritePlusBias);
    double worst = 0;
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < n; ++j) {
        double ref = bias[j];
        for (Index q = 0; q < k; ++q) ref += double(A[i * k + q]) * B[q * n + j];
        worst = std::max(worst, std::fabs(C[i * n + j] - ref));
      }
    CHECK(worst < 1e-5, "n %ld: error %g", long(n), worst);
  }
}

// add_transposed_product: C[m, n] += A^T B with A [K, m], B [K, n], strides wider than the
// matrices; C outside the block untouched.
double transposed_product_error(Index K, Index m, Index n, Index pad, uint64_t seed) {
  const Index lda = m + pad, ldb = n + pad, ldc = n + pad;
  std::vector<float> A = random_floats(size_t(K) * lda, seed), B = random_floats(size_t(K) * ldb, seed + 1);
  std::vector<float> C = random_floats(size_t(m) * ldc, seed + 2), C0 = C;
  add_transposed_product(A.data(), lda, B.data(), ldb, K, m, n, C.data(), ldc);
  double worst = 0;
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < ldc; ++j) {
      double ref = C0[i * ldc + j];
      if (j < n)
        for (Index q = 0; q < K; ++q) ref += double(A[q * lda + i]) * B[q * ldb + j];
      worst = std::max(worst, std::fabs(C[i * ldc + j] - ref) / (1 + std::fabs(ref)));
    }
  return worst;
}

TEST(transposed_product_shapes) {
  uint64_t seed = 100;
  for (int threads : {1, 2}) {
    use_threads(threads);
    for (Index K : {1, 5, 129, 300})
      for (Index m : {1, 7, 8, 13, 28})
        for (Index n : {1, 7, 16, 33, 50})
          for (Index pad : {0, 3}) {
            const double e = transposed_product_error(K, m, n, pad, seed++);
            CHECK(e < 1e-5, "K %ld m %ld n %ld pad %ld: error %g", long(K), long(m), long(n), long(pad), e);
          }
    // The LSTM(128) weight-gradient shape, big enough to split over threads.
    const double big = transposed_product_error(3584, 128, 512, 0, 7);
    CHECK(big < 2e-8 * 3584, "dU shape, %d threads: error %g", threads, big);  // float round-off grows with K
  }
  use_threads(1);
}

// A row's result is the same bits however many rows are multiplied with it and wherever it
// sits among them, with one thread or several: what keeps predictions of a sequence
// independent of its batch (sharded and queued jobs equal a single run byte for byte).
TEST(rows_are_bit_identical_in_any_batch) {
  const Index k = 37, n = 131, m = 23;
  std::vector<float> A = random_floats(size_t(m) * k, 11), B = random_floats(size_t(k) * n, 12), bias = random_floats(size_t(n), 13);
  PackedMatrix<float> packed;
  packed.pack(B.data(), n, k, n, false);
  packed.set_bias(bias.data());
  for (int threads : {1, 2}) {
    use_threads(threads);
    for (auto mode : {PackedMatrix<float>::kOverwrite, PackedMatrix<float>::kOverwritePlusBias, PackedMatrix<float>::kAccumulate}) {
      std::vector<float> all(size_t(m) * n, 0.5f);
      packed.multiply(A.data(), k, m, all.data(), n, mode);
      for (Index first = 0; first < m; ++first)
        for (Index rows : {Index(1), Index(3), Index(8)}) {
          if (first + rows > m) continue;
          std::vector<float> part(size_t(rows) * n, 0.5f);
          packed.multiply(A.data() + first * k, k, rows, part.data(), n, mode);
          CHECK(std::memcmp(part.data(), all.data() + first * n, part.size() * sizeof(float)) == 0,
                "rows %ld..%ld, mode %d, %d threads: not the bits of the full product", long(first), long(first + rows), int(mode), threads);
        }
    }
  }
  use_threads(1);
}

// int8 (pack_low_precision): every SIMD kernel this CPU has gives the portable kernel's bits.
// The kernel is chosen at packing from RNN_NODE_LOW_PRECISION_KERNEL (else the best one).
const char* const kInt8Kernels[] = {"avx2", "avx-vnni", "avx512-vnni", "neon", "neon-dot"};

// Whether this CPU runs the named int8 kernel (asked for, the library reports what it picks).
bool has_int8_kernel(const char* kernel) {
  setenv("RNN_NODE_LOW_PRECISION_KERNEL", kernel, 1);
  const bool has = std::strcmp(int8_kernel_name(), kernel) == 0;
  unsetenv("RNN_NODE_LOW_PRECISION_KERNEL");
  return has;
}

struct Int8Product {
  PackedMatrix<float> packed;
  Int8Product(const char* kernel, const std::vector<float>& B, Index k, Index n, const std::vector<float>& bias) {
    setenv("RNN_NODE_LOW_PRECISION_KERNEL", kernel, 1);
    packed.pack_low_precision(B.data(), n, k, n, Precision::kInt8);
    unsetenv("RNN_NODE_LOW_PRECISION_KERNEL");
    packed.set_bias(bias.data());
  }
  // C0 with rows [m, ldc] (lda: A's row stride) after one product in `mode`.
  std::vector<float> run(const std::vector<float>& A, Index lda, Index m, std::vector<float> C, Index ldc,
                         PackedMatrix<float>::Mode mode) const {
    packed.multiply(A.data(), lda, m, C.data(), ldc, mode);
    return C;
  }
};

const PackedMatrix<float>::Mode kModes[] = {PackedMatrix<float>::kOverwrite, PackedMatrix<float>::kAccumulate,
                                            PackedMatrix<float>::kOverwritePlusBias};

TEST(int8_kernels_equal_portable_bit_for_bit) {
  std::vector<const char*> kernels;
  for (const char* kernel : kInt8Kernels)
    if (has_int8_kernel(kernel)) kernels.push_back(kernel);
  std::printf("  (int8 kernels besides portable:");
  for (const char* kernel : kernels) std::printf(" %s", kernel);
  std::printf("%s)\n", kernels.empty() ? " none on this CPU" : "");
  uint64_t seed = 500;
  for (Index k : {1, 2, 3, 4, 5, 7, 8, 13, 15, 16, 17, 31, 64, 127, 128, 129, 255, 513, 1023, 1024})
    for (Index n : {1, 7, 16, 17, 33, 50}) {
      // Rows of A: all, up to 20 (every tail of every kernel's block) where k is small.
      std::vector<Index> ms;
      if (k <= 129) for (Index m = 1; m <= 20; ++m) ms.push_back(m);
      else ms = {1, 4, 6, 9, 20};
      const Index pad = 3, lda = k + pad, ldc = n + pad, M = 20;
      std::vector<float> A = random_floats(size_t(M) * lda, seed), B = random_floats(size_t(k) * n, seed + 1);
      std::vector<float> bias = random_floats(size_t(n), seed + 2), C0 = random_floats(size_t(M) * ldc, seed + 3);
      seed += 4;
      // A zero row (r = 0) and a zero column of B (s = 0); wide dynamic range elsewhere.
      std::fill(A.begin() + 2 * lda, A.begin() + 3 * lda, 0.0f);
      for (Index q = 0; q < k; ++q) B[q * n + (n - 1) / 2] = 0.0f;
      for (size_t q = 0; q < A.size(); q += 5) A[q] *= 40.0f;
      const Int8Product portable("portable", B, k, n, bias);
      for (const char* kernel : kernels) {
        const Int8Product ours(kernel, B, k, n, bias);
        for (Index m : ms)
          for (auto mode : kModes) {
            const std::vector<float> want = portable.run(A, lda, m, C0, ldc, mode), got = ours.run(A, lda, m, C0, ldc, mode);
            CHECK(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0,
                  "%s: m %ld k %ld n %ld mode %d: not the portable kernel's bits", kernel, long(m), long(k), long(n), int(mode));
          }
      }
    }
}

// At the depth limit (k = 1024) with every level at ±127: the largest sums an int8 model can
// form (1024 · 127² = 16516096 < 2^24); nothing saturates (vpmaddwd's int32 pairs reach
// 2 · 127² = 32258) or rounds. Rows and columns of one sign give the extreme sums.
TEST(int8_kernels_at_the_depth_limit_with_extreme_levels) {
  const Index k = 1024, n = 40, m = 11;
  Rng rng(77);
  std::vector<float> A(size_t(m) * k), B(size_t(k) * n), bias(size_t(n), 0.25f), C0(size_t(m) * n, 0.5f);
  for (float& x : A) x = rng.uniform() < 0.5 ? -1.0f : 1.0f;
  for (float& x : B) x = rng.uniform() < 0.5 ? -3.0f : 3.0f;
  std::fill(A.begin(), A.begin() + k, 1.0f);           // row 0: all +127
  std::fill(A.begin() + k, A.begin() + 2 * k, -1.0f);  // row 1: all -127
  for (Index q = 0; q < k; ++q) {
    B[q * n + 0] = 3.0f;   // column 0: all +127
    B[q * n + 1] = -3.0f;  // column 1: all -127
    B[q * n + 2] = q % 2 ? 3.0f : -3.0f;
  }
  const Int8Product portable("portable", B, k, n, bias);
  for (int threads : {1, 2}) {
    use_threads(threads);
    for (auto mode : kModes) {
      const std::vector<float> want = portable.run(A, k, m, C0, n, mode);
      // Each level is exactly ±127 with scales 1/127 and 3/127: the exact product, up to the
      // epilogue's two roundings.
      double worst = 0;
      for (Index i = 0; i < m; ++i)
        for (Index j = 0; j < n; ++j) {
          double ref = mode == PackedMatrix<float>::kAccumulate ? 0.5 : mode == PackedMatrix<float>::kOverwritePlusBias ? 0.25 : 0.0;
          for (Index q = 0; q < k; ++q) ref += double(A[i * k + q]) * B[q * n + j];
          worst = std::max(worst, std::fabs(want[i * n + j] - ref) / (1 + std::fabs(ref)));
        }
      CHECK(worst < 1e-6, "portable, mode %d: error %g", int(mode), worst);
      CHECK(std::fabs(want[0] - (3 * 1024 + (mode == PackedMatrix<float>::kOverwrite ? 0 : mode == PackedMatrix<float>::kAccumulate ? 0.5 : 0.25))) < 1e-3,
            "C[0, 0] = %.6f", double(want[0]));
      for (const char* kernel : kInt8Kernels) {
        if (!has_int8_kernel(kernel)) continue;
        const std::vector<float> got = Int8Product(kernel, B, k, n, bias).run(A, k, m, C0, n, mode);
        CHECK(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0,
              "%s, mode %d, %d threads: not the portable kernel's bits", kernel, int(mode), threads);
      }
    }
  }
  use_threads(1);
}

TEST(int8_kernel_choice_follows_the_environment) {
  setenv("RNN_NODE_LOW_PRECISION_KERNEL", "portable", 1);
  CHECK(std::strcmp(int8_kernel_name(), "portable") == 0, "portable forced: %s", int8_kernel_name());
  unsetenv("RNN_NODE_LOW_PRECISION_KERNEL");
  const char* best = int8_kernel_name();
  // The preference order: the first kernel of this list the CPU has is the default.
  const char* order[] = {"avx512-vnni", "avx-vnni", "avx2", "neon-dot", "neon"};
  const char* expected = "portable";
  for (const char* kernel : order)
    if (has_int8_kernel(kernel)) {
      expected = kernel;
      break;
    }
  CHECK(std::strcmp(best, expected) == 0, "default %s, expected %s", best, expected);
  // An unknown name, or a kernel this CPU lacks, leaves the usual choice.
  setenv("RNN_NODE_LOW_PRECISION_KERNEL", "no-such-kernel", 1);
  CHECK(std::strcmp(int8_kernel_name(), best) == 0, "unknown name: %s", int8_kernel_name());
  unsetenv("RNN_NODE_LOW_PRECISION_KERNEL");
#if defined(__x86_64__)
  __builtin_cpu_init();
  CHECK(has_int8_kernel("avx2") == bool(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")), "avx2 kernel where the CPU has AVX2");
#endif
#if defined(__aarch64__) && defined(__linux__)
  // neon on every aarch64 CPU, neon-dot where HWCAP has asimddp (qemu: -cpu max has it,
  // cortex-a57 not; scripts/arm64-tests.sh runs this test under both).
  const bool dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  std::printf("  (aarch64: asimddp %s)\n", dotprod ? "yes" : "no");
  CHECK(has_int8_kernel("neon"), "neon kernel on every aarch64 CPU");
  CHECK(has_int8_kernel("neon-dot") == dotprod, "neon-dot kernel where the CPU has asimddp");
  CHECK(std::strcmp(best, dotprod ? "neon-dot" : "neon") == 0, "default on aarch64: %s", best);
#endif
}

TEST(zero_inner_dimension) {
  std::vector<float> C(6, 1.0f);
  PackedMatrix<float> packed;
  packed.pack(nullptr, 3, 0, 3, false);
  packed.multiply(nullptr, 0, 2, C.data(), 3, false);
  CHECK(C[0] == 1.0f && C[5] == 1.0f, "accumulate leaves C");
  packed.multiply(nullptr, 0, 2, C.data(), 3, true);
  CHECK(C[0] == 0.0f && C[5] == 0.0f, "overwrite zeroes C");
}

TEST(double_path_matches) {
  std::vector<double> A{1, 2, 3, 4}, B{1, 0, 2, 1, 1, 0}, C(6, 0.5);
  PackedMatrix<double> packed;
  packed.pack(B.data(), 3, 2, 3, false);
  packed.multiply(A.data(), 2, 2, C.data(), 3, false);
  // [1 2; 3 4] x [1 0 2; 1 1 0] = [3 2 2; 7 4 6]
  CHECK(C[0] == 3.5 && C[1] == 2.5 && C[2] == 2.5 && C[3] == 7.5 && C[4] == 4.5 && C[5] == 6.5, "C = %g %g %g %g %g %g", C[0], C[1], C[2], C[3], C[4], C[5]);
}

TEST_MAIN()
