#include "lstm.h"

#include <algorithm>
#include <type_traits>

#include "fused_cells.h"
#include "lstm_cell.h"
#include "parallel.h"

namespace rnn {

template <typename T>
void LstmDirection<T>::allocate(const PackedLayout& L, bool keep_for_backward) {
  const size_t u = size_t(this->units_);
  this->allocate_common(L, keep_for_backward);  // decides step_rows for this pass
  const size_t step_cells = this->step_rows(L) * u;
  C_.resize(size_t(L.batch) * u);
  Cprev_.resize(step_cells);
  Cact_.resize(step_cells);
}

template <typename T>
void LstmDirection<T>::allocate_backward(const PackedLayout& L) {
  this->allocate_common_backward(L);
  dC_.assign(size_t(L.batch) * this->units_, T(0));
}

template <typename T>
void LstmDirection<T>::forward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                               const T* h0, const T* c0, bool keep_for_backward) {
  const Index u = this->units_, gu = kLstmGates * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  allocate(L, keep_for_backward);
  const PackedMatrix<T>& W = this->prepare_gates(L, X, p);
  this->load_state(h0, this->S_);
  this->load_state(c0, C_);
  const PackedMatrix<T>& U = this->packed(U_, p, 0, gu, false);
  MapR<T> S(this->S_.data(), L.batch, u), C(C_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, false, [&](int, Index n, long r0) {
      const long k = this->step_row(r0, begin), g0 = this->gate_row(r0, begin);
      auto h_prev = S.middleRows(begin, n);
      auto c = C.middleRows(begin, n);
      // Backward reads h_{t-1}, c_{t-1}, act(c_t) and the gate activations of every step;
      // inference needs none of them.
      if (keep_for_backward) this->rows(this->Hprev_, k, n, u) = h_prev;
      auto G = this->rows(this->G_, g0, n, gu);
      this->project_step(W, X, r0, g0, n);                   // G = x_t W + b
      U.multiply(h_prev.data(), u, n, G.data(), gu, false);  // + h_{t-1} U
      parallel_rows(n, gu, [&](Index b, Index e) {
        const Index m = e - b;
        auto h = this->rows(this->H_, r0 + b, m, u);
        auto Cp = this->rows(Cprev_, k + b, m, u);
        auto Ca = this->rows(Cact_, k + b, m, u);
        if constexpr (std::is_same<T, float>::value) {
          LstmForwardRows step;
          step.rows = m;
          step.units = u;
          step.gates = G.middleRows(b, m).data();
          step.keep_gates = keep_for_backward;
          step.c = c.middleRows(b, m).data();
          step.c_prev = keep_for_backward ? Cp.data() : nullptr;
          step.c_act = keep_for_backward ? Ca.data() : nullptr;
          step.h = h.data();
          step.h_copy = S.middleRows(begin + b, m).data();
          lstm_forward_rows(act, rec, step);
        } else {
          // double (the gradient checks): the Eigen expressions of lstm_cell.h.
          Cp = c.middleRows(b, m);
          lstm_forward_step(act, rec, G.middleRows(b, m), Cp, c.middleRows(b, m), Ca, h);
          S.middleRows(begin + b, m) = h;
        }
      });
    });
  });
}

template <typename T>
void LstmDirection<T>::backward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                                const T* dH, const DirectionGrads<T>& grads, T* dX, T* dh0,
                                T* dc0) {
  const Index u = this->units_, gu = kLstmGates * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  allocate_backward(L);
  const PackedMatrix<T>& Ut = this->packed(Ut_, p, 0, gu, true);
  MapR<T> dS(this->dS_.data(), L.batch, u), dC(dC_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, true, [&](int, Index n, long r0) {
      auto G = this->rows(this->G_, r0, n, gu);
      auto dG = this->rows(this->dG_, r0, n, gu);
      auto Cp = this->rows(Cprev_, r0, n, u);
      auto Ca = this->rows(Cact_, r0, n, u);
      auto dHt = this->rows(dH, r0, n, u);
      auto dSg = dS.middleRows(begin, n);
      auto dCg = dC.middleRows(begin, n);
      parallel_rows(n, gu, [&](Index b, Index e) {
        const Index m = e - b;
        if constexpr (std::is_same<T, float>::value) {
          LstmBackwardRows step;
          step.rows = m;
          step.units = u;
          step.gates = G.middleRows(b, m).data();
          step.c_prev = Cp.middleRows(b, m).data();
          step.c_act = Ca.middleRows(b, m).data();
          step.dh = dSg.middleRows(b, m).data();
          step.dh_above = dHt.middleRows(b, m).data();
          step.dc = dCg.middleRows(b, m).data();
          step.d = dG.middleRows(b, m).data();
          lstm_backward_rows(act, rec, step);
        } else {
          auto dh = dSg.middleRows(b, m);
          dh += dHt.middleRows(b, m);  // dL/dh_t: from above and from step t+1
          lstm_backward_step(act, rec, G.middleRows(b, m), Cp.middleRows(b, m), Ca.middleRows(b, m),
                             dh, dCg.middleRows(b, m), dG.middleRows(b, m));
        }
      });
      Ut.multiply(dG.data(), gu, n, dSg.data(), u, true);  // dh_{t-1} = dG U^T
    });
  });
  // Weight gradients: one GEMM over all steps each. dU += H_{t-1}^T dG
  add_transposed_product(this->Hprev_.data(), u, this->dG_.data(), gu, Index(L.rows), u, gu,
                         grads.recurrent, gu);
  this->input_gradients(L, X, p, this->dG_.data(), grads.kernel, grads.bias, dX);
  if (dh0) std::copy(this->dS_.begin(), this->dS_.end(), dh0);
  if (dc0) std::copy(dC_.begin(), dC_.end(), dc0);
}

template class LstmDirection<float>;
template class LstmDirection<double>;

// This cell's entry in the cell table (cells.h) points here.
template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_lstm_direction(const LayerConfig& config, int input_size, bool reverse) {
  return std::make_unique<LstmDirection<T>>(config, input_size, reverse);
}
template std::unique_ptr<RecurrentDirection<float>> make_lstm_direction<float>(const LayerConfig&, int, bool);
template std::unique_ptr<RecurrentDirection<double>> make_lstm_direction<double>(const LayerConfig&, int, bool);

}  // namespace rnn
