#include "gru.h"

#include <algorithm>

#include "activations.h"
#include "parallel.h"

namespace rnn {

template <typename T>
void GruDirection<T>::forward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                              const T* h0, const T*, bool keep_for_backward) {
  const Index u = this->units_, gu = 3 * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  const bool after = this->config_.reset_after;
  const PackedMatrix<T>& W = this->prepare_gates(L, X, p, keep_for_backward);  // input bias only, in both forms
  this->load_state(L, h0, this->S_);
  const size_t cells = this->step_rows(L) * u;
  this->H_.resize(size_t(L.rows) * u);
  this->Hprev_.resize(cells);
  Aux_.resize(cells);
  if (after) Q_.resize(size_t(L.batch) * gu);
  // reset_after: all of U at once, with the recurrent bias; legacy: the z|r block, then the
  // h block on r * h.
  const PackedMatrix<T>* U = after ? &this->packed(U_, p.recurrent, u, gu, false, p.version, p.bias + gu) : nullptr;
  const PackedMatrix<T>* Uzr = after ? nullptr : &this->packed(Uzr_, p, 0, 2 * u, false);
  const PackedMatrix<T>* Uh = after ? nullptr : &this->packed(Uh_, p, 2 * u, u, false);
  MapR<T> S(this->S_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, false, [&](int, Index n, long r0) {
      const long k = this->step_row(r0, begin), g0 = this->gate_row(r0, begin);
      auto Hp = this->rows(this->Hprev_, k, n, u);
      Hp = S.middleRows(begin, n);
      auto G = this->rows(this->G_, g0, n, gu);
      this->project_step(W, X, r0, g0, n);  // G = x_t W + b_in
      auto A = this->rows(Aux_, k, n, u);
      auto H = this->rows(this->H_, r0, n, u);
      if (after) {
        auto Q = this->rows(Q_, begin, n, gu);  // this group's rows of the step scratch
        U->multiply(Hp.data(), u, n, Q.data(), gu, PackedMatrix<T>::kOverwritePlusBias);  // Q = h_{t-1} U + b_rec
        parallel_rows(n, gu, [&](Index b, Index e) {
          const Index m = e - b;
          auto g = G.middleRows(b, m);
          auto q = Q.middleRows(b, m);
          g.leftCols(2 * u) += q.leftCols(2 * u);
          apply_recurrent_activation(rec, g.leftCols(2 * u));  // z, r
          A.middleRows(b, m) = q.rightCols(u);                 // qh, kept for backward
          g.rightCols(u) += g.middleCols(u, u).cwiseProduct(q.rightCols(u));
          apply_activation(act, g.rightCols(u));               // hh
        });
      } else {
        Uzr->multiply(Hp.data(), u, n, G.data(), gu, false);  // z|r += h_{t-1} U_zr
        parallel_rows(n, 2 * u, [&](Index b, Index e) {
          const Index m = e - b;
          auto g = G.middleRows(b, m);
          apply_recurrent_activation(rec, g.leftCols(2 * u));  // z, r
          A.middleRows(b, m) = g.middleCols(u, u).cwiseProduct(Hp.middleRows(b, m));  // r * h
        });
        Uh->multiply(A.data(), u, n, G.data() + 2 * u, gu, false);  // hh += (r * h) U_h
        parallel_rows(n, u, [&](Index b, Index e) {
          apply_activation(act, G.middleRows(b, e - b).rightCols(u));  // hh
        });
      }
      parallel_rows(n, gu, [&](Index b, Index e) {
        const Index m = e - b;
        auto g = G.middleRows(b, m);
        auto h = H.middleRows(b, m);
        // h_t = z * h_{t-1} + (1 - z) * hh = hh + z * (h_{t-1} - hh)
        h = g.rightCols(u) + g.leftCols(u).cwiseProduct(Hp.middleRows(b, m) - g.rightCols(u));
        S.middleRows(begin + b, m) = h;
      });
    });
  });
}

