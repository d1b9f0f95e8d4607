// Int8 and bf16 products for inference-only models (Precision::kInt8, kBf16): the same
// PackedMatrix interface, B quantized once when packed, A quantized on every call.
//
// int8, symmetric, per output column of B and per row of A (dynamic quantization, as
// onnxruntime's DynamicQuantizeLSTM and oneDNN's int8 RNNs):
//   s_j = max_k |B[k,j]| / 127,   q_kj = round(B[k,j] / s_j)   in [-127, 127]
//   r_i = max_k |A[i,k]| / 127,   a_ik = round(A[i,k] / r_i)   in [-127, 127]
//   C[i,j] = (r_i s_j) · Σ_k a_ik q_kj
// The sum is exact in int32. VNNI's vpdpbusd multiplies unsigned by signed bytes, so A goes in
// shifted, a + 128 in [1, 255], and each column's correction takes the shift back out:
//   Σ_k (a_ik + 128) q_kj − 128 Σ_k q_kj.
// Without VNNI (AVX2 only: Zen 2/3/4 with AVX-512 off, Intel client cores before Alder Lake)
// the avx2 kernel multiplies the signed levels widened to int16 with vpmaddwd, whose int32
// lanes sum two products a·q (|.| <= 2·127·127): the same exact sums, no shift and no
// correction, on panels of int16 levels (twice the bytes of the int8 panels, half the float
// ones).
// The portable kernel runs the same integers through the float micro-kernels: every product
// and partial sum is an integer of magnitude below 2^24 while k <= 1040 (127·127·1040 < 2^24),
// so float addition is exact and both kernels give the same bits (tested). int8 models are
// therefore limited to products with k <= kMaxInt8Depth (1024: inputs and units), which also
// keeps vpdpbusd's int32 sums far from overflow; quantize() refuses wider layers.
//
// bf16: A and B rounded to bfloat16 (to nearest, ties to even), products summed in float:
//   C[i,j] = Σ_k bf16(A[i,k]) bf16(B[k,j])
// vdpbf16ps (AVX512_BF16) where the CPU has it, else the float micro-kernels on the rounded
// values: the same products (a product of two bf16 values is exact in float), summed in
// another order.
//
// The VNNI, AVX2 and BF16 kernels are compiled for their ISA with target attributes and chosen by
// CPUID at run time, inside every x86-64 variant: no extra prebuilt binary.
//
// On 64-bit Arm (quantized_gemm_neon.cc) the int8 products run on the signed levels as the
// AVX2 kernel does (no shift, no correction): 'neon-dot' with sdot where the CPU has the
// dot-product extension (asimddp, Armv8.2-a; seen in HWCAP at run time, compiled with a target
// attribute inside the armv8-a build), else 'neon' with smull/smlal and sadalp (Armv8-a).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "packed_gemm.h"
#include "parallel.h"
#include "quantized_gemm_neon.h"
#include "quantized_gemm_x86.h"
#include "quantized_rows.h"

// No fused multiply-adds from contraction in this file: the VNNI epilogue and the portable
// path must round the same two operations (scale, then add) to give the same bits.
#pragma GCC optimize("fp-contract=off")

#if defined(__x86_64__) && defined(__GNUC__)
#define RNN_X86_LOW_PRECISION 1
#endif
#if defined(__aarch64__) && defined(__GNUC__)
#define RNN_ARM_LOW_PRECISION 1
#endif

