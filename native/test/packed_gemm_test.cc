// PackedMatrix against a naive triple loop in double: every row tail (m not a multiple of
// the micro-kernel's rows), partial last panels (n not a multiple of the panel width),
// transposed packing, accumulate and overwrite, row strides wider than the matrices, and
// the thread-split path.
#include <cmath>
#include <cstring>
#include <vector>

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
