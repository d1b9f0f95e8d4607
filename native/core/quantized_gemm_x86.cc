// The x86 int8 and bf16 kernels (AVX-512 VNNI, AVX-VNNI, AVX2, AVX512-BF16): block kernels
// on packed panels and the vectorized quantization of A's rows, each compiled for its ISA
// with a target attribute and chosen by CPUID at run time (quantized_gemm.cc), so every
// x86-64 variant carries them. The layout and the exactness argument: quantized_gemm.cc and
// quantized_gemm_x86.h.
#if defined(__x86_64__) && defined(__GNUC__)

#include "quantized_gemm_x86.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "quantized_rows.h"

// No fused multiply-adds from contraction: the epilogues must round the same two operations
// (scale, then add) as the portable path to give the same bits.
#pragma GCC optimize("fp-contract=off")
// GCC 12 reports the deliberately undefined pass-through operand inside _mm512_cvtepi32_ps.
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace rnn {

namespace {

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
// One row's step of the AVX2 kernel (avx2_block) as one asm for the same reason (with the
// intrinsics GCC 12 hoisted the rows' broadcasts and spilled accumulators inside the k loop):
// the row's pair of int16 levels a is broadcast, and c0 += the pair's products with b0 (8
// columns, vpmaddwd: a0 q0 + a1 q1 per int32 lane), c1 with b1; registers 0-15.
__attribute__((target("avx2"))) inline void widened_dot_row(__m256i& c0, __m256i& c1, const int16_t* pair, __m256i b0,
                                                            __m256i b1) {
  __m256i a, t;
  asm("vpbroadcastd %[pair], %[a]\n\t"
      "vpmaddwd %[b0], %[a], %[t]\n\t"
      "vpaddd %[t], %[c0], %[c0]\n\t"
      "vpmaddwd %[b1], %[a], %[t]\n\t"
      "vpaddd %[t], %[c1], %[c1]"
      : [c0] "+x"(c0), [c1] "+x"(c1), [a] "=&x"(a), [t] "=&x"(t)
      : [pair] "m"(*reinterpret_cast<const int32_t*>(pair)), [b0] "x"(b0), [b1] "x"(b1));
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

// MR rows x 16 columns with AVX2 alone (no VNNI), on the widened panels: A's rows and the
// panel hold the levels as int16, in pairs of k, and per row and pair
//   vpbroadcastd (a0, a1); per 8 columns: vpmaddwd (int32 lanes a0 q0 + a1 q1, exact), vpaddd.
// Four operations per 32 products and nothing else: no sign or magnitude operations, as the
// byte form vpmaddubsw(|a|, sign(q, a)) needs (nine operations per 64 products; measured 1.60x
// the FMA kernel's products per second in L1 on Zen 5, this one 1.74x), and on Intel cores
// before Ice Lake, whose byte sign, magnitude and multiply operations share two ports, fewer
// operations on those ports. 6 rows: 12 accumulators, 2 B vectors, the pair and one product:
// the 16 ymm registers. The epilogue is the portable one's: float(sum) · (r_i s_j), then the
// mode's add.
template <int MR>
__attribute__((target("avx2,fma"))) void avx2_block(
    const int16_t* A, Index lda, const int16_t* P, Index K2, float* C, Index ldc, int cols,
    PackedMatrix<float>::Mode mode, const float* row_scale, const float* col_scale, const float* bias) {
  __m256i c0[MR], c1[MR];
  RNN_UNROLL for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_si256();
  for (Index k2 = 0; k2 < K2; ++k2) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P + k2 * 32));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(P + k2 * 32 + 16));
    RNN_UNROLL for (int i = 0; i < MR; ++i) widened_dot_row(c0[i], c1[i], A + i * lda + 2 * k2, b0, b1);
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

}  // namespace

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

namespace {

// Loads a[0 .. count) (count < 8), the other lanes 0: the rows' tails without scalar code.
__attribute__((target("avx2"))) inline __m256 load_head_avx2(const float* a, Index count) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(a, _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), lanes));
}

// max_k |a_k| of a row, 8 lanes at a time.
__attribute__((target("avx2"))) float row_magnitude_avx2(const float* a, Index k) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  __m256 max = _mm256_setzero_ps();
  Index kk = 0;
  for (; kk + 8 <= k; kk += 8) max = _mm256_max_ps(max, _mm256_and_ps(_mm256_loadu_ps(a + kk), magnitude));
  if (kk < k) max = _mm256_max_ps(max, _mm256_and_ps(load_head_avx2(a + kk, k - kk), magnitude));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  return _mm_cvtss_f32(m4);
}

}  // namespace

