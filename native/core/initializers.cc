// Keras default initialisers, drawn from our own PRNG so a seed means the same weights
// everywhere: glorot-uniform kernels, orthogonal recurrent kernels, zero biases (LSTM
// forget-gate bias 1 with unit_forget_bias), uniform(-0.05, 0.05) embeddings.
#include <Eigen/QR>
#include <algorithm>
#include <cmath>

#include "network.h"
#include "rng.h"

namespace rnn {

namespace {

template <typename T>
void uniform_fill(T* out, long n, double limit, Rng& rng) {
  for (long i = 0; i < n; ++i) out[i] = T((2.0 * rng.uniform() - 1.0) * limit);
}

// Rows x cols with orthonormal rows (rows <= cols) or columns, as Keras's Orthogonal:
// QR of a Gaussian matrix, signs fixed by R's diagonal so the result is uniform.
template <typename T>
void orthogonal_fill(T* out, long rows, long cols, Rng& rng) {
  const long tall = std::max(rows, cols), narrow = std::min(rows, cols);
  Eigen::MatrixXd a(tall, narrow);
  for (long i = 0; i < tall; ++i)
    for (long j = 0; j < narrow; ++j) a(i, j) = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(tall, narrow);
  for (long j = 0; j < narrow; ++j)
    if (qr.matrixQR()(j, j) < 0) q.col(j) = -q.col(j);
  MapR<T> w(out, rows, cols);
  if (rows < cols) w = q.transpose().cast<T>();
  else w = q.cast<T>();
}

}  // namespace

template <typename T>
void Network<T>::initialize(T* P, uint64_t seed) const {
  Rng rng(seed);
  for (const TensorSlot& s : params_.tensors) {
    T* w = P + s.offset;
    switch (s.role) {
      case TensorRole::kEmbedding: uniform_fill(w, s.size, 0.05, rng); break;
      case TensorRole::kKernel:
      case TensorRole::kDenseKernel:
        uniform_fill(w, s.size, std::sqrt(6.0 / double(s.shape[0] + s.shape[1])), rng);
        break;
      case TensorRole::kRecurrent: orthogonal_fill(w, s.shape[0], s.shape[1], rng); break;
      case TensorRole::kBias:
      case TensorRole::kDenseBias: {
        std::fill(w, w + s.size, T(0));
        if (s.role == TensorRole::kBias) {
          const LayerConfig& l = config_.layers[s.layer];
          if (l.cell == CellType::kLstm && l.unit_forget_bias)
            std::fill(w + l.units, w + 2 * l.units, T(1));
        }
        break;
      }
    }
  }
}

template void Network<float>::initialize(float*, uint64_t) const;
template void Network<double>::initialize(double*, uint64_t) const;

}  // namespace rnn
