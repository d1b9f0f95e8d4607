#include "packed_gemm.h"

#include <algorithm>
#include <array>
#include <utility>

#include "parallel.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#define RNN_PACKED_GEMM_SIMD 1
#endif

namespace rnn {

// ---- generic: a plain row-major copy of B, multiplied by Eigen ----------------------------

template <typename T>
void PackedMatrix<T>::pack(const T* B, Index ldb, Index k, Index n, bool transpose) {
  using Stride = Eigen::OuterStride<>;
  k_ = k;
  n_ = n;
  data_.resize(size_t(k) * n);
  MapR<T> out(data_.data(), k, n);
  if (transpose) {
    out = Eigen::Map<const MatrixR<T>, 0, Stride>(B, n, k, Stride(ldb)).transpose();
  } else {
    out = Eigen::Map<const MatrixR<T>, 0, Stride>(B, k, n, Stride(ldb));
  }
}

template <typename T>
void PackedMatrix<T>::set_bias(const T* bias) {
  bias_.assign(bias, bias + n_);
}

template <typename T>
void PackedMatrix<T>::multiply(const T* A, Index lda, Index m, T* C, Index ldc, Mode mode) const {
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const MatrixR<T>, 0, Stride> a(A, m, k_, Stride(lda));
  Eigen::Map<MatrixR<T>, 0, Stride> c(C, m, n_, Stride(ldc));
  ConstMapR<T> b(data_.data(), k_, n_);
  if (mode == kAccumulate) {
    c.noalias() += a * b;
  } else {
    c.noalias() = a * b;
    if (mode == kOverwritePlusBias) c.rowwise() += ConstRowVectorMap<T>(bias_.data(), n_);
  }
}

template class PackedMatrix<double>;

template <typename T>
void add_transposed_product(const T* A, Index lda, const T* B, Index ldb, Index K, Index m, Index n,
                            T* C, Index ldc) {
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const MatrixR<T>, 0, Stride> a(A, K, m, Stride(lda)), b(B, K, n, Stride(ldb));
  Eigen::Map<MatrixR<T>, 0, Stride> c(C, m, n, Stride(ldc));
  c.noalias() += a.transpose() * b;
}
template void add_transposed_product<double>(const double*, Index, const double*, Index, Index, Index,
                                             Index, double*, Index);

#ifndef RNN_PACKED_GEMM_SIMD

template class PackedMatrix<float>;
template void add_transposed_product<float>(const float*, Index, const float*, Index, Index, Index,
                                            Index, float*, Index);
bool packed_gemm_vectorized() { return false; }

#else

// ---- float micro-kernels -------------------------------------------------------------------
//
// B is stored as column panels of kNR columns: panel p holds B[kk, p*kNR + j] at
// data_[(p*k + kk)*kNR + j], the last panel zero-padded. The micro-kernel keeps an
// MR x kNR block of C in registers over the whole k loop: per kk it loads one panel row (two
// vectors) and broadcasts one A value per row, so every loaded B vector feeds MR FMAs.

namespace {

#if defined(__AVX512F__)
constexpr int kNR = 32;  // two 16-float vectors
constexpr int kMR = 8;   // 16 accumulators + 2 B vectors + 1 broadcast of 32 registers

// init: null to start from zero, else kNR values (a padded bias) every row starts from.
template <int MR>
void micro_kernel(const float* A, Index lda, const float* P, Index K, float* C, Index ldc, int cols,
                  bool overwrite, const float* init) {
  __m512 c0[MR], c1[MR];
  const __m512 i0 = init ? _mm512_loadu_ps(init) : _mm512_setzero_ps();
  const __m512 i1 = init ? _mm512_loadu_ps(init + 16) : _mm512_setzero_ps();
  for (int i = 0; i < MR; ++i) {
    c0[i] = i0;
    c1[i] = i1;
  }
  for (Index kk = 0; kk < K; ++kk) {
    const __m512 b0 = _mm512_loadu_ps(P + kk * kNR), b1 = _mm512_loadu_ps(P + kk * kNR + 16);
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(A[i * lda + kk]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
    }
  }
  if (cols == kNR) {  // masked loads are slow on some CPUs (Zen 4): only for a partial panel
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
      if (!overwrite) {
        c0[i] = _mm512_add_ps(_mm512_loadu_ps(c), c0[i]);
        c1[i] = _mm512_add_ps(_mm512_loadu_ps(c + 16), c1[i]);
      }
      _mm512_storeu_ps(c, c0[i]);
      _mm512_storeu_ps(c + 16, c1[i]);
    }
    return;
  }
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols <= 16 ? __mmask16(0) : __mmask16((1u << (cols - 16)) - 1);
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if (!overwrite) {
      c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), c0[i]);
      c1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), c1[i]);
    }
    _mm512_mask_storeu_ps(c, m0, c0[i]);
    _mm512_mask_storeu_ps(c + 16, m1, c1[i]);
  }
}
#else
constexpr int kNR = 16;  // two 8-float vectors
constexpr int kMR = 6;   // 12 accumulators + 2 B vectors + 1 broadcast of 16 registers

