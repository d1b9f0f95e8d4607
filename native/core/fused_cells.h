// The cells' forward elementwise steps for float, in one pass over each row: the same
// equations as lstm_forward_step (lstm_cell.h) and gru_forward_after (gru_cell.h), but where
// those run one Eigen expression per gate (several passes over the step's rows, each reading
// what the last one wrote), these load each packet of the pre-activations once, keep the
// gates and states in registers and store only what is needed afterwards. This is the part
// of an inference step that is not GEMM, so its cost is the distance between a step and the
// GEMM peak.
//
// Each row is computed from that row alone, in a fixed order (the last partial packet of a
// row goes through a padded copy), so results do not depend on the batch a row is in.
#pragma once

#include "eigen_types.h"
#include "model_config.h"

namespace rnn {

struct LstmForwardRows {
  Index rows = 0, units = 0;
  float* gates = nullptr;   // [rows, 4*units]: pre-activations in
  bool keep_gates = false;  // write the activations back into gates (backward reads them)
  float* c = nullptr;       // [rows, units]: c_{t-1} in, c_t out
  float* c_prev = nullptr;  // [rows, units] or null: a copy of c_{t-1} (backward)
  float* c_act = nullptr;   // [rows, units] or null: act(c_t) (backward)
  float* h = nullptr;       // [rows, units]: h_t
  float* h_copy = nullptr;  // [rows, units] or null: h_t again (the running state)
};

//   i, f, o = rec_act(.)   g = act(.)   c_t = f * c_{t-1} + i * g   h_t = o * act(c_t)
void lstm_forward_rows(Activation act, RecurrentActivation rec, const LstmForwardRows& rows);

struct LstmBackwardRows {
  Index rows = 0, units = 0;
  const float* gates = nullptr;   // [rows, 4*units]: the activations forward kept
  const float* c_prev = nullptr;  // [rows, units]: c_{t-1}
  const float* c_act = nullptr;   // [rows, units]: act(c_t)
  const float* dh = nullptr;      // [rows, units]: dL/dh_t carried from step t+1
  const float* dh_above = nullptr;  // [rows, units]: dL/dh_t from the layer above (added)
  float* dc = nullptr;            // [rows, units]: dL/dc_t from step t+1 in, dL/dc_{t-1} out
  float* d = nullptr;             // [rows, 4*units]: dL/d(pre-activations) out
};

// lstm_backward_step (lstm_cell.h) in one pass, with dh = carried + from above:
//   do = dh * act(c_t) * rec'(o)      dc += dh * o * act'(c_t)
//   di = dc * g * rec'(i)   df = dc * c_{t-1} * rec'(f)   dg = dc * i * act'(g)   dc_{t-1} = dc * f
void lstm_backward_rows(Activation act, RecurrentActivation rec, const LstmBackwardRows& rows);

struct GruForwardRows {
  Index rows = 0, units = 0;
  float* gates = nullptr;         // [rows, 3*units]: x W + b_in in; z, r, hh out when keep_gates
  bool keep_gates = false;
  const float* q = nullptr;       // [rows, 3*units]: h_{t-1} U + b_rec
  float* q_candidate = nullptr;   // [rows, units] or null: q's candidate block (backward)
  const float* h_prev = nullptr;  // [rows, units]
  float* h = nullptr;             // [rows, units]: h_t (may be h_prev itself)
  float* h_copy = nullptr;        // [rows, units] or null: h_t again
};

struct GruBackwardRows {
  Index rows = 0, units = 0;
  const float* gates = nullptr;     // [rows, 3*units]: z, r, hh as forward kept them
  const float* q_candidate = nullptr;  // [rows, units]: qh as forward kept it
  const float* h_prev = nullptr;    // [rows, units]: h_{t-1}
  float* dh = nullptr;              // [rows, units]: dL/dh_t carried in; dh * z out
  const float* dh_above = nullptr;  // [rows, units]: dL/dh_t from the layer above (added)
  float* d = nullptr;               // [rows, 3*units]: dz, dr, dhh (pre-activation) out
  float* dq = nullptr;              // [rows, 3*units]: dL/dq out: dz, dr, dhh * r
};

// gru_backward_output + gru_backward_after (gru_cell.h) in one pass, dh = carried + above:
//   dz = dh * (h_{t-1} - hh) * rec'(z)   dhh = dh * (1 - z) * act'(hh)   dr = dhh * qh * rec'(r)
//   dq = [dz, dr, dhh * r]   dh_{t-1} (direct part) = dh * z
void gru_backward_after_rows(Activation act, RecurrentActivation rec, const GruBackwardRows& rows);

// The reset_after GRU (gru_cell.h):
//   z = rec_act(gz + qz)   r = rec_act(gr + qr)   hh = act(gh + r * qh)
//   h_t = hh + z * (h_{t-1} - hh)
void gru_forward_after_rows(Activation act, RecurrentActivation rec, const GruForwardRows& rows);

}  // namespace rnn
