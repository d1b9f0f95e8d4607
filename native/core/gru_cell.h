// The GRU's per-step elementwise math, as pure functions of Eigen blocks of m rows (one row
// per sequence). GruDirection runs them between its GEMMs; native/test/cell_test.cc checks
// them against a naive cell written from the equations. Both forms, gates z, r, h:
//
//   reset_after (PyTorch, cuDNN, Keras 2; bias [2, 3u] = input, recurrent):
//     q = h_{t-1} U + b_rec                    (GEMM, before gru_forward_after)
//     z = rec_act(x Wz + bz + qz)   r = rec_act(x Wr + br + qr)
//     hh = act(x Wh + bh + r * qh)
//   legacy (tfjs's only form; bias [3u]):
//     z, r = rec_act(x W + b + h_{t-1} U_zr)   (GEMM, before gru_forward_reset)
//     hh = act(x Wh + bh + (r * h_{t-1}) U_h)  (GEMM between the two functions)
//   h_t = z * h_{t-1} + (1 - z) * hh = hh + z * (h_{t-1} - hh)
//
// Backward, given dh = dL/dh_t (from above and from step t+1):
//   dz = dh * (h_{t-1} - hh) * rec'(z)        dhh = dh * (1 - z) * act'(hh)
//   reset_after: dr = dhh * qh * rec'(r)      dq = [dz, dr, dhh * r]   dh_{t-1} = dh * z + dq U^T
//   legacy:      da = dhh U_h^T (GEMM)         dr = da * h_{t-1} * rec'(r)
//                dh_{t-1} = dh * z + da * r + [dz, dr] U_zr^T
#pragma once

#include <type_traits>

#include "activations.h"
#include "gates.h"

namespace rnn {

// hh = act(g_h), then h_t = hh + z * (h_{t-1} - hh). g [m, 3u] with z already activated.
template <typename Gates, typename HPrev, typename H>
void gru_candidate_and_output(Activation act, Gates&& g, const HPrev& h_prev, H&& h) {
  const Index u = h_prev.cols();
  auto hh = gate(g, GruGate::kCandidate, u);
  apply_activation(act, hh);
  h = hh + gate(g, GruGate::kUpdate, u).cwiseProduct(h_prev - hh);
}

// reset_after. g [m, 3u]: x W + b_in in, activations out. q [m, 3u]: h_{t-1} U + b_rec.
// qh [m, u]: q's candidate block out (backward needs it). h [m, u]: h_t out.
template <typename Gates, typename Q, typename QH, typename HPrev, typename H>
void gru_forward_after(Activation act, RecurrentActivation rec, Gates&& g, const Q& q, QH&& qh,
                       const HPrev& h_prev, H&& h) {
  const Index u = h_prev.cols();
  auto zr = gates(g, GruGate::kUpdate, GruGate::kReset, u);
  zr += gates(q, GruGate::kUpdate, GruGate::kReset, u);
  apply_recurrent_activation(rec, zr);
  qh = gate(q, GruGate::kCandidate, u);
  gate(g, GruGate::kCandidate, u) += gate(g, GruGate::kReset, u).cwiseProduct(qh);
  gru_candidate_and_output(act, g, h_prev, h);
}

// legacy, first half. g [m, 3u]: z|r pre-activations (x W + b + h U_zr) in, activations out.
// reset_h [m, u]: r * h_{t-1} out, the left operand of the U_h GEMM that follows.
template <typename Gates, typename HPrev, typename A>
void gru_forward_reset(RecurrentActivation rec, Gates&& g, const HPrev& h_prev, A&& reset_h) {
  const Index u = h_prev.cols();
  apply_recurrent_activation(rec, gates(g, GruGate::kUpdate, GruGate::kReset, u));
  reset_h = gate(g, GruGate::kReset, u).cwiseProduct(h_prev);
}

// Both forms, first part of backward: dz and dhh (pre-activation) into d [m, 3u].
template <typename Gates, typename HPrev, typename DH, typename D>
void gru_backward_output(Activation act, RecurrentActivation rec, const Gates& g,
                         const HPrev& h_prev, const DH& dh, D&& d) {
  using T = typename std::decay_t<Gates>::Scalar;
  const Index u = h_prev.cols();
  auto z = gate(g, GruGate::kUpdate, u);
  auto hh = gate(g, GruGate::kCandidate, u);
  gate(d, GruGate::kUpdate, u) = dh.cwiseProduct(h_prev - hh);
  mul_recurrent_slope(rec, z, gate(d, GruGate::kUpdate, u));
  gate(d, GruGate::kCandidate, u) = dh.array() * (T(1) - z.array());
  mul_activation_slope(act, hh, gate(d, GruGate::kCandidate, u));
}

// reset_after, rest of backward. qh: as forward saved it. d [m, 3u]: dz, dhh in, dr added.
// dq [m, 3u]: gradient of q out (for dU, db_rec and the GEMM to h_{t-1}).
// dh [m, u]: dL/dh_t in, the direct part dh * z of dL/dh_{t-1} out.
template <typename Gates, typename QH, typename D, typename DQ, typename DH>
void gru_backward_after(RecurrentActivation rec, const Gates& g, const QH& qh, D&& d, DQ&& dq,
                        DH&& dh) {
  const Index u = qh.cols();
  gate(d, GruGate::kReset, u) = gate(d, GruGate::kCandidate, u).cwiseProduct(qh);
  mul_recurrent_slope(rec, gate(g, GruGate::kReset, u), gate(d, GruGate::kReset, u));
  gates(dq, GruGate::kUpdate, GruGate::kReset, u) = gates(d, GruGate::kUpdate, GruGate::kReset, u);
  gate(dq, GruGate::kCandidate, u) = gate(d, GruGate::kCandidate, u).cwiseProduct(gate(g, GruGate::kReset, u));
  dh = dh.cwiseProduct(gate(g, GruGate::kUpdate, u));
}

// legacy, rest of backward. d_reset_h [m, u]: dL/d(r * h_{t-1}) = dhh U_h^T, from the GEMM.
// d [m, 3u]: dr added. dh [m, u]: dL/dh_t in, dh * z + d_reset_h * r out (the U_zr GEMM adds
// the rest).
template <typename Gates, typename HPrev, typename DA, typename D, typename DH>
void gru_backward_reset(RecurrentActivation rec, const Gates& g, const HPrev& h_prev,
                        const DA& d_reset_h, D&& d, DH&& dh) {
  const Index u = h_prev.cols();
  gate(d, GruGate::kReset, u) = d_reset_h.cwiseProduct(h_prev);
  mul_recurrent_slope(rec, gate(g, GruGate::kReset, u), gate(d, GruGate::kReset, u));
  dh = dh.cwiseProduct(gate(g, GruGate::kUpdate, u)) + d_reset_h.cwiseProduct(gate(g, GruGate::kReset, u));
}

}  // namespace rnn
