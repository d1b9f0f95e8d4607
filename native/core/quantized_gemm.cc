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
// the avx2 kernel multiplies the signed levels directly with the sign trick: both operands lie
// in [-127, 127], so vpmaddubsw(|a|, sign(q, a)) forms a·q for each byte and adds pairs,
// |a0 q0 + a1 q1| <= 2·127·127 < 2^15 (never saturates), and vpmaddwd with ones widens the
// pairs into int32 lanes: the same exact sums, no shift and no correction.
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

#include "packed_gemm.h"
#include "parallel.h"
#include "quantized_gemm_neon.h"

// No fused multiply-adds from contraction in this file: the VNNI epilogue and the portable
// path must round the same two operations (scale, then add) to give the same bits.
#pragma GCC optimize("fp-contract=off")

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RNN_X86_LOW_PRECISION 1
// GCC 12 reports the deliberately undefined pass-through operand inside _mm512_cvtepi32_ps.
#pragma GCC diagnostic ignored "-Wuninitialized"
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

// bf16 bits of x, rounded to nearest even (inputs are finite: checked at the boundary).
inline uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
inline float from_bf16(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// Row i of A as int8 levels: returns r_i and writes round(A/r_i) (in [-127, 127]) through put.
template <typename Put>
float quantize_row(const float* a, Index k, Put&& put) {
  float max = 0.0f;
  for (Index kk = 0; kk < k; ++kk) max = std::max(max, std::fabs(a[kk]));
  if (max == 0.0f) {
    for (Index kk = 0; kk < k; ++kk) put(kk, 0.0f);
    return 0.0f;
  }
  const float inverse = 127.0f / max;
  for (Index kk = 0; kk < k; ++kk) put(kk, std::min(127.0f, std::max(-127.0f, std::nearbyint(a[kk] * inverse))));
  return max / 127.0f;
}

// C row i, columns [0, cols), from the scaled products v of one row: the three modes.
inline void store_row(const float* v, float* c, int cols, PackedMatrix<float>::Mode mode, const float* bias) {
  for (int j = 0; j < cols; ++j) {
    if (mode == PackedMatrix<float>::kAccumulate) c[j] += v[j];
    else c[j] = mode == PackedMatrix<float>::kOverwritePlusBias ? v[j] + bias[j] : v[j];
  }
}

#ifdef RNN_X86_LOW_PRECISION

#define RNN_UNROLL _Pragma("GCC unroll 16")

// The dot-product instructions through inline assembly. GCC 12 keeps an accumulator array
// updated by _mm512_dpbusd_epi32 (and the AVX-VNNI and BF16 forms) in other registers than
// the instruction writes: two register copies per product and a stack spill in the inner
// loop, which ran the int8 kernel at about half the instruction's rate (measured: 2 per
// cycle, as the FMA, on Zen 5). An asm with the accumulator as a read-write operand keeps
// each accumulator in one register. AT&T order: source B, source A, accumulator.
__attribute__((target("avx512f,avx512vnni"))) inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
  return acc;
}
// The VEX form (AVX-VNNI): registers 0-15 only ("x"), and {vex} so the assembler does not
// pick the EVEX encoding, which needs AVX512-VL.
__attribute__((target("avx2,avxvnni"))) inline __m256i dpbusd_vex(__m256i acc, __m256i u8, __m256i s8) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u8), "x"(s8));
  return acc;
}
// One row's step of the AVX2 kernel (avx2_block) as one asm for the same reason: with the
// intrinsics GCC 12 hoisted the rows' broadcasts and spilled three of the eight accumulators
// to the stack inside the k loop (x86-64-v2/v3 builds). Here the four bytes a of the row are
// broadcast, and c0 += 4-products of a with b0, c1 with b1 (see avx2_block); registers 0-15.
__attribute__((target("avx2"))) inline void sign_dot_row(__m256i& c0, __m256i& c1, const uint8_t* four, __m256i b0,
                                                         __m256i b1, __m256i ones) {
  __m256i a, magnitude, t0, t1;
  asm("vpbroadcastd %[four], %[a]\n\t"
      "vpabsb %[a], %[m]\n\t"
      "vpsignb %[a], %[b0], %[t0]\n\t"
      "vpsignb %[a], %[b1], %[t1]\n\t"
      "vpmaddubsw %[t0], %[m], %[t0]\n\t"
      "vpmaddubsw %[t1], %[m], %[t1]\n\t"
      "vpmaddwd %[ones], %[t0], %[t0]\n\t"
      "vpmaddwd %[ones], %[t1], %[t1]\n\t"
      "vpaddd %[t0], %[c0], %[c0]\n\t"
      "vpaddd %[t1], %[c1], %[c1]"
      : [c0] "+x"(c0), [c1] "+x"(c1), [a] "=&x"(a), [m] "=&x"(magnitude), [t0] "=&x"(t0), [t1] "=&x"(t1)
      : [four] "m"(*reinterpret_cast<const int32_t*>(four)), [b0] "x"(b0), [b1] "x"(b1), [ones] "x"(ones));
}
__attribute__((target("avx512f,avx512bf16"))) inline __m512 dpbf16(__m512 acc, __m512i a, __m512i b) {
  asm("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

// MR rows x 32 columns: C = (r_i s_j) (Σ (a+128) q − correction_j), in the given mode.
template <int MR>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void vnni512_block(
    const uint8_t* A, Index lda, const int8_t* P, Index K4, float* C, Index ldc, int cols,
    PackedMatrix<float>::Mode mode, const float* row_scale, const float* col_scale,
    const int32_t* correction, const float* bias) {
  __m512i c0[MR], c1[MR];
  RNN_UNROLL for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_si512();
  for (Index k4 = 0; k4 < K4; ++k4) {
    const __m512i b0 = _mm512_loadu_si512(P + k4 * 128), b1 = _mm512_loadu_si512(P + k4 * 128 + 64);
    RNN_UNROLL for (int i = 0; i < MR; ++i) {
      int32_t four;
      std::memcpy(&four, A + i * lda + 4 * k4, 4);
      const __m512i a = _mm512_set1_epi32(four);
      c0[i] = dpbusd(c0[i], a, b0);
      c1[i] = dpbusd(c1[i], a, b1);
    }
  }
  const __m512i k0 = _mm512_loadu_si512(correction), k1 = _mm512_loadu_si512(correction + 16);
  const __m512 s0 = _mm512_loadu_ps(col_scale), s1 = _mm512_loadu_ps(col_scale + 16);
  // What each row adds to C: nothing more (overwrite), the bias, or C itself (accumulate).
  const bool accumulate = mode == PackedMatrix<float>::kAccumulate;
  const bool plus_bias = mode == PackedMatrix<float>::kOverwritePlusBias;
  const __m512 b0 = plus_bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  const __m512 b1 = plus_bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
  // Columns this block owns: all 32, or the first `cols` of a last, narrower panel.
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF) : cols <= 16 ? __mmask16(0) : __mmask16((1u << (cols - 16)) - 1);
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    const __m512 r = _mm512_set1_ps(row_scale[i]);
    __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c0[i], k0)), _mm512_mul_ps(r, s0));
    __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c1[i], k1)), _mm512_mul_ps(r, s1));
    float* c = C + i * ldc;
    if (cols == 32) {  // unmasked: masked memory operations are slow on some CPUs (Zen 4)
      if (accumulate) {
        v0 = _mm512_add_ps(_mm512_loadu_ps(c), v0);
        v1 = _mm512_add_ps(_mm512_loadu_ps(c + 16), v1);
      } else if (plus_bias) {
        v0 = _mm512_add_ps(v0, b0);
        v1 = _mm512_add_ps(v1, b1);
      }
      _mm512_storeu_ps(c, v0);
      _mm512_storeu_ps(c + 16, v1);
      continue;
    }
    if (accumulate) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), v1);
    } else if (plus_bias) {
      v0 = _mm512_add_ps(v0, b0);
      v1 = _mm512_add_ps(v1, b1);
    }
    _mm512_mask_storeu_ps(c, m0, v0);
    _mm512_mask_storeu_ps(c + 16, m1, v1);
  }
}