// init: null to start from zero, else kNR values (a padded bias) every row starts from.
template <int MR>
void micro_kernel(const float* A, Index lda, const float* P, Index K, float* C, Index ldc, int cols,
                  bool overwrite, const float* init) {
  __m256 c0[MR], c1[MR];
  const __m256 i0 = init ? _mm256_loadu_ps(init) : _mm256_setzero_ps();
  const __m256 i1 = init ? _mm256_loadu_ps(init + 8) : _mm256_setzero_ps();
  for (int i = 0; i < MR; ++i) {
    c0[i] = i0;
    c1[i] = i1;
  }
  for (Index kk = 0; kk < K; ++kk) {
    const __m256 b0 = _mm256_loadu_ps(P + kk * kNR), b1 = _mm256_loadu_ps(P + kk * kNR + 8);
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(A + i * lda + kk);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if (cols == kNR) {
      if (!overwrite) {
        c0[i] = _mm256_add_ps(_mm256_loadu_ps(c), c0[i]);
        c1[i] = _mm256_add_ps(_mm256_loadu_ps(c + 8), c1[i]);
      }
      _mm256_storeu_ps(c, c0[i]);
      _mm256_storeu_ps(c + 8, c1[i]);
    } else {  // a partial last panel: through a small buffer
      alignas(32) float block[kNR];
      _mm256_store_ps(block, c0[i]);
      _mm256_store_ps(block + 8, c1[i]);
      for (int j = 0; j < cols; ++j) c[j] = overwrite ? block[j] : c[j] + block[j];
    }
  }
}
#endif

// The transposed-A form for weight gradients: C[MR, kNR] += A^T B over K rows, where row kk
// of A holds the MR values to broadcast contiguously (A + kk*lda) and row kk of B kNR
// columns (B + kk*ldb), zero-padded past `cols` (both come from packed blocks).
template <int MR>
void micro_kernel_at(const float* A, Index lda, const float* B, Index ldb, Index K, float* C, Index ldc,
                     int cols) {
#if defined(__AVX512F__)
  __m512 c0[MR], c1[MR];
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF) : cols <= 16 ? __mmask16(0) : __mmask16((1u << (cols - 16)) - 1);
  for (Index kk = 0; kk < K; ++kk) {
    const float* b = B + kk * ldb;
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    const float* a = A + kk * lda;
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    _mm512_mask_storeu_ps(c, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), c0[i]));
    _mm512_mask_storeu_ps(c + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), c1[i]));
  }
