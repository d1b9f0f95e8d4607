// C[m, n] += A[m, k] B[k, n] for a B that stays the same over many products: the recurrent
// kernel, multiplied once per time step. A general GEMM (Eigen's) re-packs B on every call;
// here B is packed once per forward/backward pass into column panels laid out exactly as the
// register-blocked micro-kernel reads them, and each step only streams A.
//
// float with AVX-512 or AVX2+FMA gets the micro-kernels in packed_gemm.cc; other types and
// ISAs (double for the gradient checks, the SSE baseline) keep a plain copy of B and use Eigen.
#pragma once

#include <cstdint>

#include "eigen_types.h"
#include "model_config.h"

namespace rnn {

template <typename T>
class PackedMatrix {
 public:
  // Packs B [k, n] (row-major, row stride ldb), or, with transpose, the transpose of a
  // row-major [n, k] matrix (row stride ldb). Storage is reused when the shape does not grow.
  void pack(const T* B, Index ldb, Index k, Index n, bool transpose);

  // A row vector [n] added to every row of the product in kOverwritePlusBias mode.
  void set_bias(const T* bias);

  enum Mode { kAccumulate, kOverwrite, kOverwritePlusBias };
  // For row-major A (row stride lda) and C (row stride ldc):
  // kAccumulate: C[m, n] += A[m, k] * B; kOverwrite: C = A * B; kOverwritePlusBias: C = A * B + bias.
  void multiply(const T* A, Index lda, Index m, T* C, Index ldc, Mode mode) const {
    if (precision_ != Precision::kFloat32) {
      multiply_low_precision(A, lda, m, C, ldc, mode);
    } else {
      multiply_float(A, lda, m, C, ldc, mode);
    }
  }
  // Shorthand for the first two modes.
  void multiply(const T* A, Index lda, Index m, T* C, Index ldc, bool overwrite) const {
    multiply(A, lda, m, C, ldc, overwrite ? kOverwrite : kAccumulate);
  }

  Index rows() const { return k_; }
  Index cols() const { return n_; }

  // Packs B [k, n] (row-major, stride ldb) for int8 or bf16 products (quantized_gemm.cc):
  // float only; multiply() then quantizes A on the fly. Replaces any earlier packing.
  void pack_low_precision(const T* B, Index ldb, Index k, Index n, Precision precision);
  Precision precision() const { return precision_; }

 private:
  // The float product with the float panels in data_ (packed_gemm.cc).
  void multiply_float(const T* A, Index lda, Index m, T* C, Index ldc, Mode mode) const;
  // The int8 / bf16 product (quantized_gemm.cc).
  void multiply_low_precision(const T* A, Index lda, Index m, T* C, Index ldc, Mode mode) const;

  Buffer<T> data_;
  Buffer<T> bias_;  // [n], padded to whole panels (of either layout)
  Index k_ = 0, n_ = 0;
  Precision precision_ = Precision::kFloat32;
  // Low precision: which kernel the panels are laid out for (quantized_gemm.cc's LowKernel),
  // its panels, and per output column the weight scale and the int8 zero-point correction.
  int low_kernel_ = 0;
  Buffer<int8_t> low_panels_;
  Buffer<int16_t> wide_panels_;  // the avx2 int8 kernel's: the levels as int16, pairs of k
  Buffer<uint16_t> bf16_panels_;
  Buffer<float> column_scale_;
  Buffer<int32_t> column_correction_;
};

// Defined in quantized_gemm.cc.
template <>
void PackedMatrix<float>::pack_low_precision(const float*, Index, Index, Index, Precision);
template <>
void PackedMatrix<float>::multiply_low_precision(const float*, Index, Index, float*, Index, Mode) const;
template <>
void PackedMatrix<double>::pack_low_precision(const double*, Index, Index, Index, Precision);
template <>
void PackedMatrix<double>::multiply_low_precision(const double*, Index, Index, double*, Index, Mode) const;

// The kernel int8 products run on here: "avx512-vnni", "avx-vnni", "avx2" (x86-64), "neon-dot",
// "neon" (aarch64) or "portable" (exact integer sums on the float micro-kernels), and likewise
// for bf16: "avx512-bf16" or "portable". RNN_NODE_LOW_PRECISION_KERNEL=portable forces the
// portable ones (tests); another kernel's name picks it where the CPU has it.
const char* int8_kernel_name();
const char* bf16_kernel_name();

// C[m, n] += A^T B for row-major A [K, m] (row stride lda) and B [K, n] (row stride ldb),
// with K large: the weight gradients summed over every packed row (dU += H^T dG,
// dW += X^T dG). Split over the thread team by column panels.
template <typename T>
void add_transposed_product(const T* A, Index lda, const T* B, Index ldb, Index K, Index m, Index n,
                            T* C, Index ldc);

// Whether PackedMatrix<float> runs its own micro-kernels in this build (else Eigen).
bool packed_gemm_vectorized();

}  // namespace rnn