// MR rows x 16 columns with AVX-VNNI (the VEX form: Alder Lake and later, Zen 5).
template <int MR>
__attribute__((target("avx2,avxvnni"))) void avx_vnni_block(
    const uint8_t* A, Index lda, const int8_t* P, Index K4, float* C, Index ldc, int cols,
    PackedMatrix<float>::Mode mode, const float* row_scale, const float* col_scale,
    const int32_t* correction, const float* bias) {
  __m256i c0[MR], c1[MR];
  RNN_UNROLL for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_si256();
  for (Index k4 = 0; k4 < K4; ++k4) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P + k4 * 64));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P + k4 * 64 + 32));
    RNN_UNROLL for (int i = 0; i < MR; ++i) {
      int32_t four;
      std::memcpy(&four, A + i * lda + 4 * k4, 4);
      const __m256i a = _mm256_set1_epi32(four);
      c0[i] = dpbusd_vex(c0[i], a, b0);
      c1[i] = dpbusd_vex(c1[i], a, b1);
    }
  }
  const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(correction));
  const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(correction + 8));
  const __m256 s0 = _mm256_loadu_ps(col_scale), s1 = _mm256_loadu_ps(col_scale + 8);
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    const __m256 r = _mm256_set1_ps(row_scale[i]);
    alignas(32) float v[16];
    _mm256_store_ps(v, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(c0[i], k0)), _mm256_mul_ps(r, s0)));
    _mm256_store_ps(v + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(c1[i], k1)), _mm256_mul_ps(r, s1)));
    store_row(v, C + i * ldc, cols, mode, bias);
  }
}

