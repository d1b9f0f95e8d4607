// The x86 int8 and bf16 kernels (quantized_gemm_x86.cc), used by quantized_gemm.cc.
//
// int8 panels (the VNNI kernels): group g of a panel holds, for each of its columns side by
// side, the 4 consecutive levels k = 4g .. 4g + 3 (vpdpbusd's lanes); A's rows hold 4·K4 bytes,
// shifted to a + 128 (unsigned), padded with 128, and a per-column correction 128·Σ_k q_kj is
// taken back out.
// Widened panels (avx2, no VNNI): the same levels as int16, in pairs of k (vpmaddwd's lanes);
// A's rows hold 2·K2 signed int16 levels padded with 0; no shift, no correction.
// bf16 panels: pairs of k (vdpbf16ps's lanes). Every block ends in the portable path's
// epilogue, float(sum) · (r_i s_j) then the mode's store, so every kernel gives its bits.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)

#include <cstdint>

#include "packed_gemm.h"

namespace rnn {

// One block: r rows of A's bytes (row stride lda) times one panel P (K groups): C's rows
// (stride ldc), the panel's first `cols` columns, per mode.
using Int8Block = void (*)(const uint8_t*, Index, const int8_t*, Index, float*, Index, int,
                           PackedMatrix<float>::Mode, const float*, const float*, const int32_t*, const float*);
using WidenedBlock = void (*)(const int16_t*, Index, const int16_t*, Index, float*, Index, int,
                              PackedMatrix<float>::Mode, const float*, const float*, const float*);
using Bf16Block = void (*)(const uint16_t*, Index, const uint16_t*, Index, float*, Index, int,
                           PackedMatrix<float>::Mode, const float*);

// [r - 1]: the block kernel for r rows.
extern const Int8Block kVnni512Blocks[8];
extern const Int8Block kAvxVnniBlocks[6];
extern const WidenedBlock kAvx2Blocks[6];
extern const Bf16Block kBf16Blocks[8];

// Row of A as int8 levels (the scalar quantize_row's levels), written to `out` and padded to
// `stride`: shifted by 128 (the VNNI kernels, with AVX-512 or AVX2 instructions), or as int16
// (the avx2 kernel's widened rows). Returns r_i.
float quantize_row_avx512(const float* a, Index k, uint8_t* out, Index stride);
float quantize_row_avx2(const float* a, Index k, uint8_t* out, Index stride);
float quantize_row_widened_avx2(const float* a, Index k, int16_t* out, Index stride);

}  // namespace rnn

#endif
