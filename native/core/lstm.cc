#include "lstm.h"

#include <algorithm>

#include "activations.h"
#include "parallel.h"

namespace rnn {

template <typename T>
void LstmDirection<T>::forward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                               const T* h0, const T* c0, bool keep_for_backward) {
  const Index u = this->units_, gu = 4 * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  const PackedMatrix<T>& W = this->prepare_gates(L, X, p, keep_for_backward);
  this->load_state(L, h0, this->S_);
  this->load_state(L, c0, C_);
  const size_t cells = this->step_rows(L) * u;
  this->H_.resize(size_t(L.rows) * u);
  this->Hprev_.resize(cells);
  Cprev_.resize(cells);
  Cact_.resize(cells);
  const PackedMatrix<T>& U = this->packed(U_, p, 0, gu, false);
  MapR<T> S(this->S_.data(), L.batch, u), C(C_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, false, [&](int, Index n, long r0) {
      const long k = this->step_row(r0, begin), g0 = this->gate_row(r0, begin);
      auto h_prev = S.middleRows(begin, n);
      auto c = C.middleRows(begin, n);
      this->rows(this->Hprev_, k, n, u) = h_prev;
      auto Cp = this->rows(Cprev_, k, n, u);
      Cp = c;
      auto G = this->rows(this->G_, g0, n, gu);
      this->project_step(W, X, r0, g0, n);                   // G = x_t W + b
      U.multiply(h_prev.data(), u, n, G.data(), gu, false);  // + h_{t-1} U
      parallel_rows(n, gu, [&](Index b, Index e) {
        const Index m = e - b;
        auto g = G.middleRows(b, m);
        apply_recurrent_activation(rec, g.leftCols(2 * u));  // i, f
        apply_activation(act, g.middleCols(2 * u, u));       // g
        apply_recurrent_activation(rec, g.rightCols(u));     // o
        // c_t = f * c_{t-1} + i * g
        auto ct = c.middleRows(b, m);
        ct = g.middleCols(u, u).cwiseProduct(Cp.middleRows(b, m)) +
             g.leftCols(u).cwiseProduct(g.middleCols(2 * u, u));
        auto ca = this->rows(Cact_, k + b, m, u);
        ca = ct;
        apply_activation(act, ca);
        // h_t = o * act(c_t)
        auto h = this->rows(this->H_, r0 + b, m, u);
        h = g.rightCols(u).cwiseProduct(ca);
        S.middleRows(begin + b, m) = h;
      });
    });
  });
}

template <typename T>
void LstmDirection<T>::backward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                                const T* dH, const DirectionGrads<T>& grads, T* dX, T* dh0,
                                T* dc0) {
  const Index u = this->units_, gu = 4 * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  this->dG_.resize(size_t(L.rows) * gu);
  this->dS_.assign(size_t(L.batch) * u, T(0));
  dC_.assign(size_t(L.batch) * u, T(0));
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
        auto g = G.middleRows(b, m);
        auto d = dG.middleRows(b, m);
        auto ca = Ca.middleRows(b, m);
        auto dc = dCg.middleRows(b, m);
        // dh_t = dL/dh_t from above + from step t+1; do = dh * act(c)
        auto dh = dSg.middleRows(b, m);
        dh += dHt.middleRows(b, m);
        d.rightCols(u) = dh.cwiseProduct(ca);
        mul_recurrent_slope(rec, g.rightCols(u), d.rightCols(u));
        // dc_t += dh * o * act'(c_t): d.leftCols(u) is scratch for dh * o
        auto scratch = d.leftCols(u);
        scratch = dh.cwiseProduct(g.rightCols(u));
        mul_activation_slope(act, ca, scratch);
        dc += scratch;
        // di = dc * g, dg = dc * i, df = dc * c_{t-1}; dc_{t-1} = dc * f
        d.leftCols(u) = dc.cwiseProduct(g.middleCols(2 * u, u));
        d.middleCols(2 * u, u) = dc.cwiseProduct(g.leftCols(u));
        d.middleCols(u, u) = dc.cwiseProduct(Cp.middleRows(b, m));
        dc = dc.cwiseProduct(g.middleCols(u, u));
        mul_recurrent_slope(rec, g.leftCols(2 * u), d.leftCols(2 * u));
        mul_activation_slope(act, g.middleCols(2 * u, u), d.middleCols(2 * u, u));
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

}  // namespace rnn
