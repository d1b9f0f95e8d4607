// The LSTM's per-step elementwise math, as pure functions of Eigen blocks of m rows (one row
// per sequence): no buffers, no loops over time, no threads. LstmDirection runs them on each
// step's rows between its GEMMs; native/test/cell_test.cc checks them against a naive cell
// written from the equations. (TensorFlow's lstm_ops functors have the same shape.)
//
// Forward, given the pre-activations [i f g o] = x_t W + b + h_{t-1} U:
//   i = rec_act(.)  f = rec_act(.)  g = act(.)  o = rec_act(.)
//   c_t = f * c_{t-1} + i * g
//   h_t = o * act(c_t)
// Backward, given dh = dL/dh_t (from above and from step t+1) and dc = dL/dc_t from t+1:
//   do = dh * act(c_t)                       dc += dh * o * act'(c_t)
//   di = dc * g   df = dc * c_{t-1}   dg = dc * i          dc_{t-1} = dc * f
//   each through its activation's slope, giving dL/d(pre-activation)
#pragma once

#include "activations.h"
#include "gates.h"

namespace rnn {

// gates [m, 4u]: pre-activations in, activations out. c_prev [m, u]: c_{t-1}.
// c [m, u]: c_t out (may be c_prev itself). c_act [m, u]: act(c_t) out. h [m, u]: h_t out.
template <typename Gates, typename CPrev, typename C, typename CAct, typename H>
void lstm_forward_step(Activation act, RecurrentActivation rec, Gates&& g, const CPrev& c_prev,
                       C&& c, CAct&& c_act, H&& h) {
  const Index u = c_prev.cols();
  apply_recurrent_activation(rec, gates(g, LstmGate::kInput, LstmGate::kForget, u));
  apply_activation(act, gate(g, LstmGate::kCell, u));
  apply_recurrent_activation(rec, gate(g, LstmGate::kOutput, u));
  c = gate(g, LstmGate::kForget, u).cwiseProduct(c_prev) +
      gate(g, LstmGate::kInput, u).cwiseProduct(gate(g, LstmGate::kCell, u));
  c_act = c;
  apply_activation(act, c_act);
  h = gate(g, LstmGate::kOutput, u).cwiseProduct(c_act);
}

// gates [m, 4u]: the activations forward left. c_prev, c_act: as forward saved them.
// dh [m, u]: dL/dh_t in. dc [m, u]: dL/dc_t from step t+1 in, dL/dc_{t-1} out.
// d [m, 4u]: dL/d(pre-activations) out.
template <typename Gates, typename CPrev, typename CAct, typename DH, typename DC, typename D>
void lstm_backward_step(Activation act, RecurrentActivation rec, const Gates& g,
                        const CPrev& c_prev, const CAct& c_act, const DH& dh, DC&& dc, D&& d) {
  const Index u = c_prev.cols();
  auto d_input = gate(d, LstmGate::kInput, u);
  gate(d, LstmGate::kOutput, u) = dh.cwiseProduct(c_act);
  mul_recurrent_slope(rec, gate(g, LstmGate::kOutput, u), gate(d, LstmGate::kOutput, u));
  // dc += dh * o * act'(c_t), with d_input as scratch for dh * o.
  d_input = dh.cwiseProduct(gate(g, LstmGate::kOutput, u));
  mul_activation_slope(act, c_act, d_input);
  dc += d_input;
  d_input = dc.cwiseProduct(gate(g, LstmGate::kCell, u));
  gate(d, LstmGate::kCell, u) = dc.cwiseProduct(gate(g, LstmGate::kInput, u));
  gate(d, LstmGate::kForget, u) = dc.cwiseProduct(c_prev);
  dc = dc.cwiseProduct(gate(g, LstmGate::kForget, u));
  mul_recurrent_slope(rec, gates(g, LstmGate::kInput, LstmGate::kForget, u),
                      gates(d, LstmGate::kInput, LstmGate::kForget, u));
  mul_activation_slope(act, gate(g, LstmGate::kCell, u), gate(d, LstmGate::kCell, u));
}

}  // namespace rnn
