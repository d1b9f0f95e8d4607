#include "packed_gemm.h"

#include <algorithm>
#include <array>
#include <utility>

#include "parallel.h"

// Every float build has the micro-kernels (AVX-512, AVX2+FMA, SSE2 for the x86-64-v2
// baseline, NEON on arm64): beside speed, they compute each output row from that row alone,
// in a fixed order, whatever the number of rows, which keeps predictions bit-identical
// across batch sizes (Eigen's GEMM picks blockings and remainder paths by size).
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__)) || defined(__SSE2__)
#include <immintrin.h>
#define RNN_PACKED_GEMM_SIMD 1
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#define RNN_PACKED_GEMM_SIMD 1
#endif

namespace rnn {

// ---- generic: a plain row-major copy of B, multiplied by Eigen ----------------------------

template <typename T>
void PackedMatrix<T>::pack(const T* B, Index ldb, Index k, Index n, bool transpose) {
  using Stride = Eigen::OuterStride<>;
  precision_ = Precision::kFloat32;
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
  bias_.assign(size_t((n_ + 63) / 64 * 64), T(0));  // whole 64-column panels, as the float build's
  std::copy(bias, bias + n_, bias_.begin());
}

template <typename T>
void PackedMatrix<T>::multiply_float(const T* A, Index lda, Index m, T* C, Index ldc, Mode mode) const {
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

#define RNN_UNROLL _Pragma("GCC unroll 16")

// The two vector ISAs the kernels are written for, behind one small interface.
#if defined(__AVX512F__)
struct Simd {
  using V = __m512;
  static constexpr int kWidth = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
};
constexpr int kMR = 8;  // 16 accumulators + 2 B vectors + 1 broadcast of 32 registers
#elif defined(__AVX2__) && defined(__FMA__)
struct Simd {
  using V = __m256;
  static constexpr int kWidth = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};
constexpr int kMR = 6;  // 12 accumulators + 2 B vectors + 1 broadcast of 16 registers
#elif defined(__SSE2__)
// No FMA before x86-64-v3: a multiply, then an add (the same rounding in every row).
struct Simd {
  using V = __m128;
  static constexpr int kWidth = 4;
  static V zero() { return _mm_setzero_ps(); }
  static V load(const float* p) { return _mm_loadu_ps(p); }
  static V broadcast(const float* p) { return _mm_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static V add(V a, V b) { return _mm_add_ps(a, b); }
  static void store(float* p, V v) { _mm_storeu_ps(p, v); }
};
constexpr int kMR = 6;  // 12 accumulators + 2 B vectors + 1 broadcast of 16 registers
#else
struct Simd {  // NEON (armv8-a): fused multiply-add
  using V = float32x4_t;
  static constexpr int kWidth = 4;
  static V zero() { return vdupq_n_f32(0.0f); }
  static V load(const float* p) { return vld1q_f32(p); }
  static V broadcast(const float* p) { return vld1q_dup_f32(p); }
  static V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static V add(V a, V b) { return vaddq_f32(a, b); }
  static void store(float* p, V v) { vst1q_f32(p, v); }
};
constexpr int kMR = 8;  // 16 accumulators + 2 B vectors + 1 broadcast of 32 registers
#endif
constexpr int kNR = 2 * Simd::kWidth;  // a panel is two vectors wide
using V = Simd::V;

// Adds (or, with overwrite, stores) an MR x kNR register block into C, whose last panel
// may be only `cols` wide: that one goes through a small buffer (masked loads are slow on
// some CPUs, Zen 4 among them).
// Always inlined, and every loop over the rows unrolled (RNN_UNROLL): an accumulator array
// indexed by a run-time row, or whose address escapes into a call, is kept in memory by GCC,
// which then stores all of it on every k step (measured: half speed).
template <int MR>
__attribute__((always_inline)) inline void store_block(const V (&c0)[MR], const V (&c1)[MR], float* C,
                                                       Index ldc, int cols, bool overwrite) {
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if (cols == kNR) {
      Simd::store(c, overwrite ? c0[i] : Simd::add(Simd::load(c), c0[i]));
      Simd::store(c + Simd::kWidth, overwrite ? c1[i] : Simd::add(Simd::load(c + Simd::kWidth), c1[i]));
    } else {
      alignas(64) float block[kNR];
      Simd::store(block, c0[i]);
      Simd::store(block + Simd::kWidth, c1[i]);
      for (int j = 0; j < cols; ++j) c[j] = overwrite ? block[j] : c[j] + block[j];
    }
  }
}

// C[MR, cols] (+)= A[MR, K] * P[K, kNR] for a packed panel P (row kk at P + kk*kNR,
// zero-padded past `cols`). A is read row by row (A + i*lda + kk), or, with kTransposedA, as
// a packed block whose row kk holds the MR values to broadcast (A + kk*lda + i): the form
// the weight gradients use (C += A^T B). init: null to start from zero, else kNR values
// (a padded bias) every row starts from.
template <int MR, bool kTransposedA>
void micro_kernel(const float* A, Index lda, const float* P, Index K, float* C, Index ldc, int cols,
                  bool overwrite, const float* init) {
  V c0[MR], c1[MR];
  const V i0 = init ? Simd::load(init) : Simd::zero();
  const V i1 = init ? Simd::load(init + Simd::kWidth) : Simd::zero();
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    c0[i] = i0;
    c1[i] = i1;
  }
  for (Index kk = 0; kk < K; ++kk) {
    const V b0 = Simd::load(P + kk * kNR), b1 = Simd::load(P + kk * kNR + Simd::kWidth);
    RNN_UNROLL for (int i = 0; i < MR; ++i) {
      const V a = Simd::broadcast(kTransposedA ? A + kk * lda + i : A + i * lda + kk);
      c0[i] = Simd::fma(a, b0, c0[i]);
      c1[i] = Simd::fma(a, b1, c1[i]);
    }
  }
  store_block<MR>(c0, c1, C, ldc, cols, overwrite);
}

using Kernel = void (*)(const float*, Index, const float*, Index, float*, Index, int, bool, const float*);

template <bool kTransposedA, int... R>
constexpr auto kernel_table(std::integer_sequence<int, R...>) {
  return std::array<Kernel, sizeof...(R)>{micro_kernel<R + 1, kTransposedA>...};
}
// kKernels[r - 1] handles r rows of A; kKernelsAt the same for the transposed-A form.
const auto kKernels = kernel_table<false>(std::make_integer_sequence<int, kMR>{});
const auto kKernelsAt = kernel_table<true>(std::make_integer_sequence<int, kMR>{});

}  // namespace

template <>
void PackedMatrix<float>::pack(const float* B, Index ldb, Index k, Index n, bool transpose) {
  precision_ = Precision::kFloat32;
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
  // Padded to whole panels of this layout and of the low-precision kernels' (64 columns).
  const Index panels = (n_ + kNR - 1) / kNR;
  bias_.assign(size_t(std::max<Index>(panels * kNR, (n_ + 63) / 64 * 64)), 0.0f);
  std::copy(bias, bias + n_, bias_.begin());
}

template <>
void PackedMatrix<float>::multiply_float(const float* A, Index lda, Index m, float* C, Index ldc,
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
      for (; i + kMR <= m; i += kMR) micro_kernel<kMR, false>(A + i * lda, lda, P, k_, Cp + i * ldc, ldc, cols, overwrite, init);
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
          kKernelsAt[rows - 1](a_pack.data() + blk * kMR * kKC, kMR, Bp, kc, Cp + i0 * ldc, ldc, cols, false, nullptr);
        }
      }
    }
  });
}

bool packed_gemm_vectorized() { return true; }

#endif

}  // namespace rnn
