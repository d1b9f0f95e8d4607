#include "gru.h"

#include <algorithm>
#include <type_traits>

#include "fused_cells.h"
#include "gru_cell.h"
#include "parallel.h"

namespace rnn {

template <typename T>
void GruDirection<T>::allocate(const PackedLayout& L, bool keep_for_backward) {
  const size_t u = size_t(this->units_);
  this->allocate_common(L, keep_for_backward);
  Aux_.resize(this->step_rows(L) * u);
  if (this->config_.reset_after) Q_.resize(size_t(L.batch) * kGruGates * u);
}

template <typename T>
void GruDirection<T>::allocate_backward(const PackedLayout& L) {
  const size_t u = size_t(this->units_);
  this->allocate_common_backward(L);
  if (this->config_.reset_after) dGh_.resize(size_t(L.rows) * kGruGates * u);
  else dAux_.resize(size_t(L.batch) * u);
}

template <typename T>
void GruDirection<T>::forward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                              const T* h0, const T*, bool keep_for_backward) {
  const Index u = this->units_, gu = kGruGates * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  const bool after = this->config_.reset_after;
  allocate(L, keep_for_backward);
  const PackedMatrix<T>& W = this->prepare_gates(L, X, p);  // input bias only, in both forms
  this->load_state(h0, this->S_);
  // reset_after: all of U at once, with the recurrent bias; legacy: the z|r block, then the
  // h block on r * h.
  const Index zr = gate_column(GruGate::kCandidate, u), h_col = zr;
  const PackedMatrix<T>* U = after ? &this->packed(U_, p.recurrent, u, gu, false, p.version, p.bias + gu) : nullptr;
  const PackedMatrix<T>* Uzr = after ? nullptr : &this->packed(Uzr_, p, 0, zr, false);
  const PackedMatrix<T>* Uh = after ? nullptr : &this->packed(Uh_, p, h_col, u, false);
  MapR<T> S(this->S_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, false, [&](int, Index n, long r0) {
      const long k = this->step_row(r0, begin), g0 = this->gate_row(r0, begin);
      auto Hp = this->rows(this->Hprev_, k, n, u);
      auto G = this->rows(this->G_, g0, n, gu);
      this->project_step(W, X, r0, g0, n);  // G = x_t W + b_in
      auto A = this->rows(Aux_, k, n, u);
      auto H = this->rows(this->H_, r0, n, u);
      if constexpr (std::is_same<T, float>::value) {
        if (after) {
          // One fused pass (fused_cells.h), reading h_{t-1} from the running state; backward's
          // copies of h_{t-1}, qh and the activations only when it will run.
          auto h_prev = S.middleRows(begin, n);
          if (keep_for_backward) Hp = h_prev;
          auto Q = this->rows(Q_, begin, n, gu);
          U->multiply(h_prev.data(), u, n, Q.data(), gu, PackedMatrix<T>::kOverwritePlusBias);  // Q = h_{t-1} U + b_rec
          parallel_rows(n, gu, [&](Index b, Index e) {
            GruForwardRows step;
            step.rows = e - b;
            step.units = u;
            step.gates = G.middleRows(b, e - b).data();
            step.keep_gates = keep_for_backward;
            step.q = Q.middleRows(b, e - b).data();
            step.q_candidate = keep_for_backward ? A.middleRows(b, e - b).data() : nullptr;
            step.h_prev = h_prev.middleRows(b, e - b).data();
            step.h = H.middleRows(b, e - b).data();
            step.h_copy = h_prev.middleRows(b, e - b).data();  // S: h_t replaces h_{t-1}
            gru_forward_after_rows(act, rec, step);
          });
          return;
        }
      }
      Hp = S.middleRows(begin, n);
      if (after) {
        auto Q = this->rows(Q_, begin, n, gu);  // this group's rows of the step scratch
        U->multiply(Hp.data(), u, n, Q.data(), gu, PackedMatrix<T>::kOverwritePlusBias);  // Q = h_{t-1} U + b_rec
        parallel_rows(n, gu, [&](Index b, Index e) {
          const Index m = e - b;
          gru_forward_after(act, rec, G.middleRows(b, m), Q.middleRows(b, m), A.middleRows(b, m),
                            Hp.middleRows(b, m), H.middleRows(b, m));
          S.middleRows(begin + b, m) = H.middleRows(b, m);
        });
      } else {
        Uzr->multiply(Hp.data(), u, n, G.data(), gu, false);  // z|r += h_{t-1} U_zr
        parallel_rows(n, zr, [&](Index b, Index e) {
          const Index m = e - b;
          gru_forward_reset(rec, G.middleRows(b, m), Hp.middleRows(b, m), A.middleRows(b, m));
        });
        Uh->multiply(A.data(), u, n, G.data() + h_col, gu, false);  // hh += (r * h_{t-1}) U_h
        parallel_rows(n, gu, [&](Index b, Index e) {
          const Index m = e - b;
          gru_candidate_and_output(act, G.middleRows(b, m), Hp.middleRows(b, m), H.middleRows(b, m));
          S.middleRows(begin + b, m) = H.middleRows(b, m);
        });
      }
    });
  });
}