// MR rows x 16 columns with AVX2 alone (no VNNI), on the AVX-VNNI kernel's panels: A holds
// the signed levels (padded with 0), and per row and group of 4 k
//   vpbroadcastd a; vpabsb |a|; per 8 columns: vpsignb sign(q, a), vpmaddubsw |a|·sign(q, a)
//   (int16 pairs, exact: see the top), vpmaddwd with ones (int32: 4 products), vpaddd.
// 4 rows: 8 accumulators, 2 B vectors, ones, and a, |a| and two products (sign_dot_row):
// 15 of the 16 ymm registers. The intrinsics (_mm256_abs_epi8, _mm256_sign_epi8,
// _mm256_maddubs_epi16, _mm256_madd_epi16, _mm256_add_epi32) spilled: see sign_dot_row. The epilogue is the portable one's: float(sum) · (r_i s_j), then the
// mode's add.
template <int MR>
__attribute__((target("avx2,fma"))) void avx2_block(
    const uint8_t* A, Index lda, const int8_t* P, Index K4, float* C, Index ldc, int cols,
    PackedMatrix<float>::Mode mode, const float* row_scale, const float* col_scale,
    const int32_t* /*correction: none, A is not shifted*/, const float* bias) {
  __m256i c0[MR], c1[MR];
  RNN_UNROLL for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  for (Index k4 = 0; k4 < K4; ++k4) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P + k4 * 64));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P + k4 * 64 + 32));
    RNN_UNROLL for (int i = 0; i < MR; ++i) sign_dot_row(c0[i], c1[i], A + i * lda + 4 * k4, b0, b1, ones);
  }
  const __m256 s0 = _mm256_loadu_ps(col_scale), s1 = _mm256_loadu_ps(col_scale + 8);
  const bool accumulate = mode == PackedMatrix<float>::kAccumulate;
  const bool plus_bias = mode == PackedMatrix<float>::kOverwritePlusBias;
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    const __m256 r = _mm256_set1_ps(row_scale[i]);
    __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(c0[i]), _mm256_mul_ps(r, s0));
    __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(c1[i]), _mm256_mul_ps(r, s1));
    float* c = C + i * ldc;
    if (cols == 16) {  // the whole panel: store_row's operations, 8 lanes at a time
      if (accumulate) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(c), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(c + 8), v1);
      } else if (plus_bias) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8));
      }
      _mm256_storeu_ps(c, v0);
      _mm256_storeu_ps(c + 8, v1);
      continue;
    }
    alignas(32) float v[16];
    _mm256_store_ps(v, v0);
    _mm256_store_ps(v + 8, v1);
    store_row(v, c, cols, mode, bias);
  }
}

