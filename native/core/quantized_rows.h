// What every int8/bf16 kernel shares (quantized_gemm.cc and the per-ISA kernel files): the
// bf16 rounding, a row of A as int8 levels, and the three store modes of a finished row. One
// definition, so that every kernel rounds and stores the same way (the bits must agree).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "packed_gemm.h"

namespace rnn {

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

}  // namespace rnn