#else
  __m256 c0[MR], c1[MR];
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  for (Index kk = 0; kk < K; ++kk) {
    const float* b = B + kk * ldb;
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    const float* a = A + kk * lda;
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    alignas(32) float block[kNR];
    _mm256_store_ps(block, c0[i]);
    _mm256_store_ps(block + 8, c1[i]);
    for (int j = 0; j < cols; ++j) c[j] += block[j];
  }
#endif
}

using Kernel = void (*)(const float*, Index, const float*, Index, float*, Index, int, bool, const float*);
using KernelAt = void (*)(const float*, Index, const float*, Index, Index, float*, Index, int);

template <int... R>
constexpr auto kernel_table(std::integer_sequence<int, R...>) {
  return std::array<Kernel, sizeof...(R)>{micro_kernel<R + 1>...};
}
// kernels[r - 1] handles r rows.
const auto kKernels = kernel_table(std::make_integer_sequence<int, kMR>{});

template <int... R>
constexpr auto kernel_at_table(std::integer_sequence<int, R...>) {
  return std::array<KernelAt, sizeof...(R)>{micro_kernel_at<R + 1>...};
}
const auto kKernelsAt = kernel_at_table(std::make_integer_sequence<int, kMR>{});

}  // namespace

template <>
void PackedMatrix<float>::pack(const float* B, Index ldb, Index k, Index n, bool transpose) {
  k_ = k;
  n_ = n;
  const Index panels = (n + kNR - 1) / kNR;
  data_.resize(size_t(panels) * k * kNR);
  if (n % kNR != 0) {  // zero the padding columns of the last panel
    float* last = data_.data() + (panels - 1) * k * kNR;
    for (Index kk = 0; kk < k; ++kk) std::fill(last + kk * kNR + n % kNR, last + (kk + 1) * kNR, 0.0f);
  }
  if (transpose) {
    // Source row `col` (contiguous over kk) is packed column col: read each source row once,
    // in order, and write it down its panel column.
    for (Index col = 0; col < n; ++col) {
      float* out = data_.data() + (col / kNR) * k * kNR + col % kNR;
      const float* src = B + col * ldb;
      for (Index kk = 0; kk < k; ++kk) out[kk * kNR] = src[kk];
    }
  } else {
    for (Index p = 0; p < panels; ++p) {
      float* out = data_.data() + p * k * kNR;
      const Index cols = std::min<Index>(kNR, n - p * kNR);
      for (Index kk = 0; kk < k; ++kk) std::copy_n(B + kk * ldb + p * kNR, cols, out + kk * kNR);
    }
  }
}

template <>
void PackedMatrix<float>::set_bias(const float* bias) {
  const Index panels = (n_ + kNR - 1) / kNR;
  bias_.assign(size_t(panels) * kNR, 0.0f);
  std::copy(bias, bias + n_, bias_.begin());
}

template <>
void PackedMatrix<float>::multiply(const float* A, Index lda, Index m, float* C, Index ldc,
                                   Mode mode) const {
  if (m <= 0 || n_ <= 0) return;
  const bool overwrite = mode != kAccumulate, plus_bias = mode == kOverwritePlusBias;
  if (k_ == 0) {
    if (overwrite)
      for (Index i = 0; i < m; ++i)
        for (Index j = 0; j < n_; ++j) C[i * ldc + j] = plus_bias ? bias_[j] : 0.0f;
    return;
  }
  const Index panels = (n_ + kNR - 1) / kNR;
  // Panels are independent; a product big enough to share is split over the thread team
  // (only when the caller is not itself one thread of a data-parallel loop). Below ~4M
  // multiply-adds (~40 us on one core) waking the team costs more than it saves.
  constexpr Index kMinParallelMacs = Index(1) << 22;
  const Index work_per_panel = m * k_ * n_ >= kMinParallelMacs ? kParallelGrain : 0;
  parallel_rows(panels, work_per_panel, [&](Index first, Index last) {
    for (Index p = first; p < last; ++p) {
      const float* P = data_.data() + p * k_ * kNR;
      const int cols = int(std::min<Index>(kNR, n_ - p * kNR));
      float* Cp = C + p * kNR;
      const float* init = plus_bias ? bias_.data() + p * kNR : nullptr;
      Index i = 0;
      for (; i + kMR <= m; i += kMR) micro_kernel<kMR>(A + i * lda, lda, P, k_, Cp + i * ldc, ldc, cols, overwrite, init);
      if (i < m) kKernels[m - i - 1](A + i * lda, lda, P, k_, Cp + i * ldc, ldc, cols, overwrite, init);
    }
  });
}