template <typename T>
void GruDirection<T>::backward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                               const T* dH, const DirectionGrads<T>& grads, T* dX, T* dh0, T*) {
  const Index u = this->units_, gu = 3 * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  const bool after = this->config_.reset_after;
  this->dG_.resize(size_t(L.rows) * gu);
  this->dS_.assign(size_t(L.batch) * u, T(0));
  if (after) dGh_.resize(size_t(L.rows) * gu);
  else dAux_.resize(size_t(L.batch) * u);
  const PackedMatrix<T>* Ut = after ? &this->packed(Ut_, p, 0, gu, true) : nullptr;
  const PackedMatrix<T>* Uzr_t = after ? nullptr : &this->packed(Uzr_t_, p, 0, 2 * u, true);
  const PackedMatrix<T>* Uh_t = after ? nullptr : &this->packed(Uh_t_, p, 2 * u, u, true);
  MapR<T> dS(this->dS_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, true, [&](int, Index n, long r0) {
      auto G = this->rows(this->G_, r0, n, gu);
      auto dG = this->rows(this->dG_, r0, n, gu);
      auto Hp = this->rows(this->Hprev_, r0, n, u);
      auto A = this->rows(Aux_, r0, n, u);
      auto dHt = this->rows(dH, r0, n, u);
      auto dSg = dS.middleRows(begin, n);
      // Common part: dh_t, dz, dhh (pre-activation).
      parallel_rows(n, gu, [&](Index b, Index e) {
        const Index m = e - b;
        auto g = G.middleRows(b, m);
        auto d = dG.middleRows(b, m);
        auto dh = dSg.middleRows(b, m);
        dh += dHt.middleRows(b, m);
        // dz = dh * (h_{t-1} - hh)
        d.leftCols(u) = dh.cwiseProduct(Hp.middleRows(b, m) - g.rightCols(u));
        mul_recurrent_slope(rec, g.leftCols(u), d.leftCols(u));
        // dhh = dh * (1 - z), through act'
        d.rightCols(u) = dh.array() * (T(1) - g.leftCols(u).array());
        mul_activation_slope(act, g.rightCols(u), d.rightCols(u));
      });
      if (after) {
        auto dGh = this->rows(dGh_, r0, n, gu);
        parallel_rows(n, gu, [&](Index b, Index e) {
          const Index m = e - b;
          auto g = G.middleRows(b, m);
          auto d = dG.middleRows(b, m);
          auto dq = dGh.middleRows(b, m);
          // dr = dhh_pre * qh; dqh = dhh_pre * r
          d.middleCols(u, u) = d.rightCols(u).cwiseProduct(A.middleRows(b, m));
          mul_recurrent_slope(rec, g.middleCols(u, u), d.middleCols(u, u));
          dq.leftCols(2 * u) = d.leftCols(2 * u);
          dq.rightCols(u) = d.rightCols(u).cwiseProduct(g.middleCols(u, u));
          // direct path of h_{t-1}: dh * z
          auto dh = dSg.middleRows(b, m);
          dh = dh.cwiseProduct(g.leftCols(u));
        });
        Ut->multiply(dGh.data(), gu, n, dSg.data(), u, false);  // += dGh U^T
      } else {
        auto dA = this->rows(dAux_, begin, n, u);  // this group's rows of the step scratch
        Uh_t->multiply(dG.data() + 2 * u, gu, n, dA.data(), u, true);  // d(r * h_{t-1}) = dhh U_h^T
        parallel_rows(n, gu, [&](Index b, Index e) {
          const Index m = e - b;
          auto g = G.middleRows(b, m);
          auto d = dG.middleRows(b, m);
          auto da = dA.middleRows(b, m);
          // dr = d(r h) * h_{t-1}
          d.middleCols(u, u) = da.cwiseProduct(Hp.middleRows(b, m));
          mul_recurrent_slope(rec, g.middleCols(u, u), d.middleCols(u, u));
          // dh_{t-1} (so far) = dh * z + d(r h) * r
          auto dh = dSg.middleRows(b, m);
          dh = dh.cwiseProduct(g.leftCols(u)) + da.cwiseProduct(g.middleCols(u, u));
        });
        Uzr_t->multiply(dG.data(), gu, n, dSg.data(), u, false);  // += dzr U_zr^T
      }
    });
  });
  const Index rows = L.rows;
  const T* Hprev = this->Hprev_.data();
  T* dU = grads.recurrent;
  if (after) {  // dU += H_{t-1}^T dGh
    add_transposed_product(Hprev, u, dGh_.data(), gu, rows, u, gu, dU, gu);
    RowVectorMap<T>(grads.bias + gu, gu) += ConstMapR<T>(dGh_.data(), rows, gu).colwise().sum();
  } else {  // dU_zr += H_{t-1}^T dG_zr; dU_h += (r * h_{t-1})^T dG_h
    add_transposed_product(Hprev, u, this->dG_.data(), gu, rows, u, 2 * u, dU, gu);
    add_transposed_product(Aux_.data(), u, this->dG_.data() + 2 * u, gu, rows, u, u, dU + 2 * u, gu);
  }
  this->input_gradients(L, X, p, this->dG_.data(), grads.kernel, grads.bias, dX);
  if (dh0) std::copy(this->dS_.begin(), this->dS_.end(), dh0);
}

template class GruDirection<float>;
template class GruDirection<double>;

}  // namespace rnn
