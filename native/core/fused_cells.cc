#include "fused_cells.h"

#include <algorithm>
#include <type_traits>

namespace rnn {
namespace {

namespace ei = Eigen::internal;
// The widest float packet this build targets (16 lanes with AVX-512, 8 with AVX, 4 with
// SSE or NEON), and Eigen's own packet math for it.
using Packet = ei::packet_traits<float>::type;
constexpr Index kLanes = ei::unpacket_traits<Packet>::size;

// The functions Eigen's array().logistic() and array().tanh() evaluate packet by packet, so
// this pass computes what lstm_forward_step computes.
template <RecurrentActivation R>
inline Packet recurrent_activation(const Packet& x) {
  if (R == RecurrentActivation::kSigmoid) return ei::scalar_logistic_op<float>().packetOp(x);
  // hardSigmoid(x) = clip(0.2x + 0.5, 0, 1)
  const Packet y = ei::padd(ei::pmul(x, ei::pset1<Packet>(0.2f)), ei::pset1<Packet>(0.5f));
  return ei::pmin(ei::pmax(y, ei::pset1<Packet>(0.0f)), ei::pset1<Packet>(1.0f));
}

template <Activation A>
inline Packet activation(const Packet& x) {
  if (A == Activation::kTanh) return ei::ptanh(x);
  return ei::pmax(x, ei::pset1<Packet>(0.0f));
}

// d * dy/dx expressed through y = rec_act(x): sigmoid y(1 - y); hardSigmoid 0.2 strictly
// inside the clip, else 0 (as activations.h).
template <RecurrentActivation R>
inline Packet mul_recurrent_slope(const Packet& y, const Packet& d) {
  if (R == RecurrentActivation::kSigmoid) return ei::pmul(ei::pmul(d, y), ei::psub(ei::pset1<Packet>(1.0f), y));
  const Packet inside = ei::pand(ei::pcmp_lt(ei::pset1<Packet>(0.0f), y), ei::pcmp_lt(y, ei::pset1<Packet>(1.0f)));
  return ei::pand(inside, ei::pmul(d, ei::pset1<Packet>(0.2f)));
}

// d * dy/dx through y = act(x): tanh 1 - y^2; relu 1 where y > 0, else 0.
template <Activation A>
inline Packet mul_activation_slope(const Packet& y, const Packet& d) {
  if (A == Activation::kTanh) return ei::pmul(d, ei::psub(ei::pset1<Packet>(1.0f), ei::pmul(y, y)));
  return ei::pand(ei::pcmp_lt(ei::pset1<Packet>(0.0f), y), d);
}

// Pointers to one packet of each operand of a row (outputs that are not wanted are null).
struct LstmLanes {
  float* gate[4];  // i f g o
  float* c;
  float* c_prev;
  float* c_act;
  float* h;
  float* h_copy;
};

template <Activation A, RecurrentActivation R>
inline void lstm_step_lanes(const LstmLanes& p, bool keep_gates) {
  const Packet i = recurrent_activation<R>(ei::ploadu<Packet>(p.gate[0]));
  const Packet f = recurrent_activation<R>(ei::ploadu<Packet>(p.gate[1]));
  const Packet g = activation<A>(ei::ploadu<Packet>(p.gate[2]));
  const Packet o = recurrent_activation<R>(ei::ploadu<Packet>(p.gate[3]));
  const Packet c_prev = ei::ploadu<Packet>(p.c);
  // c_t = f * c_{t-1} + i * g;  h_t = o * act(c_t)
  const Packet c = ei::padd(ei::pmul(f, c_prev), ei::pmul(i, g));
  const Packet c_act = activation<A>(c);
  const Packet h = ei::pmul(o, c_act);
  if (keep_gates) {
    ei::pstoreu(p.gate[0], i);
    ei::pstoreu(p.gate[1], f);
    ei::pstoreu(p.gate[2], g);
    ei::pstoreu(p.gate[3], o);
  }
  if (p.c_prev) ei::pstoreu(p.c_prev, c_prev);
  ei::pstoreu(p.c, c);
  if (p.c_act) ei::pstoreu(p.c_act, c_act);
  ei::pstoreu(p.h, h);
  if (p.h_copy) ei::pstoreu(p.h_copy, h);
}

template <Activation A, RecurrentActivation R>
void lstm_rows(const LstmForwardRows& r) {
  const Index u = r.units, full = u / kLanes * kLanes, rest = u - full;
  auto at = [](float* base, Index offset) { return base ? base + offset : nullptr; };
  for (Index row = 0; row < r.rows; ++row) {
    float* g = r.gates + row * 4 * u;
    const Index s = row * u;
    for (Index j = 0; j < full; j += kLanes) {
      const LstmLanes p{{g + j, g + u + j, g + 2 * u + j, g + 3 * u + j}, r.c + s + j, at(r.c_prev, s + j),
                    at(r.c_act, s + j), r.h + s + j, at(r.h_copy, s + j)};
      lstm_step_lanes<A, R>(p, r.keep_gates);
    }
    if (rest == 0) continue;
    // The last partial packet: through zero-padded copies, so no lane reads past the row.
    alignas(64) float buffer[9][kLanes] = {};
    for (int k = 0; k < 4; ++k) std::copy(g + k * u + full, g + (k + 1) * u, buffer[k]);
    std::copy(r.c + s + full, r.c + s + u, buffer[4]);
    const LstmLanes p{{buffer[0], buffer[1], buffer[2], buffer[3]}, buffer[4], r.c_prev ? buffer[5] : nullptr,
                  r.c_act ? buffer[6] : nullptr, buffer[7], r.h_copy ? buffer[8] : nullptr};
    lstm_step_lanes<A, R>(p, r.keep_gates);
    if (r.keep_gates)
      for (int k = 0; k < 4; ++k) std::copy(buffer[k], buffer[k] + rest, g + k * u + full);
    std::copy(buffer[4], buffer[4] + rest, r.c + s + full);
    if (r.c_prev) std::copy(buffer[5], buffer[5] + rest, r.c_prev + s + full);
    if (r.c_act) std::copy(buffer[6], buffer[6] + rest, r.c_act + s + full);
    std::copy(buffer[7], buffer[7] + rest, r.h + s + full);
    if (r.h_copy) std::copy(buffer[8], buffer[8] + rest, r.h_copy + s + full);
  }
}

// One packet of one LSTM row, backward: gates/d at the packet's columns of the i block.
struct LstmBackLanes {
  const float* g;
  float* d;
  Index stride;
  const float* c_prev;
  const float* c_act;
  const float* dh;
  const float* dh_above;
  float* dc;
};

template <Activation A, RecurrentActivation R>
inline void lstm_back_lanes(const LstmBackLanes& p) {
  const Index s = p.stride;
  const Packet i = ei::ploadu<Packet>(p.g), f = ei::ploadu<Packet>(p.g + s);
  const Packet g = ei::ploadu<Packet>(p.g + 2 * s), o = ei::ploadu<Packet>(p.g + 3 * s);
  const Packet c_act = ei::ploadu<Packet>(p.c_act);
  const Packet dh = ei::padd(ei::ploadu<Packet>(p.dh), ei::ploadu<Packet>(p.dh_above));
  // do = dh * act(c_t) * rec'(o);  dc += dh * o * act'(c_t)
  ei::pstoreu(p.d + 3 * s, mul_recurrent_slope<R>(o, ei::pmul(dh, c_act)));
  const Packet dc = ei::padd(ei::ploadu<Packet>(p.dc), mul_activation_slope<A>(c_act, ei::pmul(dh, o)));
  ei::pstoreu(p.d, mul_recurrent_slope<R>(i, ei::pmul(dc, g)));
  ei::pstoreu(p.d + s, mul_recurrent_slope<R>(f, ei::pmul(dc, ei::ploadu<Packet>(p.c_prev))));
  ei::pstoreu(p.d + 2 * s, mul_activation_slope<A>(g, ei::pmul(dc, i)));
  ei::pstoreu(p.dc, ei::pmul(dc, f));
}

template <Activation A, RecurrentActivation R>
void lstm_back_rows(const LstmBackwardRows& r) {
  const Index u = r.units, full = u / kLanes * kLanes, rest = u - full;
  for (Index row = 0; row < r.rows; ++row) {
    const float* g = r.gates + row * 4 * u;
    float* d = r.d + row * 4 * u;
    const Index s = row * u;
    for (Index j = 0; j < full; j += kLanes)
      lstm_back_lanes<A, R>({g + j, d + j, u, r.c_prev + s + j, r.c_act + s + j, r.dh + s + j, r.dh_above + s + j, r.dc + s + j});
    if (rest == 0) continue;
    // The last partial packet: through zero-padded copies (blocks kLanes apart).
    alignas(64) float gb[4 * kLanes] = {}, db[4 * kLanes] = {}, cpb[kLanes] = {}, cab[kLanes] = {}, dhb[kLanes] = {},
                      dab[kLanes] = {}, dcb[kLanes] = {};
    for (int k = 0; k < 4; ++k) std::copy(g + k * u + full, g + (k + 1) * u, gb + k * kLanes);
    std::copy(r.c_prev + s + full, r.c_prev + s + u, cpb);
    std::copy(r.c_act + s + full, r.c_act + s + u, cab);
    std::copy(r.dh + s + full, r.dh + s + u, dhb);
    std::copy(r.dh_above + s + full, r.dh_above + s + u, dab);
    std::copy(r.dc + s + full, r.dc + s + u, dcb);
    lstm_back_lanes<A, R>({gb, db, kLanes, cpb, cab, dhb, dab, dcb});
    for (int k = 0; k < 4; ++k) std::copy(db + k * kLanes, db + k * kLanes + rest, d + k * u + full);
    std::copy(dcb, dcb + rest, r.dc + s + full);
  }
}

// One packet of one GRU row. g, q: the packet's columns in the z block, blocks `stride`
// apart (units in place, kLanes in the padded copy of a partial packet).
struct GruLanes {
  float* g;
  const float* q;
  Index stride;
  float* q_candidate;
  const float* h_prev;
  float* h;
  float* h_copy;
};

template <Activation A, RecurrentActivation R>
inline void gru_step_lanes(const GruLanes& p, bool keep_gates) {
  const Index s = p.stride;
  const Packet z = recurrent_activation<R>(ei::padd(ei::ploadu<Packet>(p.g), ei::ploadu<Packet>(p.q)));
  const Packet r = recurrent_activation<R>(ei::padd(ei::ploadu<Packet>(p.g + s), ei::ploadu<Packet>(p.q + s)));
  const Packet qh = ei::ploadu<Packet>(p.q + 2 * s);
  const Packet hh = activation<A>(ei::padd(ei::ploadu<Packet>(p.g + 2 * s), ei::pmul(r, qh)));
  const Packet h_prev = ei::ploadu<Packet>(p.h_prev);
  // h_t = hh + z * (h_{t-1} - hh)
  const Packet h = ei::padd(hh, ei::pmul(z, ei::psub(h_prev, hh)));
  if (keep_gates) {
    ei::pstoreu(p.g, z);
    ei::pstoreu(p.g + s, r);
    ei::pstoreu(p.g + 2 * s, hh);
  }
  if (p.q_candidate) ei::pstoreu(p.q_candidate, qh);
  ei::pstoreu(p.h, h);
  if (p.h_copy) ei::pstoreu(p.h_copy, h);
}

template <Activation A, RecurrentActivation R>
void gru_after_rows(const GruForwardRows& r) {
  const Index u = r.units, full = u / kLanes * kLanes, rest = u - full;
  auto at = [](float* base, Index offset) { return base ? base + offset : nullptr; };
  for (Index row = 0; row < r.rows; ++row) {
    float* g = r.gates + row * 3 * u;
    const float* q = r.q + row * 3 * u;
    const Index s = row * u;
    for (Index j = 0; j < full; j += kLanes) {
      const GruLanes p{g + j, q + j, u, at(r.q_candidate, s + j), r.h_prev + s + j, r.h + s + j, at(r.h_copy, s + j)};
      gru_step_lanes<A, R>(p, r.keep_gates);
    }
    if (rest == 0) continue;
    // The last partial packet: through zero-padded copies (blocks kLanes apart).
    alignas(64) float gb[3 * kLanes] = {}, qb[3 * kLanes] = {}, qhb[kLanes] = {}, hpb[kLanes] = {}, hb[kLanes] = {};
    for (int k = 0; k < 3; ++k) {
      std::copy(g + k * u + full, g + (k + 1) * u, gb + k * kLanes);
      std::copy(q + k * u + full, q + (k + 1) * u, qb + k * kLanes);
    }
    std::copy(r.h_prev + s + full, r.h_prev + s + u, hpb);
    gru_step_lanes<A, R>(GruLanes{gb, qb, kLanes, qhb, hpb, hb, nullptr}, r.keep_gates);
    if (r.keep_gates)
      for (int k = 0; k < 3; ++k) std::copy(gb + k * kLanes, gb + k * kLanes + rest, g + k * u + full);
    if (r.q_candidate) std::copy(qhb, qhb + rest, r.q_candidate + s + full);
    std::copy(hb, hb + rest, r.h + s + full);
    if (r.h_copy) std::copy(hb, hb + rest, r.h_copy + s + full);
  }
}

// One packet of one GRU row, backward; g, d, dq at the packet's columns of the z block.
struct GruBackLanes {
  const float* g;
  float* d;
  float* dq;
  Index stride;
  const float* q_candidate;
  const float* h_prev;
  float* dh;
  const float* dh_above;
};

template <Activation A, RecurrentActivation R>
inline void gru_back_lanes(const GruBackLanes& p) {
  const Index s = p.stride;
  const Packet z = ei::ploadu<Packet>(p.g), r = ei::ploadu<Packet>(p.g + s), hh = ei::ploadu<Packet>(p.g + 2 * s);
  const Packet dh = ei::padd(ei::ploadu<Packet>(p.dh), ei::ploadu<Packet>(p.dh_above));
  // dz = dh * (h_{t-1} - hh) * rec'(z);  dhh = dh * (1 - z) * act'(hh);  dr = dhh * qh * rec'(r)
  const Packet dz = mul_recurrent_slope<R>(z, ei::pmul(dh, ei::psub(ei::ploadu<Packet>(p.h_prev), hh)));
  const Packet dhh = mul_activation_slope<A>(hh, ei::pmul(dh, ei::psub(ei::pset1<Packet>(1.0f), z)));
  const Packet dr = mul_recurrent_slope<R>(r, ei::pmul(dhh, ei::ploadu<Packet>(p.q_candidate)));
  ei::pstoreu(p.d, dz);
  ei::pstoreu(p.d + s, dr);
  ei::pstoreu(p.d + 2 * s, dhh);
  ei::pstoreu(p.dq, dz);
  ei::pstoreu(p.dq + s, dr);
  ei::pstoreu(p.dq + 2 * s, ei::pmul(dhh, r));
  ei::pstoreu(p.dh, ei::pmul(dh, z));
}

template <Activation A, RecurrentActivation R>
void gru_back_rows(const GruBackwardRows& r) {
  const Index u = r.units, full = u / kLanes * kLanes, rest = u - full;
  for (Index row = 0; row < r.rows; ++row) {
    const float* g = r.gates + row * 3 * u;
    float* d = r.d + row * 3 * u;
    float* dq = r.dq + row * 3 * u;
    const Index s = row * u;
    for (Index j = 0; j < full; j += kLanes)
      gru_back_lanes<A, R>({g + j, d + j, dq + j, u, r.q_candidate + s + j, r.h_prev + s + j, r.dh + s + j, r.dh_above + s + j});
    if (rest == 0) continue;
    // The last partial packet: through zero-padded copies (blocks kLanes apart).
    alignas(64) float gb[3 * kLanes] = {}, db[3 * kLanes] = {}, dqb[3 * kLanes] = {}, qhb[kLanes] = {}, hpb[kLanes] = {},
                      dhb[kLanes] = {}, dab[kLanes] = {};
    for (int k = 0; k < 3; ++k) std::copy(g + k * u + full, g + (k + 1) * u, gb + k * kLanes);
    std::copy(r.q_candidate + s + full, r.q_candidate + s + u, qhb);
    std::copy(r.h_prev + s + full, r.h_prev + s + u, hpb);
    std::copy(r.dh + s + full, r.dh + s + u, dhb);
    std::copy(r.dh_above + s + full, r.dh_above + s + u, dab);
    gru_back_lanes<A, R>({gb, db, dqb, kLanes, qhb, hpb, dhb, dab});
    for (int k = 0; k < 3; ++k) {
      std::copy(db + k * kLanes, db + k * kLanes + rest, d + k * u + full);
      std::copy(dqb + k * kLanes, dqb + k * kLanes + rest, dq + k * u + full);
    }
    std::copy(dhb, dhb + rest, r.dh + s + full);
  }
}

// Calls call(A, R) with the activation pair as compile-time constants (std::integral_constant),
// so each pass is compiled once per pair with no switch inside its loops.
template <typename Call>
void with_activations(Activation act, RecurrentActivation rec, Call&& call) {
  using Tanh = std::integral_constant<Activation, Activation::kTanh>;
  using Relu = std::integral_constant<Activation, Activation::kRelu>;
  using Sigmoid = std::integral_constant<RecurrentActivation, RecurrentActivation::kSigmoid>;
  using Hard = std::integral_constant<RecurrentActivation, RecurrentActivation::kHardSigmoid>;
  const bool sigmoid = rec == RecurrentActivation::kSigmoid;
  if (act == Activation::kTanh) sigmoid ? call(Tanh{}, Sigmoid{}) : call(Tanh{}, Hard{});
  else sigmoid ? call(Relu{}, Sigmoid{}) : call(Relu{}, Hard{});
}

}  // namespace

void lstm_forward_rows(Activation act, RecurrentActivation rec, const LstmForwardRows& rows) {
  with_activations(act, rec, [&](auto a, auto r) { lstm_rows<decltype(a)::value, decltype(r)::value>(rows); });
}

void lstm_backward_rows(Activation act, RecurrentActivation rec, const LstmBackwardRows& rows) {
  with_activations(act, rec, [&](auto a, auto r) { lstm_back_rows<decltype(a)::value, decltype(r)::value>(rows); });
}

void gru_forward_after_rows(Activation act, RecurrentActivation rec, const GruForwardRows& rows) {
  with_activations(act, rec, [&](auto a, auto r) { gru_after_rows<decltype(a)::value, decltype(r)::value>(rows); });
}

void gru_backward_after_rows(Activation act, RecurrentActivation rec, const GruBackwardRows& rows) {
  with_activations(act, rec, [&](auto a, auto r) { gru_back_rows<decltype(a)::value, decltype(r)::value>(rows); });
}

}  // namespace rnn