// MR rows x 32 columns of bf16 pairs: C (+)= Σ_k bf16(A) bf16(B) with vdpbf16ps.
template <int MR>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void bf16_block(
    const uint16_t* A, Index lda, const uint16_t* P, Index K2, float* C, Index ldc, int cols,
    PackedMatrix<float>::Mode mode, const float* bias) {
  __m512 c0[MR], c1[MR];
  RNN_UNROLL for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (Index k2 = 0; k2 < K2; ++k2) {
    const __m512i b0 = _mm512_loadu_si512(P + k2 * 64), b1 = _mm512_loadu_si512(P + k2 * 64 + 32);
    RNN_UNROLL for (int i = 0; i < MR; ++i) {
      int32_t pair;
      std::memcpy(&pair, A + i * lda + 2 * k2, 4);
      const __m512i a = _mm512_set1_epi32(pair);
      c0[i] = dpbf16(c0[i], a, b0);
      c1[i] = dpbf16(c1[i], a, b1);
    }
  }
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    alignas(64) float v[32];
    _mm512_store_ps(v, c0[i]);
    _mm512_store_ps(v + 16, c1[i]);
    store_row(v, C + i * ldc, cols, mode, bias);
  }
}

// quantize_row for the VNNI kernels, 16 values at a time: the same r_i and the same levels
// (x · (127/max) rounded to nearest even by vcvtps2dq, as nearbyint does, then clamped),
// written shifted as bytes a + 128; the row is padded with 128 to `stride`.
__attribute__((target("avx512f,avx512bw,avx512vl"))) float quantize_row_avx512(const float* a, Index k, uint8_t* out, Index stride) {
  __m512 max = _mm512_setzero_ps();
  Index kk = 0;
  for (; kk + 16 <= k; kk += 16) max = _mm512_max_ps(max, _mm512_abs_ps(_mm512_loadu_ps(a + kk)));
  if (kk < k) max = _mm512_max_ps(max, _mm512_abs_ps(_mm512_maskz_loadu_ps(__mmask16((1u << (k - kk)) - 1), a + kk)));
  const float m = _mm512_reduce_max_ps(max);
  if (m == 0.0f) {
    std::memset(out, 128, size_t(stride));
    return 0.0f;
  }
  const __m512 inverse = _mm512_set1_ps(127.0f / m);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), shift = _mm512_set1_epi32(128);
  for (kk = 0; kk < k; kk += 16) {
    const __mmask16 mask = k - kk >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - kk)) - 1);
    const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, a + kk), inverse));
    const __m512i u = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, lo), hi), shift);
    _mm_mask_storeu_epi8(out + kk, mask, _mm512_cvtepi32_epi8(u));
  }
  std::memset(out + k, 128, size_t(stride - k));
  return m / 127.0f;
}

