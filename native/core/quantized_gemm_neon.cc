// The int8 kernels for 64-bit Arm: see quantized_gemm_neon.h for the layout and the exactness
// argument, and quantized_gemm.cc for the quantization. Compiled on aarch64 only.
#if defined(__aarch64__)

#include "quantized_gemm_neon.h"

#include <arm_neon.h>

#include <cstring>

#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

// No fused multiply-adds from contraction: the epilogue must round the scale and the add
// separately, as the portable path does, to give the same bits. And no scheduling before
// register allocation: with it GCC 12 hoisted the next groups' panel loads and spilled
// accumulators to the stack inside the k loop of both kernels (seen in the disassembly).
#pragma GCC optimize("fp-contract=off", "no-schedule-insns")

#define RNN_UNROLL _Pragma("GCC unroll 16")

namespace rnn {

bool neon_has_dotprod() {
#if defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
  int has = 0;
  size_t size = sizeof(has);
  return sysctlbyname("hw.optional.arm.FEAT_DotProd", &has, &size, nullptr, 0) == 0 && has != 0;
#else
  return false;
#endif
}

namespace {

// One row of 16 exact sums (4 vectors of 4 columns) into C: float(sum) · (r s_j), then the
// mode's store (portable: v = s · (r · s_j); C += v, or v + bias, or v).
inline void store_sums(const int32x4_t (&sums)[4], float r, const float* col_scale, float* c, int cols,
                       PackedMatrix<float>::Mode mode, const float* bias) {
  const float32x4_t rv = vdupq_n_f32(r);
  float32x4_t v[4];
  RNN_UNROLL for (int q = 0; q < 4; ++q) v[q] = vmulq_f32(vcvtq_f32_s32(sums[q]), vmulq_f32(rv, vld1q_f32(col_scale + 4 * q)));
  const bool accumulate = mode == PackedMatrix<float>::kAccumulate;
  const bool plus_bias = mode == PackedMatrix<float>::kOverwritePlusBias;
  if (cols == kNeonPanelWidth) {
    RNN_UNROLL for (int q = 0; q < 4; ++q) {
      if (accumulate) v[q] = vaddq_f32(vld1q_f32(c + 4 * q), v[q]);
      else if (plus_bias) v[q] = vaddq_f32(v[q], vld1q_f32(bias + 4 * q));
      vst1q_f32(c + 4 * q, v[q]);
    }
    return;
  }
  // A last, narrower panel: only its columns of C are read or written.
  float w[kNeonPanelWidth];
  RNN_UNROLL for (int q = 0; q < 4; ++q) vst1q_f32(w + 4 * q, v[q]);
  for (int j = 0; j < cols; ++j) {
    if (accumulate) c[j] += w[j];
    else c[j] = plus_bias ? w[j] + bias[j] : w[j];
  }
}

// MR rows x 16 columns, Armv8-a NEON. Per two groups g, g+1 (8 k) and 4 columns (16 bytes of
// each group): smull/smull2 of a group's bytes with the row's 4 levels (repeated), smlal/smlal2
// of the next group's, so each int16 lane holds two products (col, k) + (col, k + 4), and sadalp
// adds its int16 pairs into the int32 accumulators: lo holds columns 0-1 of the 4 (2 lanes
// each), hi columns 2-3; addp folds them into one sum per column at the end.
template <int MR>
void neon_block(const uint8_t* A, Index lda, const int8_t* P, Index K4, float* C, Index ldc, int cols,
                PackedMatrix<float>::Mode mode, const float* row_scale, const float* col_scale, const int32_t*,
                const float* bias) {
  const int8_t* a = reinterpret_cast<const int8_t*>(A);
  int32x4_t lo[MR][4], hi[MR][4];
  RNN_UNROLL for (int i = 0; i < MR; ++i) RNN_UNROLL for (int q = 0; q < 4; ++q) lo[i][q] = hi[i][q] = vdupq_n_s32(0);
  for (Index g = 0; g < K4; g += 2) {
    int8x16_t a0[MR], a1[MR];
    RNN_UNROLL for (int i = 0; i < MR; ++i) {
      int32_t x0, x1;
      std::memcpy(&x0, a + i * lda + 4 * g, 4);
      std::memcpy(&x1, a + i * lda + 4 * g + 4, 4);
      a0[i] = vreinterpretq_s8_s32(vdupq_n_s32(x0));
      a1[i] = vreinterpretq_s8_s32(vdupq_n_s32(x1));
    }
    const int8_t* p = P + g * 64;
    RNN_UNROLL for (int q = 0; q < 4; ++q) {
      const int8x16_t b0 = vld1q_s8(p + 16 * q), b1 = vld1q_s8(p + 64 + 16 * q);
      RNN_UNROLL for (int i = 0; i < MR; ++i) {
        int16x8_t pl = vmull_s8(vget_low_s8(b0), vget_low_s8(a0[i]));
        pl = vmlal_s8(pl, vget_low_s8(b1), vget_low_s8(a1[i]));
        lo[i][q] = vpadalq_s16(lo[i][q], pl);
        int16x8_t ph = vmull_high_s8(b0, a0[i]);
        ph = vmlal_high_s8(ph, b1, a1[i]);
        hi[i][q] = vpadalq_s16(hi[i][q], ph);
      }
    }
  }
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    int32x4_t sums[4];
    RNN_UNROLL for (int q = 0; q < 4; ++q) sums[q] = vpaddq_s32(lo[i][q], hi[i][q]);
    store_sums(sums, row_scale[i], col_scale, C + i * ldc, cols, mode, bias);
  }
}

#define RNN_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))

// One k-group of the dot kernel: lane L of each row's 16 levels (its group L of 4 k) against
// the group's 4 vectors of 4 columns x 4 k: sdot adds the 4 products into each column's lane.
// sdot by element through inline assembly: with vdotq_laneq_s32 GCC 12 moved accumulators
// between registers inside the k loop (a mov per few sdot); an asm with the accumulator as a
// read-write operand keeps each in one register.
template <int L>
RNN_DOTPROD inline __attribute__((always_inline)) int32x4_t sdot_lane(int32x4_t acc, int8x16_t b, int8x16_t a) {
  asm("sdot %0.4s, %1.16b, %2.4b[%3]" : "+w"(acc) : "w"(b), "w"(a), "i"(L));
  return acc;
}

template <int L, int MR>
RNN_DOTPROD inline __attribute__((always_inline)) void dot_group(int32x4_t (&acc)[MR][4], const int8x16_t (&a)[MR],
                                                                 const int8_t* p) {
  const int8x16_t b0 = vld1q_s8(p), b1 = vld1q_s8(p + 16), b2 = vld1q_s8(p + 32), b3 = vld1q_s8(p + 48);
  RNN_UNROLL for (int i = 0; i < MR; ++i) {
    acc[i][0] = sdot_lane<L>(acc[i][0], b0, a[i]);
    acc[i][1] = sdot_lane<L>(acc[i][1], b1, a[i]);
    acc[i][2] = sdot_lane<L>(acc[i][2], b2, a[i]);
    acc[i][3] = sdot_lane<L>(acc[i][3], b3, a[i]);
  }
}

// MR rows x 16 columns with sdot (Armv8.2-a dotprod): per 16 k, one load of each row's 16
// levels and, for each of its 4 groups, 4 panel vectors and 4·MR sdot (by lane).
// 4 rows: 16 accumulators, 4 rows of A, 4 panel vectors: 24 of the 32 registers.
template <int MR>
RNN_DOTPROD void neon_dot_block(const uint8_t* A, Index lda, const int8_t* P, Index K4, float* C, Index ldc,
                                int cols, PackedMatrix<float>::Mode mode, const float* row_scale,
                                const float* col_scale, const int32_t*, const float* bias) {
  const int8_t* a = reinterpret_cast<const int8_t*>(A);
  int32x4_t acc[MR][4];
  RNN_UNROLL for (int i = 0; i < MR; ++i) RNN_UNROLL for (int q = 0; q < 4; ++q) acc[i][q] = vdupq_n_s32(0);
  for (Index g = 0; g < K4; g += 4) {
    int8x16_t av[MR];
    RNN_UNROLL for (int i = 0; i < MR; ++i) av[i] = vld1q_s8(a + i * lda + 4 * g);
    const int8_t* p = P + g * 64;
    dot_group<0, MR>(acc, av, p);
    dot_group<1, MR>(acc, av, p + 64);
    dot_group<2, MR>(acc, av, p + 128);
    dot_group<3, MR>(acc, av, p + 192);
  }
  RNN_UNROLL for (int i = 0; i < MR; ++i) store_sums(acc[i], row_scale[i], col_scale, C + i * ldc, cols, mode, bias);
}

}  // namespace

const NeonInt8Block kNeonBlocks[kNeonRows] = {neon_block<1>, neon_block<2>};
const NeonInt8Block kNeonDotBlocks[kNeonDotRows] = {neon_dot_block<1>, neon_dot_block<2>, neon_dot_block<3>,
                                                    neon_dot_block<4>};

}  // namespace rnn

#endif  // __aarch64__