namespace rnn {

namespace {

enum LowKernel { kPortable = 0, kVnni512 = 1, kAvxVnni = 2, kBf16Avx512 = 3, kAvx2 = 4, kNeon = 5, kNeonDot = 6 };

// RNN_NODE_LOW_PRECISION_KERNEL (tests, benchmarks): "portable" forces the portable kernels;
// "avx512-vnni", "avx-vnni" or "avx2" picks that int8 kernel where the CPU has it (else the
// usual choice), e.g. AVX-VNNI or AVX2 on a CPU that also has AVX-512 VNNI. On 64-bit Arm:
// "neon-dot" (where the CPU has asimddp) or "neon".
bool forced(const char* name) {
  const char* e = std::getenv("RNN_NODE_LOW_PRECISION_KERNEL");
  return e != nullptr && std::strcmp(e, name) == 0;
}
bool forced_portable() { return forced("portable"); }

// Preferred: AVX-512 VNNI, then AVX-VNNI, then AVX2, then the portable kernel.
LowKernel int8_kernel() {
  if (forced_portable()) return kPortable;
#ifdef RNN_X86_LOW_PRECISION
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx_vnni = __builtin_cpu_supports("avxvnni") && avx2;
  const bool vnni512 = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  if (forced("avx512-vnni") && vnni512) return kVnni512;
  if (forced("avx-vnni") && avx_vnni) return kAvxVnni;
  if (forced("avx2") && avx2) return kAvx2;
  if (vnni512) return kVnni512;
  if (avx_vnni) return kAvxVnni;
  if (avx2) return kAvx2;
#endif
#ifdef RNN_ARM_LOW_PRECISION
  // Preferred: neon-dot where the CPU has the dot-product instructions, else neon (every
  // aarch64 CPU). Both are exact and give the portable path's bits (tested under qemu), but
  // their speed is unmeasured: no arm64 machine was at hand, so that either beats float32 on
  // real Arm cores (as the x86 kernels were measured to) is the design's expectation, not a
  // measurement. RNN_NODE_LOW_PRECISION_KERNEL=portable is the way back if one does not.
  const bool dot = neon_has_dotprod();
  if (forced("neon")) return kNeon;
  if (dot) return kNeonDot;
  return kNeon;
#endif
  return kPortable;
}

LowKernel bf16_kernel() {
  if (forced_portable()) return kPortable;
#ifdef RNN_X86_LOW_PRECISION
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw")) return kBf16Avx512;
#endif
  return kPortable;
}

// Columns per panel of each kernel's layout: two vectors of 32-bit lanes (x86), four (Arm).
int panel_width(int kernel) { return kernel == kAvxVnni || kernel == kAvx2 || kernel == kNeon || kernel == kNeonDot ? 16 : 32; }

// Groups of 4 k in an int8 kernel's panels and A rows: the Arm kernels read 16 k at a time.
Index k_groups(int kernel, Index k) {
#ifdef RNN_ARM_LOW_PRECISION
  if (kernel == kNeon || kernel == kNeonDot) return neon_k_groups(k);
#endif
  return (k + 3) / 4;
}

constexpr Index kMinParallelMacs = Index(1) << 22;


#if defined(RNN_X86_LOW_PRECISION) || defined(RNN_ARM_LOW_PRECISION)
// C = the int8 product, panel by panel of B (split over the team when the product is large),
// `mr` rows of quantized A at a time through blocks[rows - 1]. A panel holds `groups` groups of
// `lanes` levels per column (4 bytes for the byte kernels, 2 int16 for the widened one); every
// block has the byte kernels' arguments, `correction` null where A is not shifted, or the
// widened kernel's, without it.
template <typename RowLevel, typename PanelLevel, typename Block>
void run_int8_panels(const Block* blocks, int mr, const RowLevel* a_rows, Index stride, const float* a_scales, Index m,
                     const PanelLevel* panel_data, Index panels, Index width, Index groups, Index lanes, Index n, float* C,
                     Index ldc, PackedMatrix<float>::Mode mode, const float* col_scale, const int32_t* correction,
                     const float* bias, Index work) {
  parallel_rows(panels, work, [&](Index first, Index last) {
    for (Index p = first; p < last; ++p) {
      const PanelLevel* P = panel_data + p * groups * width * lanes;
      const int cols = int(std::min<Index>(width, n - p * width));
      const Index j0 = p * width;
      for (Index i = 0; i < m; i += mr) {
        const int rows = int(std::min<Index>(mr, m - i));
        if constexpr (std::is_same<PanelLevel, int16_t>::value) {
          blocks[rows - 1](a_rows + i * stride, stride, P, groups, C + i * ldc + j0, ldc, cols, mode, a_scales + i,
                           col_scale + j0, bias + j0);
        } else {
          blocks[rows - 1](a_rows + i * stride, stride, P, groups, C + i * ldc + j0, ldc, cols, mode, a_scales + i,
                           col_scale + j0, correction == nullptr ? nullptr : correction + j0, bias + j0);
        }
      }
    }
  });
}
#endif

}  // namespace

const char* int8_kernel_name() {
  switch (int8_kernel()) {
    case kVnni512: return "avx512-vnni";
    case kAvxVnni: return "avx-vnni";
    case kAvx2: return "avx2";
    case kNeon: return "neon";
    case kNeonDot: return "neon-dot";
    default: return "portable";
  }
}

const char* bf16_kernel_name() { return bf16_kernel() == kBf16Avx512 ? "avx512-bf16" : "portable"; }

// Double (gradient checks) is always float arithmetic: nothing to pack or multiply here.
template <>
void PackedMatrix<double>::pack_low_precision(const double*, Index, Index, Index, Precision) {}
template <>
void PackedMatrix<double>::multiply_low_precision(const double*, Index, Index, double*, Index, Mode) const {}

template <>
void PackedMatrix<float>::pack_low_precision(const float* B, Index ldb, Index k, Index n, Precision precision) {
  const Index padded = (n + 63) / 64 * 64;
  Buffer<float> rounded(size_t(k) * n);  // once per packing, not per product
  int kernel;
  if (precision == Precision::kInt8) {
    column_scale_.assign(padded, 0.0f);
    column_correction_.assign(padded, 0);
    for (Index j = 0; j < n; ++j) {
      float max = 0.0f;
      for (Index kk = 0; kk < k; ++kk) max = std::max(max, std::fabs(B[kk * ldb + j]));
      const float scale = max / 127.0f, inverse = max > 0.0f ? 127.0f / max : 0.0f;
      int32_t sum = 0;
      for (Index kk = 0; kk < k; ++kk) {
        const float q = std::min(127.0f, std::max(-127.0f, std::nearbyint(B[kk * ldb + j] * inverse)));
        rounded[kk * n + j] = q;
        sum += int32_t(q);
      }
      column_scale_[j] = scale;
      column_correction_[j] = 128 * sum;
    }
    kernel = int8_kernel();
  } else {
    for (Index kk = 0; kk < k; ++kk)
      for (Index j = 0; j < n; ++j) rounded[kk * n + j] = from_bf16(to_bf16(B[kk * ldb + j]));
    kernel = bf16_kernel();
  }
  if (kernel == kPortable) {
    pack(rounded.data(), n, k, n, false);  // the float layout, holding the levels / bf16 values
  } else {
    k_ = k;
    n_ = n;
    const Index width = panel_width(kernel), panels = (n + width - 1) / width;
    if (precision == Precision::kInt8 && kernel == kAvx2) {
      const Index K2 = (k + 1) / 2;  // pairs of k (vpmaddwd's lanes), the levels as int16
      wide_panels_.assign(size_t(panels) * K2 * width * 2, 0);
      for (Index kk = 0; kk < k; ++kk)
        for (Index j = 0; j < n; ++j)
          wide_panels_[((j / width) * K2 + kk / 2) * width * 2 + (j % width) * 2 + kk % 2] = int16_t(rounded[kk * n + j]);
    } else if (precision == Precision::kInt8) {
      // Panel p, group k4: 4 consecutive k of each of its columns, side by side (vpdpbusd's lanes).
      const Index K4 = k_groups(kernel, k);  // the Arm kernels' is padded with zero groups
      low_panels_.assign(size_t(panels) * K4 * width * 4, 0);
      for (Index kk = 0; kk < k; ++kk)
        for (Index j = 0; j < n; ++j)
          low_panels_[((j / width) * K4 + kk / 4) * width * 4 + (j % width) * 4 + kk % 4] = int8_t(rounded[kk * n + j]);
    } else {
      const Index K2 = (k + 1) / 2;  // pairs of k (vdpbf16ps's lanes)
      bf16_panels_.assign(size_t(panels) * K2 * width * 2, 0);
      for (Index kk = 0; kk < k; ++kk)
        for (Index j = 0; j < n; ++j)
          bf16_panels_[((j / width) * K2 + kk / 2) * width * 2 + (j % width) * 2 + kk % 2] = to_bf16(rounded[kk * n + j]);
    }
  }
  low_kernel_ = kernel;
  precision_ = precision;
}

template <>
void PackedMatrix<float>::multiply_low_precision(const float* A, Index lda, Index m, float* C, Index ldc,
                                                 Mode mode) const {
  if (m <= 0 || n_ <= 0) return;
  if (k_ == 0) {
    multiply_float(A, lda, m, C, ldc, mode);
    return;
  }
  // Per-call scratch, per thread, reused: quantized rows of A, their scales, the sums.
  thread_local Buffer<float> row_scale, levels, sums;
  thread_local Buffer<uint8_t> shifted;
  thread_local Buffer<uint16_t> halves;
  thread_local Buffer<int16_t> widened;
  const bool int8 = precision_ == Precision::kInt8;
  if (low_kernel_ == kPortable) {
    levels.resize(size_t(m) * k_);
    sums.resize(size_t(m) * n_);
    row_scale.resize(size_t(m));
    for (Index i = 0; i < m; ++i) {
      float* out = levels.data() + i * k_;
      if (int8) {
        row_scale[i] = quantize_row(A + i * lda, k_, [&](Index kk, float q) { out[kk] = q; });
      } else {
        for (Index kk = 0; kk < k_; ++kk) out[kk] = from_bf16(to_bf16(A[i * lda + kk]));
      }
    }
    multiply_float(levels.data(), k_, m, sums.data(), n_, kOverwrite);
    Buffer<float>& v = levels;  // reused for one row of scaled sums
    v.resize(std::max<size_t>(v.size(), size_t(n_)));
    for (Index i = 0; i < m; ++i) {
      const float* s = sums.data() + i * n_;
      if (int8) {
        for (Index j = 0; j < n_; ++j) v[j] = s[j] * (row_scale[i] * column_scale_[j]);
        store_row(v.data(), C + i * ldc, int(n_), mode, bias_.data());
      } else {
        store_row(s, C + i * ldc, int(n_), mode, bias_.data());
      }
    }
    return;
  }
#ifdef RNN_ARM_LOW_PRECISION
  if (int8 && (low_kernel_ == kNeon || low_kernel_ == kNeonDot)) {
    // As the x86 int8 path below, on the signed levels (padded with 0 to whole groups of 16).
    const Index width = kNeonPanelWidth, panels = (n_ + width - 1) / width;
    const Index K4 = neon_k_groups(k_), stride = 4 * K4;
    shifted.resize(size_t(m) * stride);
    row_scale.resize(size_t(m));
    uint8_t* const rows_out = shifted.data();
    float* const scales = row_scale.data();
    parallel_rows(m, m * k_ * n_ >= kMinParallelMacs ? 4 * k_ : 0, [&](Index first, Index last) {
      for (Index i = first; i < last; ++i) {
        uint8_t* out = rows_out + i * stride;
        scales[i] = quantize_row(A + i * lda, k_, [&](Index kk, float q) { out[kk] = uint8_t(int8_t(q)); });
        std::fill(out + k_, out + stride, uint8_t(0));
      }
    });
    const bool dot = low_kernel_ == kNeonDot;
    const NeonInt8Block* blocks = dot ? kNeonDotBlocks : kNeonBlocks;
    const int mr = dot ? kNeonDotRows : kNeonRows;
    const Index work = m * k_ * n_ >= kMinParallelMacs ? kParallelGrain : 0;
    const uint8_t* const a_rows = shifted.data();  // the caller's scratch (see the x86 path)
    const float* const a_scales = row_scale.data();
    run_int8_panels(blocks, mr, a_rows, stride, a_scales, m, low_panels_.data(), panels, width, K4, Index(4), n_, C, ldc,
                    mode, column_scale_.data(), nullptr, bias_.data(), work);
  }
#endif
#ifdef RNN_X86_LOW_PRECISION
  const Index width = panel_width(low_kernel_), panels = (n_ + width - 1) / width;
  const Index product_work = m * k_ * n_ >= kMinParallelMacs ? kParallelGrain : 0;
  // Rows are quantized independently: split over the team when there are many (the
  // all-steps input projection), or that serial pass would cap the product's scaling.
  const Index quantize_work = m * k_ * n_ >= kMinParallelMacs ? 4 * k_ : 0;
  if (int8) row_scale.resize(size_t(m));
  float* const scales = row_scale.data();  // r_i of each quantized row
  if (int8 && low_kernel_ == kAvx2) {
    const Index K2 = (k_ + 1) / 2, stride = 2 * K2;
    widened.resize(size_t(m) * stride);
    int16_t* const rows_out = widened.data();
    parallel_rows(m, quantize_work, [&](Index first, Index last) {
      for (Index i = first; i < last; ++i) scales[i] = quantize_row_widened_avx2(A + i * lda, k_, rows_out + i * stride, stride);
    });
    // The team reads the calling thread's scratch: through these pointers, since inside the
    // lambda a thread_local name would mean each worker's own (empty) buffer.
    const int16_t* const a_rows = widened.data();
    run_int8_panels(kAvx2Blocks, 6, a_rows, stride, scales, m, wide_panels_.data(), panels, width, K2, Index(2), n_, C,
                    ldc, mode, column_scale_.data(), nullptr, bias_.data(), product_work);
  } else if (int8) {
    const int mr = low_kernel_ == kAvxVnni ? 6 : 8;
    const Index K4 = (k_ + 3) / 4, stride = 4 * K4;
    shifted.resize(size_t(m) * stride);
    uint8_t* const rows_out = shifted.data();
    parallel_rows(m, quantize_work, [&](Index first, Index last) {
      for (Index i = first; i < last; ++i) {
        uint8_t* out = rows_out + i * stride;
        scales[i] = low_kernel_ == kVnni512 ? quantize_row_avx512(A + i * lda, k_, out, stride)
                                            : quantize_row_avx2(A + i * lda, k_, out, stride);
      }
    });
    const Int8Block* blocks = low_kernel_ == kVnni512 ? kVnni512Blocks : kAvxVnniBlocks;
    const uint8_t* const a_rows = shifted.data();  // the caller's scratch (see above)
    run_int8_panels(blocks, mr, a_rows, stride, scales, m, low_panels_.data(), panels, width, K4, Index(4), n_, C, ldc,
                    mode, column_scale_.data(), column_correction_.data(), bias_.data(), product_work);
  } else {
    const Index K2 = (k_ + 1) / 2, stride = 2 * K2;
    halves.resize(size_t(m) * stride);
    uint16_t* const rows_out = halves.data();
    parallel_rows(m, quantize_work, [&](Index first, Index last) {
      for (Index i = first; i < last; ++i) {
        uint16_t* out = rows_out + i * stride;
        for (Index kk = 0; kk < k_; ++kk) out[kk] = to_bf16(A[i * lda + kk]);
        if (stride > k_) out[k_] = 0;
      }
    });
    const uint16_t* const a_rows = halves.data();  // the caller's scratch (see the int8 case)
    parallel_rows(panels, product_work, [&](Index first, Index last) {
      for (Index p = first; p < last; ++p) {
        const uint16_t* P = bf16_panels_.data() + p * K2 * width * 2;
        const int cols = int(std::min<Index>(width, n_ - p * width));
        const Index j0 = p * width;
        for (Index i = 0; i < m; i += 8) {
          const int rows = int(std::min<Index>(8, m - i));
          kBf16Blocks[rows - 1](a_rows + i * stride, stride, P, K2, C + i * ldc + j0, ldc, cols, mode, bias_.data() + j0);
        }
      }
    });
  }
#endif
}

}  // namespace rnn