// quantize_row for the AVX2 and AVX-VNNI kernels, 32 values at a time: the same r_i and the
// same levels (x · (127/max) rounded to nearest even by vcvtps2dq, as nearbyint does; the
// saturating packs and the clamp to [-127, 127] keep them), written as signed bytes (avx2)
// or shifted, a + 128 = a ^ 0x80 (avx-vnni); the row padded to `stride` with 0 or 128.
__attribute__((target("avx2"))) float quantize_row_avx2(const float* a, Index k, uint8_t* out, Index stride, bool shift) {
  __m256 max = _mm256_setzero_ps();
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  Index kk = 0;
  for (; kk + 8 <= k; kk += 8) max = _mm256_max_ps(max, _mm256_and_ps(_mm256_loadu_ps(a + kk), magnitude));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  float m = _mm_cvtss_f32(m4);
  for (; kk < k; ++kk) m = std::max(m, std::fabs(a[kk]));
  const uint8_t pad = shift ? 128 : 0;
  if (m == 0.0f) {
    std::memset(out, pad, size_t(stride));
    return 0.0f;
  }
  const float inverse_scalar = 127.0f / m;
  const __m256 inverse = _mm256_set1_ps(inverse_scalar);
  const __m256i lo = _mm256_set1_epi8(-127), flip = _mm256_set1_epi8(shift ? char(0x80) : 0);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (kk = 0; kk + 32 <= k; kk += 32) {
    const __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(a + kk), inverse));
    const __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(a + kk + 8), inverse));
    const __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(a + kk + 16), inverse));
    const __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(a + kk + 24), inverse));
    // Per 128-bit lane the packs interleave 4-value groups: q0 q1 q2 q3 (low halves), then
    // the high halves; the permutation puts them back in order.
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
    const __m256i levels = _mm256_max_epi8(_mm256_permutevar8x32_epi32(bytes, order), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + kk), _mm256_xor_si256(levels, flip));
  }
  for (; kk < k; ++kk) {
    const float q = std::min(127.0f, std::max(-127.0f, std::nearbyint(a[kk] * inverse_scalar)));
    out[kk] = uint8_t(int(q) + (shift ? 128 : 0));
  }
  std::memset(out + k, pad, size_t(stride - k));
  return m / 127.0f;
}

using Int8Block = void (*)(const uint8_t*, Index, const int8_t*, Index, float*, Index, int,
                           PackedMatrix<float>::Mode, const float*, const float*, const int32_t*, const float*);
using Bf16Block = void (*)(const uint16_t*, Index, const uint16_t*, Index, float*, Index, int,
                           PackedMatrix<float>::Mode, const float*);

// [r - 1]: the block kernel for r rows.
const Int8Block kVnni512Blocks[8] = {vnni512_block<1>, vnni512_block<2>, vnni512_block<3>, vnni512_block<4>,
                                     vnni512_block<5>, vnni512_block<6>, vnni512_block<7>, vnni512_block<8>};
const Int8Block kAvxVnniBlocks[6] = {avx_vnni_block<1>, avx_vnni_block<2>, avx_vnni_block<3>,
                                     avx_vnni_block<4>, avx_vnni_block<5>, avx_vnni_block<6>};
const Int8Block kAvx2Blocks[4] = {avx2_block<1>, avx2_block<2>, avx2_block<3>, avx2_block<4>};
const Bf16Block kBf16Blocks[8] = {bf16_block<1>, bf16_block<2>, bf16_block<3>, bf16_block<4>,
                                  bf16_block<5>, bf16_block<6>, bf16_block<7>, bf16_block<8>};

#endif  // RNN_X86_LOW_PRECISION

#if defined(RNN_X86_LOW_PRECISION) || defined(RNN_ARM_LOW_PRECISION)
// One int8 block kernel: r rows of quantized A against one panel of B (every x86 and arm64
// int8 kernel has this signature; `correction` is null where A is not shifted).
using Int8PanelBlock = void (*)(const uint8_t*, Index, const int8_t*, Index, float*, Index, int,
                                PackedMatrix<float>::Mode, const float*, const float*, const int32_t*, const float*);

