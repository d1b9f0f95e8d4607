// C[m, n] += A[m, k] B[k, n] for a B that stays the same over many products: the recurrent
// kernel, multiplied once per time step. A general GEMM (Eigen's) re-packs B on every call;
// here B is packed once per forward/backward pass into column panels laid out exactly as the
// register-blocked micro-kernel reads them, and each step only streams A.
//
// float with AVX-512 or AVX2+FMA gets the micro-kernels in packed_gemm.cc; other types and
// ISAs (double for the gradient checks, the SSE baseline) keep a plain copy of B and use Eigen.
#pragma once

#include "eigen_types.h"

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
  void multiply(const T* A, Index lda, Index m, T* C, Index ldc, Mode mode) const;
  // Shorthand for the first two modes.
  void multiply(const T* A, Index lda, Index m, T* C, Index ldc, bool overwrite) const {
    multiply(A, lda, m, C, ldc, overwrite ? kOverwrite : kAccumulate);
  }

  Index rows() const { return k_; }
  Index cols() const { return n_; }

 private:
  Buffer<T> data_;
  Buffer<T> bias_;  // [n], padded to whole panels
  Index k_ = 0, n_ = 0;
};

// C[m, n] += A^T B for row-major A [K, m] (row stride lda) and B [K, n] (row stride ldb),
// with K large: the weight gradients summed over every packed row (dU += H^T dG,
// dW += X^T dG). Split over the thread team by column panels.
template <typename T>
void add_transposed_product(const T* A, Index lda, const T* B, Index ldb, Index K, Index m, Index n,
                            T* C, Index ldc);

// Whether PackedMatrix<float> runs its own micro-kernels in this build (else Eigen).
bool packed_gemm_vectorized();

}  // namespace rnn
