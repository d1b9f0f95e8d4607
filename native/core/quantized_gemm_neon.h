// The int8 kernels for 64-bit Arm (quantized_gemm_neon.cc), used by quantized_gemm.cc.
//
// Both multiply the signed levels directly (A's rows in [-127, 127], padded with 0; no shift
// and no correction) on panels of kNeonPanelWidth columns in the 4-k-per-column layout of the
// x86 kernels: group g of a panel holds, for each of its 16 columns side by side, the 4
// consecutive levels k = 4g .. 4g + 3 (64 bytes per group). Both read whole groups of 16 k, so
// the panels and A's rows hold K4 = neon_k_groups(k) groups (a multiple of 4), zero beyond k.
//
//   neon:     smull / smlal (int8 x int8 -> int16, two products per lane: |sum| <= 2·127² =
//             32258 < 2^15) and sadalp (int16 pairs added into int32): exact. Armv8-a.
//   neon-dot: sdot (4 int8 products added into each int32 lane): exact. Armv8.2-a dotprod
//             (asimddp), compiled with a target attribute and chosen at run time.
//
// The epilogue is the portable kernel's: float(sum) · (r_i s_j), then the mode's store, with
// the same two roundings (no contraction into FMA), so the results have the same bits.
#pragma once

#if defined(__aarch64__)

#include <cstdint>

#include "packed_gemm.h"

namespace rnn {

constexpr int kNeonPanelWidth = 16;
// Rows per block: neon 2 (16 int32 accumulators: 2 lanes per column), neon-dot 4.
constexpr int kNeonRows = 2;
constexpr int kNeonDotRows = 4;

// Groups of 4 k in the panels and A rows for depth k: ceil(k / 16) · 4.
inline Index neon_k_groups(Index k) { return (k + 15) / 16 * 4; }

// Whether this CPU has the dot-product instructions (HWCAP_ASIMDDP).
bool neon_has_dotprod();

// One block: rows rows (1 .. kNeonRows / kNeonDotRows) of A's levels (row stride lda, int8
// stored as bytes, 4·K4 of them) times one panel P (K4 groups): C's rows (stride ldc), the
// panel's first `cols` columns, per mode; row_scale [rows], col_scale and bias [16].
// The same signature as the x86 int8 blocks (there is no zero-point correction: unused).
using NeonInt8Block = void (*)(const uint8_t* A, Index lda, const int8_t* P, Index K4, float* C, Index ldc,
                               int cols, PackedMatrix<float>::Mode mode, const float* row_scale,
                               const float* col_scale, const int32_t* correction, const float* bias);
// [rows - 1]: the block for that many rows.
extern const NeonInt8Block kNeonBlocks[kNeonRows];
extern const NeonInt8Block kNeonDotBlocks[kNeonDotRows];

}  // namespace rnn

#endif  // __aarch64__