template <typename T>
void GruDirection<T>::backward(const PackedLayout& L, const T* X, const DirectionParams<T>& p,
                               const T* dH, const DirectionGrads<T>& grads, T* dX, T* dh0, T*) {
  const Index u = this->units_, gu = kGruGates * u;
  const Activation act = this->config_.activation;
  const RecurrentActivation rec = this->config_.recurrent_activation;
  const bool after = this->config_.reset_after;
  allocate_backward(L);
  const Index zr = gate_column(GruGate::kCandidate, u), h_col = zr;
  const PackedMatrix<T>* Ut = after ? &this->packed(Ut_, p, 0, gu, true) : nullptr;
  const PackedMatrix<T>* Uzr_t = after ? nullptr : &this->packed(Uzr_t_, p, 0, zr, true);
  const PackedMatrix<T>* Uh_t = after ? nullptr : &this->packed(Uh_t_, p, h_col, u, true);
  MapR<T> dS(this->dS_.data(), L.batch, u);
  this->for_each_group(L, [&](Index begin, Index end) {
    this->for_each_step(L, begin, end, true, [&](int, Index n, long r0) {
      auto G = this->rows(this->G_, r0, n, gu);
      auto dG = this->rows(this->dG_, r0, n, gu);
      auto Hp = this->rows(this->Hprev_, r0, n, u);
      auto A = this->rows(Aux_, r0, n, u);
      auto dHt = this->rows(dH, r0, n, u);
      auto dSg = dS.middleRows(begin, n);
      if constexpr (std::is_same<T, float>::value) {
        if (after) {
          // One fused pass (fused_cells.h) for the elementwise part of the step.
          auto dGh = this->rows(dGh_, r0, n, gu);
          parallel_rows(n, gu, [&](Index b, Index e) {
            GruBackwardRows step;
            step.rows = e - b;
            step.units = u;
            step.gates = G.middleRows(b, e - b).data();
            step.q_candidate = A.middleRows(b, e - b).data();
            step.h_prev = Hp.middleRows(b, e - b).data();
            step.dh = dSg.middleRows(b, e - b).data();
            step.dh_above = dHt.middleRows(b, e - b).data();
            step.d = dG.middleRows(b, e - b).data();
            step.dq = dGh.middleRows(b, e - b).data();
            gru_backward_after_rows(act, rec, step);
          });
          Ut->multiply(dGh.data(), gu, n, dSg.data(), u, false);  // += dGh U^T
          return;
        }
      }
      parallel_rows(n, gu, [&](Index b, Index e) {
        const Index m = e - b;
        auto dh = dSg.middleRows(b, m);
        dh += dHt.middleRows(b, m);  // dL/dh_t: from above and from step t+1
        gru_backward_output(act, rec, G.middleRows(b, m), Hp.middleRows(b, m), dh, dG.middleRows(b, m));
      });
      if (after) {
        auto dGh = this->rows(dGh_, r0, n, gu);
        parallel_rows(n, gu, [&](Index b, Index e) {
          const Index m = e - b;
          gru_backward_after(rec, G.middleRows(b, m), A.middleRows(b, m), dG.middleRows(b, m),
                             dGh.middleRows(b, m), dSg.middleRows(b, m));
        });
        Ut->multiply(dGh.data(), gu, n, dSg.data(), u, false);  // += dGh U^T
      } else {
        auto dA = this->rows(dAux_, begin, n, u);  // this group's rows of the step scratch
        Uh_t->multiply(dG.data() + h_col, gu, n, dA.data(), u, true);  // d(r * h_{t-1}) = dhh U_h^T
        parallel_rows(n, gu, [&](Index b, Index e) {
          const Index m = e - b;
          gru_backward_reset(rec, G.middleRows(b, m), Hp.middleRows(b, m), dA.middleRows(b, m),
                             dG.middleRows(b, m), dSg.middleRows(b, m));
        });
        Uzr_t->multiply(dG.data(), gu, n, dSg.data(), u, false);  // += dzr U_zr^T
      }
    });
  });
  const Index rows = L.rows;
  const T* Hprev = this->Hprev_.data();
  T* dU = grads.recurrent;
  if (after) {  // dU += H_{t-1}^T dGh; db_rec += colsum(dGh)
    add_transposed_product(Hprev, u, dGh_.data(), gu, rows, u, gu, dU, gu);
    RowVectorMap<T>(grads.bias + gu, gu) += ConstMapR<T>(dGh_.data(), rows, gu).colwise().sum();
  } else {  // dU_zr += H_{t-1}^T dG_zr; dU_h += (r * h_{t-1})^T dG_h
    add_transposed_product(Hprev, u, this->dG_.data(), gu, rows, u, zr, dU, gu);
    add_transposed_product(Aux_.data(), u, this->dG_.data() + h_col, gu, rows, u, u, dU + h_col, gu);
  }
  this->input_gradients(L, X, p, this->dG_.data(), grads.kernel, grads.bias, dX);
  if (dh0) std::copy(this->dS_.begin(), this->dS_.end(), dh0);
}

template class GruDirection<float>;
template class GruDirection<double>;

// This cell's entry in the cell table (cells.h) points here.
template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_gru_direction(const LayerConfig& config, int input_size, bool reverse) {
  return std::make_unique<GruDirection<T>>(config, input_size, reverse);
}
template std::unique_ptr<RecurrentDirection<float>> make_gru_direction<float>(const LayerConfig&, int, bool);
template std::unique_ptr<RecurrentDirection<double>> make_gru_direction<double>(const LayerConfig&, int, bool);

}  // namespace rnn
