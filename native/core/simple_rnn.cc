#include "simple_rnn.h"

#include <algorithm>

#include "activations.h"
#include "parallel.h"

namespace rnn {

template <typename T>
void SimpleRnnDirection<T>::forward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                                    const T* h0, const T*, bool keep_for_backward) {
  const Index u = this->units_;
  this->allocate_common(L, keep_for_backward);  // no buffers of its own
  const PackedMatrix<T>& W = this->prepare_gates(L, X, p);
  this->load_state(h0, this->S_);
  const PackedMatrix<T>& U = this->packed(U_, p, 0, u, false);
  MapR<T> S(this->S_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, false, [&](int, Index n, long r0) {
      const long g0 = this->gate_row(r0, begin);
      auto h_prev = S.middleRows(begin, n);
      this->rows(this->Hprev_, this->step_row(r0, begin), n, u) = h_prev;
      auto G = this->rows(this->G_, g0, n, u);
      this->project_step(W, X, r0, g0, n);  // G = x_t W + b
      U.multiply(h_prev.data(), u, n, G.data(), u, false);  // + h_{t-1} U
      parallel_rows(n, u, [&](Index b, Index e) {
        auto g = G.middleRows(b, e - b);
        apply_activation(this->config_.activation, g);  // h_t = act(.)
        S.middleRows(begin + b, e - b) = g;
      });
      this->rows(this->H_, r0, n, u) = G;
    });
  });
}

template <typename T>
void SimpleRnnDirection<T>::backward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                                     const T* dH, const DirectionGrads<T>& grads, T* dX, T* dh0,
                                     T*) {
  const Index u = this->units_;
  this->allocate_common_backward(L);
  const PackedMatrix<T>& Ut = this->packed(Ut_, p, 0, u, true);
  MapR<T> dS(this->dS_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, true, [&](int, Index n, long r0) {
      auto dG = this->rows(this->dG_, r0, n, u);
      auto H = this->rows(this->H_, r0, n, u);
      auto dHt = this->rows(dH, r0, n, u);
      auto dSg = dS.middleRows(begin, n);
      parallel_rows(n, u, [&](Index b, Index e) {
        auto d = dG.middleRows(b, e - b);
        d = dHt.middleRows(b, e - b) + dSg.middleRows(b, e - b);  // dh_t
        mul_activation_slope(this->config_.activation, H.middleRows(b, e - b), d);
      });
      Ut.multiply(dG.data(), u, n, dSg.data(), u, true);  // dh_{t-1} = dG U^T
    });
  });
  // dU += H_{t-1}^T dG over all steps at once
  add_transposed_product(this->Hprev_.data(), u, this->dG_.data(), u, Index(L.rows), u, u,
                         grads.recurrent, u);
  this->input_gradients(L, X, p, this->dG_.data(), grads.kernel, grads.bias, dX);
  if (dh0) std::copy(this->dS_.begin(), this->dS_.end(), dh0);
}

template class SimpleRnnDirection<float>;
template class SimpleRnnDirection<double>;

// This cell's entry in the cell table (cells.h) points here.
template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_simple_rnn_direction(const LayerConfig& config, int input_size, bool reverse) {
  return std::make_unique<SimpleRnnDirection<T>>(config, input_size, reverse);
}
template std::unique_ptr<RecurrentDirection<float>> make_simple_rnn_direction<float>(const LayerConfig&, int, bool);
template std::unique_ptr<RecurrentDirection<double>> make_simple_rnn_direction<double>(const LayerConfig&, int, bool);

}  // namespace rnn