// C = the int8 product, panel by panel of B (split over the team when the product is large),
// `mr` rows of quantized A at a time through blocks[rows - 1].
void run_int8_panels(const Int8PanelBlock* blocks, int mr, const uint8_t* a_rows, Index stride, const float* a_scales,
                     Index m, const int8_t* panel_data, Index panels, Index width, Index K4, Index n, float* C,
                     Index ldc, PackedMatrix<float>::Mode mode, const float* col_scale, const int32_t* correction,
                     const float* bias, Index work) {
  parallel_rows(panels, work, [&](Index first, Index last) {
    for (Index p = first; p < last; ++p) {
      const int8_t* P = panel_data + p * K4 * width * 4;
      const int cols = int(std::min<Index>(width, n - p * width));
      const Index j0 = p * width;
      for (Index i = 0; i < m; i += mr) {
        const int rows = int(std::min<Index>(mr, m - i));
        blocks[rows - 1](a_rows + i * stride, stride, P, K4, C + i * ldc + j0, ldc, cols, mode, a_scales + i,
                         col_scale + j0, correction == nullptr ? nullptr : correction + j0, bias + j0);
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
    if (precision == Precision::kInt8) {
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
    run_int8_panels(blocks, mr, a_rows, stride, a_scales, m, low_panels_.data(), panels, width, K4, n_, C, ldc, mode,
                    column_scale_.data(), nullptr, bias_.data(), work);
  }
#endif
#ifdef RNN_X86_LOW_PRECISION
  const Index width = panel_width(low_kernel_), panels = (n_ + width - 1) / width;
  const int mr = low_kernel_ == kAvxVnni ? 6 : low_kernel_ == kAvx2 ? 4 : 8;
  if (int8) {
    const Index K4 = (k_ + 3) / 4, stride = 4 * K4;
    shifted.resize(size_t(m) * stride);
    row_scale.resize(size_t(m));
    // Rows are quantized independently: split over the team when there are many (the
    // all-steps input projection), or that serial pass would cap the product's scaling.
    uint8_t* const rows_out = shifted.data();
    float* const scales = row_scale.data();
    parallel_rows(m, m * k_ * n_ >= kMinParallelMacs ? 4 * k_ : 0, [&](Index first, Index last) {
      for (Index i = first; i < last; ++i) {
        uint8_t* out = rows_out + i * stride;
        if (low_kernel_ == kVnni512) {
          scales[i] = quantize_row_avx512(A + i * lda, k_, out, stride);
        } else {  // avx2: signed levels, padded with 0; avx-vnni: shifted, padded with 128
          scales[i] = quantize_row_avx2(A + i * lda, k_, out, stride, low_kernel_ == kAvxVnni);
        }
      }
    });
    const Int8Block* blocks = low_kernel_ == kVnni512 ? kVnni512Blocks : low_kernel_ == kAvx2 ? kAvx2Blocks : kAvxVnniBlocks;
    const Index work = m * k_ * n_ >= kMinParallelMacs ? kParallelGrain : 0;
    // The team reads the calling thread's scratch: through these pointers, since inside the
    // lambda a thread_local name would mean each worker's own (empty) buffer.
    const uint8_t* const a_rows = shifted.data();
    const float* const a_scales = row_scale.data();
    run_int8_panels(blocks, mr, a_rows, stride, a_scales, m, low_panels_.data(), panels, width, K4, n_, C, ldc, mode,
                    column_scale_.data(), column_correction_.data(), bias_.data(), work);
  } else {
    const Index K2 = (k_ + 1) / 2, stride = 2 * K2;
    halves.resize(size_t(m) * stride);
    uint16_t* const rows_out = halves.data();
    parallel_rows(m, m * k_ * n_ >= kMinParallelMacs ? 4 * k_ : 0, [&](Index first, Index last) {
      for (Index i = first; i < last; ++i) {
        uint16_t* out = rows_out + i * stride;
        for (Index kk = 0; kk < k_; ++kk) out[kk] = to_bf16(A[i * lda + kk]);
        if (stride > k_) out[k_] = 0;
      }
    });
    const Index work = m * k_ * n_ >= kMinParallelMacs ? kParallelGrain : 0;
    const uint16_t* const a_rows = halves.data();  // the caller's scratch (see the int8 case)
    parallel_rows(panels, work, [&](Index first, Index last) {
      for (Index p = first; p < last; ++p) {
        const uint16_t* P = bf16_panels_.data() + p * K2 * width * 2;
        const int cols = int(std::min<Index>(width, n_ - p * width));
        const Index j0 = p * width;
        for (Index i = 0; i < m; i += mr) {
          const int rows = int(std::min<Index>(mr, m - i));
          kBf16Blocks[rows - 1](a_rows + i * stride, stride, P, K2, C + i * ldc + j0, ldc, cols, mode, bias_.data() + j0);
        }
      }
    });
  }
#endif
}

}  // namespace rnn