// quantize_row for the AVX-VNNI kernel, 32 values at a time: the same r_i and the same levels
// (x · (127/max) rounded to nearest even by vcvtps2dq, as nearbyint does; the saturating packs
// and the clamp to [-127, 127] keep them), written shifted, a + 128 = a ^ 0x80; the row padded
// to `stride` with 128.
__attribute__((target("avx2"))) float quantize_row_avx2(const float* a, Index k, uint8_t* out, Index stride) {
  const float m = row_magnitude_avx2(a, k);
  if (m == 0.0f) {
    std::memset(out, 128, size_t(stride));
    return 0.0f;
  }
  const float inverse_scalar = 127.0f / m;
  const __m256 inverse = _mm256_set1_ps(inverse_scalar);
  const __m256i lo = _mm256_set1_epi8(-127), flip = _mm256_set1_epi8(char(0x80));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  Index kk = 0;
  for (; kk + 32 <= k; kk += 32) {
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
    out[kk] = uint8_t(int(q) + 128);
  }
  std::memset(out + k, 128, size_t(stride - k));
  return m / 127.0f;
}

// quantize_row for the AVX2 kernel, 16 values at a time: the same r_i and levels, written as
// int16 (the widened rows avx2_block reads), padded to `stride` with 0.
__attribute__((target("avx2"))) float quantize_row_widened_avx2(const float* a, Index k, int16_t* out, Index stride) {
  const float m = row_magnitude_avx2(a, k);
  if (m == 0.0f) {
    std::memset(out, 0, size_t(stride) * sizeof(int16_t));
    return 0.0f;
  }
  const __m256 inverse = _mm256_set1_ps(127.0f / m);
  const __m256i lo = _mm256_set1_epi16(-127), hi = _mm256_set1_epi16(127);
  // 16 levels from two vectors of 8 values: the pack interleaves 4-value groups per 128-bit
  // lane (q0 low, q1 low, q0 high, q1 high); the permutation of 64-bit quarters (0, 2, 1, 3)
  // puts them back in order.
  const auto levels = [&](__m256 x0, __m256 x1) {
    const __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(x0, inverse)), q1 = _mm256_cvtps_epi32(_mm256_mul_ps(x1, inverse));
    return _mm256_min_epi16(_mm256_max_epi16(_mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8), lo), hi);
  };
  Index kk = 0;
  for (; kk + 16 <= k; kk += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + kk), levels(_mm256_loadu_ps(a + kk), _mm256_loadu_ps(a + kk + 8)));
  }
  if (kk < k) {  // the tail, zeros past k (level 0): through a copy, not past the row's end
    const Index rest = k - kk;
    const __m256 x0 = rest >= 8 ? _mm256_loadu_ps(a + kk) : load_head_avx2(a + kk, rest);
    const __m256 x1 = rest > 8 ? load_head_avx2(a + kk + 8, rest - 8) : _mm256_setzero_ps();
    alignas(32) int16_t tail[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(tail), levels(x0, x1));
    std::memcpy(out + kk, tail, size_t(std::min<Index>(16, stride - kk)) * sizeof(int16_t));
    kk += 16;
  }
  if (kk < stride) std::fill(out + kk, out + stride, int16_t(0));
  return m / 127.0f;
}

// [r - 1]: the block kernel for r rows.
const Int8Block kVnni512Blocks[8] = {vnni512_block<1>, vnni512_block<2>, vnni512_block<3>, vnni512_block<4>,
                                     vnni512_block<5>, vnni512_block<6>, vnni512_block<7>, vnni512_block<8>};
const Int8Block kAvxVnniBlocks[6] = {avx_vnni_block<1>, avx_vnni_block<2>, avx_vnni_block<3>,
                                     avx_vnni_block<4>, avx_vnni_block<5>, avx_vnni_block<6>};
const WidenedBlock kAvx2Blocks[6] = {avx2_block<1>, avx2_block<2>, avx2_block<3>,
                                     avx2_block<4>, avx2_block<5>, avx2_block<6>};
const Bf16Block kBf16Blocks[8] = {bf16_block<1>, bf16_block<2>, bf16_block<3>, bf16_block<4>,
                                  bf16_block<5>, bf16_block<6>, bf16_block<7>, bf16_block<8>};

}  // namespace rnn

#endif
