#include "lstm.h"

#include <algorithm>

#include "activations.h"
#include "parallel.h"

namespace rnn {

template <typename T>
void LstmDirection<T>::forward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                               const T* h0, const T* c0) {
  const Index u = this->units_, gu = 4 * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  this->project_inputs(L, X, p, this->G_);
  this->load_state(L, h0, this->S_);
  this->load_state(L, c0, C_);
  const size_t cells = size_t(L.rows) * u;
  this->H_.resize(cells);
  this->Hprev_.resize(cells);
  Cprev_.resize(cells);
  Cact_.resize(cells);
  ConstMapR<T> U(p.recurrent, u, gu);
  MapR<T> S(this->S_.data(), L.batch, u), C(C_.data(), L.batch, u);
  for (int s = 0; s < L.steps; ++s) {
    const int t = this->step_at(L, s);
    const Index n = L.active[t];
    const long r0 = L.offset[t];
    this->rows(this->Hprev_, r0, n, u) = S.topRows(n);
    auto Cp = this->rows(Cprev_, r0, n, u);
    Cp = C.topRows(n);
    auto G = this->rows(this->G_, r0, n, gu);
    G.noalias() += S.topRows(n) * U;
    auto H = this->rows(this->H_, r0, n, u);
    auto Ca = this->rows(Cact_, r0, n, u);
    parallel_rows(n, gu, [&](Index b, Index e) {
      const Index m = e - b;
      auto g = G.middleRows(b, m);
      apply_recurrent_activation(rec, g.leftCols(2 * u));  // i, f
      apply_activation(act, g.middleCols(2 * u, u));       // g
      apply_recurrent_activation(rec, g.rightCols(u));     // o
      auto c = C.middleRows(b, m);
      // c_t = f * c_{t-1} + i * g
      c = g.middleCols(u, u).cwiseProduct(Cp.middleRows(b, m)) +
          g.leftCols(u).cwiseProduct(g.middleCols(2 * u, u));
      auto ca = Ca.middleRows(b, m);
      ca = c;
      apply_activation(act, ca);
      // h_t = o * act(c_t)
      auto h = H.middleRows(b, m);
      h = g.rightCols(u).cwiseProduct(ca);
      S.middleRows(b, m) = h;
    });
  }
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
  ConstMapR<T> U(p.recurrent, u, gu);
  MapR<T> dS(this->dS_.data(), L.batch, u), dC(dC_.data(), L.batch, u);
  for (int s = L.steps - 1; s >= 0; --s) {
    const int t = this->step_at(L, s);
    const Index n = L.active[t];
    const long r0 = L.offset[t];
    auto G = this->rows(this->G_, r0, n, gu);
    auto dG = this->rows(this->dG_, r0, n, gu);
    auto Cp = this->rows(Cprev_, r0, n, u);
    auto Ca = this->rows(Cact_, r0, n, u);
    auto dHt = this->rows(dH, r0, n, u);
    parallel_rows(n, gu, [&](Index b, Index e) {
      const Index m = e - b;
      auto g = G.middleRows(b, m);
      auto d = dG.middleRows(b, m);
      auto ca = Ca.middleRows(b, m);
      auto dc = dC.middleRows(b, m);
      // dh_t = dL/dh_t from above + from step t+1; do = dh * act(c)
      auto dh = dS.middleRows(b, m);
      dh += dHt.middleRows(b, m);
      d.rightCols(u) = dh.cwiseProduct(ca);
      mul_recurrent_slope(rec, g.rightCols(u), d.rightCols(u));
      // dc_t += dh * o * act'(c_t): use d.leftCols(u) as scratch for dh * o
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
    dS.topRows(n).noalias() = dG * U.transpose();  // dh_{t-1}
  }
  ConstMapR<T> dGall(this->dG_.data(), L.rows, gu);
  MapR<T>(grads.recurrent, u, gu).noalias() +=
      ConstMapR<T>(this->Hprev_.data(), L.rows, u).transpose() * dGall;
  this->input_gradients(L, X, p, this->dG_.data(), grads.kernel, grads.bias, dX);
  if (dh0) std::copy(this->dS_.begin(), this->dS_.end(), dh0);
  if (dc0) std::copy(dC_.begin(), dC_.end(), dc0);
}

template class LstmDirection<float>;
template class LstmDirection<double>;

}  // namespace rnn