template class PackedMatrix<float>;

// Copies `width` values from each of `rows` rows (stride ld) into rows of W, zero-padding the
// rest: fixed-size copies the compiler turns into a few vector moves.
template <int W>
void pack_rows(const float* src, Index ld, Index rows, Index width, float* out) {
  if (width == W) {
    for (Index r = 0; r < rows; ++r)
      for (int j = 0; j < W; ++j) out[r * W + j] = src[r * ld + j];
  } else {
    for (Index r = 0; r < rows; ++r)
      for (int j = 0; j < W; ++j) out[r * W + j] = j < width ? src[r * ld + j] : 0.0f;
  }
}

template <>
void add_transposed_product<float>(const float* A, Index lda, const float* B, Index ldb, Index K, Index m,
                                   Index n, float* C, Index ldc) {
  if (K <= 0 || m <= 0 || n <= 0) return;
  // K in chunks of kKC rows. Each chunk of A and of this thread's panels of B is first
  // copied into contiguous blocks (A: kMR values per row, B: kNR), so the micro-kernel
  // streams both with unit stride: read in place, rows thousands of bytes apart keep
  // landing in the same few L1 sets and the product runs at half speed.
  constexpr Index kKC = 256;
  constexpr Index kMinParallelMacs = Index(1) << 22;
  const Index panels = (n + kNR - 1) / kNR, blocks = (m + kMR - 1) / kMR;
  const Index work_per_panel = K * m * n >= kMinParallelMacs ? kParallelGrain : 0;
  parallel_rows(panels, work_per_panel, [&](Index first, Index last) {
    thread_local Buffer<float> a_pack, b_pack;
    a_pack.resize(size_t(blocks) * kMR * kKC);
    b_pack.resize(size_t(last - first) * kNR * kKC);
    for (Index k0 = 0; k0 < K; k0 += kKC) {
      const Index kc = std::min(kKC, K - k0);
      for (Index blk = 0; blk < blocks; ++blk) {  // A block: [kc][kMR], zero-padded rows
        float* out = a_pack.data() + blk * kMR * kKC;
        const Index i0 = blk * kMR, rows = std::min<Index>(kMR, m - i0);
        pack_rows<kMR>(A + k0 * lda + i0, lda, kc, rows, out);
      }
      for (Index p = first; p < last; ++p) {  // B panel: [kc][kNR], zero-padded columns
        float* out = b_pack.data() + (p - first) * kNR * kKC;
        const Index j0 = p * kNR, cols = std::min<Index>(kNR, n - j0);
        pack_rows<kNR>(B + k0 * ldb + j0, ldb, kc, cols, out);
      }
      for (Index p = first; p < last; ++p) {
        const int cols = int(std::min<Index>(kNR, n - p * kNR));
        const float* Bp = b_pack.data() + (p - first) * kNR * kKC;
        float* Cp = C + p * kNR;
        for (Index blk = 0; blk < blocks; ++blk) {
          const Index i0 = blk * kMR, rows = std::min<Index>(kMR, m - i0);
          kKernelsAt[rows - 1](a_pack.data() + blk * kMR * kKC, kMR, Bp, kNR, kc, Cp + i0 * ldc, ldc, cols);
        }
      }
    }
  });
}

bool packed_gemm_vectorized() { return true; }

#endif

}  // namespace rnn
