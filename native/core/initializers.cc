// Weight initialisers, drawn from our own PRNG so a seed means the same weights everywhere.
// Each tensor role has Keras's initialiser and PyTorch's, chosen per model (model_config.h):
//   embedding   Keras U(-0.05, 0.05)                      PyTorch N(0, 1)
//   kernel      Keras glorot U(±sqrt(6 / (fan_in + fan_out)))   PyTorch U(±1/sqrt(units))
//   recurrent   Keras orthogonal                          PyTorch U(±1/sqrt(units))
//   bias        Keras zeros                               PyTorch b_ih + b_hh, each U(±1/sqrt(units))
// With unit_forget_bias the LSTM forget-gate bias is 1 whatever the bias initialiser (Keras).
// The dense head is always glorot-uniform with zero bias.
#include <Eigen/QR>
#include <algorithm>
#include <cmath>

#include "gates.h"
#include "network.h"
#include "rng.h"

namespace rnn {

namespace {

template <typename T>
void uniform_fill(T* out, long n, double limit, Rng& rng) {
  for (long i = 0; i < n; ++i) out[i] = T((2.0 * rng.uniform() - 1.0) * limit);
}

template <typename T>
void normal_fill(T* out, long n, Rng& rng) {
  for (long i = 0; i < n; ++i) out[i] = T(rng.normal());
}

// PyTorch's recurrent layers add two biases, b_ih + b_hh, each U(±k): one stored bias gets
// the distribution of that sum; a [2, G*units] bias (GRU reset_after) holds both as they are.
template <typename T>
void torch_bias_fill(T* out, long n, bool two_rows, double limit, Rng& rng) {
  if (two_rows) return uniform_fill(out, n, limit, rng);
  for (long i = 0; i < n; ++i) {
    const double b_ih = (2.0 * rng.uniform() - 1.0) * limit;
    const double b_hh = (2.0 * rng.uniform() - 1.0) * limit;
    out[i] = T(b_ih + b_hh);
  }
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
    const LayerConfig* l = s.layer >= 0 ? &config_.layers[s.layer] : nullptr;
    const double torch_limit = l ? 1.0 / std::sqrt(double(l->units)) : 0.0;
    const double glorot_limit =
        s.shape.size() == 2 ? std::sqrt(6.0 / double(s.shape[0] + s.shape[1])) : 0.0;
    switch (s.role) {
      case TensorRole::kEmbedding:
        if (config_.embedding_init == EmbeddingInit::kNormal) normal_fill(w, s.size, rng);
        else uniform_fill(w, s.size, 0.05, rng);
        break;
      case TensorRole::kKernel:
        uniform_fill(w, s.size, l->kernel_init == KernelInit::kTorchUniform ? torch_limit : glorot_limit, rng);
        break;
      case TensorRole::kDenseKernel: uniform_fill(w, s.size, glorot_limit, rng); break;
      case TensorRole::kRecurrent:
        if (l->recurrent_init == RecurrentInit::kTorchUniform) uniform_fill(w, s.size, torch_limit, rng);
        else orthogonal_fill(w, s.shape[0], s.shape[1], rng);
        break;
      case TensorRole::kBias:
        if (l->bias_init == BiasInit::kTorchUniform) torch_bias_fill(w, s.size, s.shape.size() == 2, torch_limit, rng);
        else std::fill(w, w + s.size, T(0));
        if (l->cell == CellType::kLstm && l->unit_forget_bias) {
          // The forget gate's block, in every bias row.
          for (long row = 0; row < s.size; row += long(kLstmGates) * l->units) {
            T* forget = w + row + gate_column(LstmGate::kForget, Index(l->units));
            std::fill(forget, forget + l->units, T(1));
          }
        }
        break;
      case TensorRole::kDenseBias: std::fill(w, w + s.size, T(0)); break;
    }
  }
}

template void Network<float>::initialize(float*, uint64_t) const;
template void Network<double>::initialize(double*, uint64_t) const;

}  // namespace rnn
