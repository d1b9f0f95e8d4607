// The cells' per-step elementwise math (lstm_cell.h, gru_cell.h) against a naive cell written
// straight from the equations, one scalar at a time in double, forward and backward (the
// backward reference differentiates the naive forward by central differences); and
// closed-form single-gate cases whose results are known without any reference (as oneDNN's
// and mlpack's cell tests do): a saturated gate passes or blocks exactly what it should.
#include <cmath>
#include <functional>
#include <vector>

#include "check.h"
#include "fused_cells.h"
#include "gru_cell.h"
#include "lstm_cell.h"
#include "rng.h"

using namespace rnn;

namespace {

using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Mat random_mat(Index rows, Index cols, Rng& rng, double scale = 1.5) {
  Mat m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = scale * (2 * rng.uniform() - 1);
  return m;
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double hard_sigmoid(double x) { return std::min(1.0, std::max(0.0, 0.2 * x + 0.5)); }
double rec_act(RecurrentActivation a, double x) { return a == RecurrentActivation::kSigmoid ? sigmoid(x) : hard_sigmoid(x); }
double act_fn(Activation a, double x) { return a == Activation::kTanh ? std::tanh(x) : std::max(0.0, x); }

double max_abs_diff(const Mat& a, const Mat& b) { return (a - b).cwiseAbs().maxCoeff(); }

// Naive LSTM step of one row, from the equations: pre [4u] (i f g o), c_prev [u] -> c, h.
void naive_lstm(Activation a, RecurrentActivation r, const double* pre, const double* c_prev, int u,
                double* c, double* h) {
  for (int j = 0; j < u; ++j) {
    const double i = rec_act(r, pre[j]), f = rec_act(r, pre[u + j]);
    const double g = act_fn(a, pre[2 * u + j]), o = rec_act(r, pre[3 * u + j]);
    c[j] = f * c_prev[j] + i * g;
    h[j] = o * act_fn(a, c[j]);
  }
}

// Naive GRU step (reset_after or legacy); pre: x W + b_in [3u]; q: h U + b_rec [3u]
// (reset_after) or h U_zr in the z|r block (legacy); Uh for legacy's (r * h) U_h.
void naive_gru(Activation a, RecurrentActivation r, bool after, const double* pre, const double* q,
               const Mat& Uh, const double* h_prev, int u, double* h) {
  std::vector<double> z(u), rr(u), hh(u);
  for (int j = 0; j < u; ++j) {
    z[j] = rec_act(r, pre[j] + q[j]);
    rr[j] = rec_act(r, pre[u + j] + q[u + j]);
  }
  for (int j = 0; j < u; ++j) {
    double s = pre[2 * u + j];
    if (after) {
      s += rr[j] * q[2 * u + j];
    } else {
      for (int k = 0; k < u; ++k) s += rr[k] * h_prev[k] * Uh(k, j);
    }
    hh[j] = act_fn(a, s);
    h[j] = z[j] * h_prev[j] + (1 - z[j]) * hh[j];
  }
}

// d(sum(weight .* f(x))) / dx by central differences, for one vector x.
Mat numeric_gradient(const std::function<double(const Mat&)>& loss, const Mat& x) {
  Mat grad(x.rows(), x.cols());
  const double eps = 1e-6;
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.cols(); ++j) {
      Mat plus = x, minus = x;
      plus(i, j) += eps;
      minus(i, j) -= eps;
      grad(i, j) = (loss(plus) - loss(minus)) / (2 * eps);
    }
  return grad;
}

const Activation kActs[] = {Activation::kTanh, Activation::kRelu};
const RecurrentActivation kRecs[] = {RecurrentActivation::kSigmoid, RecurrentActivation::kHardSigmoid};

}  // namespace

TEST(lstm_step_matches_the_equations) {
  const int m = 3, u = 5;
  Rng rng(1);
  for (Activation a : kActs)
    for (RecurrentActivation r : kRecs) {
      const Mat pre = random_mat(m, 4 * u, rng, 3), c_prev = random_mat(m, u, rng);
      Mat g = pre, c(m, u), c_act(m, u), h(m, u);
      lstm_forward_step(a, r, g, c_prev, c, c_act, h);
      Mat c_ref(m, u), h_ref(m, u);
      for (int row = 0; row < m; ++row) naive_lstm(a, r, &pre(row, 0), &c_prev(row, 0), u, &c_ref(row, 0), &h_ref(row, 0));
      CHECK(max_abs_diff(c, c_ref) < 1e-12, "c_t differs by %g", max_abs_diff(c, c_ref));
      CHECK(max_abs_diff(h, h_ref) < 1e-12, "h_t differs by %g", max_abs_diff(h, h_ref));

      // Backward: L = sum(wh .* h_t) + sum(wc .* c_t); dL/dpre and dL/dc_prev against the
      // naive forward, differentiated numerically.
      const Mat wh = random_mat(m, u, rng), wc = random_mat(m, u, rng);
      Mat d(m, 4 * u), dc = wc;
      lstm_backward_step(a, r, g, c_prev, c_act, wh, dc, d);
      for (int row = 0; row < m; ++row) {
        auto loss_of = [&](const Mat& p, const Mat& cp) {
          std::vector<double> cc(u), hh(u);
          naive_lstm(a, r, p.data(), cp.data(), u, cc.data(), hh.data());
          double l = 0;
          for (int j = 0; j < u; ++j) l += wh(row, j) * hh[j] + wc(row, j) * cc[j];
          return l;
        };
        const Mat p_row = pre.row(row), c_row = c_prev.row(row);
        const Mat dp_num = numeric_gradient([&](const Mat& p) { return loss_of(p, c_row); }, p_row);
        const Mat dc_num = numeric_gradient([&](const Mat& cp) { return loss_of(p_row, cp); }, c_row);
        CHECK(max_abs_diff(d.row(row), dp_num) < 1e-6, "dL/dpre differs by %g", max_abs_diff(d.row(row), dp_num));
        CHECK(max_abs_diff(dc.row(row), dc_num) < 1e-6, "dL/dc_prev differs by %g", max_abs_diff(dc.row(row), dc_num));
      }
    }
}

TEST(lstm_saturated_gates) {
  // i = 1, f = 0 (the cell forgets everything and takes g), o = 1: c_t = tanh(g), h = tanh(c_t).
  const int u = 2;
  const double big = 60;
  Mat g(1, 4 * u);
  g << big, big, -big, -big, 0.5, -0.25, big, big;
  Mat c_prev(1, u), c(1, u), c_act(1, u), h(1, u);
  c_prev << 7, -7;
  lstm_forward_step(Activation::kTanh, RecurrentActivation::kSigmoid, g, c_prev, c, c_act, h);
  CHECK(std::fabs(c(0, 0) - std::tanh(0.5)) < 1e-12 && std::fabs(c(0, 1) - std::tanh(-0.25)) < 1e-12, "c_t = g when i = 1, f = 0");
  CHECK(std::fabs(h(0, 0) - std::tanh(std::tanh(0.5))) < 1e-12, "h = o * tanh(c)");
  // i = 0, f = 1 (hardSigmoid saturates exactly): the cell keeps c_{t-1}; o = 0 hides it.
  g << -10, -10, 10, 10, 0.9, 0.9, -10, -10;
  lstm_forward_step(Activation::kTanh, RecurrentActivation::kHardSigmoid, g, c_prev, c, c_act, h);
  CHECK(c(0, 0) == 7 && c(0, 1) == -7, "c_t = c_{t-1} when i = 0, f = 1");
  CHECK(h(0, 0) == 0 && h(0, 1) == 0, "h = 0 when o = 0");
}

// The fused float pass (fused_cells.cc) against the naive cell, for widths with and without a
// partial last packet, every activation pair, with and without the backward copies; and
// each row alone gives what it gives among others.
TEST(fused_lstm_rows_match_the_equations) {
  using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Rng rng(3);
  for (int u : {1, 5, 16, 37, 128})
    for (Activation a : kActs)
      for (RecurrentActivation r : kRecs)
        for (bool keep : {false, true}) {
          const int m = 4;
          // Pre-activations up to +-12: the sigmoid's x < -9 branch (exp) is taken too.
          const Mat pre = random_mat(m, 4 * u, rng, 12), c_prev = random_mat(m, u, rng);
          MatF gates = pre.cast<float>(), c = c_prev.cast<float>(), cp(m, u), ca(m, u), h(m, u), h2(m, u);
          lstm_forward_rows(a, r, LstmForwardRows{m, u, gates.data(), keep, c.data(), keep ? cp.data() : nullptr,
                                                  keep ? ca.data() : nullptr, h.data(), h2.data()});
          Mat c_ref(m, u), h_ref(m, u);
          for (int row = 0; row < m; ++row) naive_lstm(a, r, &pre(row, 0), &c_prev(row, 0), u, &c_ref(row, 0), &h_ref(row, 0));
          const double dc = max_abs_diff(c.cast<double>(), c_ref), dh = max_abs_diff(h.cast<double>(), h_ref);
          CHECK(dc < 2e-6 && dh < 2e-6, "u=%d: c_t differs by %g, h_t by %g", u, dc, dh);
          CHECK(h == h2, "u=%d: the copy of h_t differs", u);
          if (keep) {
            CHECK(cp == c_prev.cast<float>(), "u=%d: c_{t-1} not kept", u);
            Mat act_ref(m, 4 * u);
            for (int row = 0; row < m; ++row)
              for (int j = 0; j < 4 * u; ++j) act_ref(row, j) = j / u == 2 ? act_fn(a, pre(row, j)) : rec_act(r, pre(row, j));
            CHECK(max_abs_diff(gates.cast<double>(), act_ref) < 2e-6, "u=%d: gate activations differ", u);
            Mat c_act_ref(m, u);
            for (int row = 0; row < m; ++row)
              for (int j = 0; j < u; ++j) c_act_ref(row, j) = act_fn(a, c(row, j));
            CHECK(max_abs_diff(ca.cast<double>(), c_act_ref) < 2e-6, "u=%d: act(c_t) differs", u);
          }
          // Row 2 alone: the same bits.
          MatF g1 = pre.row(2).cast<float>(), c1 = c_prev.row(2).cast<float>(), h1(1, u);
          lstm_forward_rows(a, r, LstmForwardRows{1, u, g1.data(), false, c1.data(), nullptr, nullptr, h1.data(), nullptr});
          CHECK(h1 == h.row(2) && c1 == c.row(2), "u=%d: a row alone gives other bits", u);
        }
}

// The fused LSTM backward pass against lstm_backward_step (checked above against numeric
// gradients), in double, with dh split into its two parts.
TEST(fused_lstm_backward_rows_match_the_step) {
  using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Rng rng(5);
  for (int u : {1, 5, 16, 37, 128})
    for (Activation a : kActs)
      for (RecurrentActivation r : kRecs) {
        const int m = 3;
        Mat g = random_mat(m, 4 * u, rng, 3), c_prev = random_mat(m, u, rng), c(m, u), c_act(m, u), h(m, u);
        lstm_forward_step(a, r, g, c_prev, c, c_act, h);  // g: activations now
        const Mat carried = random_mat(m, u, rng), above = random_mat(m, u, rng), dc0 = random_mat(m, u, rng);
        Mat d_ref(m, 4 * u), dc_ref = dc0, dh = carried + above;
        lstm_backward_step(a, r, g, c_prev, c_act, dh, dc_ref, d_ref);
        MatF gf = g.cast<float>(), cpf = c_prev.cast<float>(), caf = c_act.cast<float>(), dhf = carried.cast<float>(),
             daf = above.cast<float>(), dcf = dc0.cast<float>(), df(m, 4 * u);
        lstm_backward_rows(a, r, LstmBackwardRows{m, u, gf.data(), cpf.data(), caf.data(), dhf.data(), daf.data(), dcf.data(), df.data()});
        const double dd = max_abs_diff(df.cast<double>(), d_ref), ddc = max_abs_diff(dcf.cast<double>(), dc_ref);
        CHECK(dd < 1e-5 && ddc < 1e-5, "u=%d: dL/dpre differs by %g, dL/dc_prev by %g", u, dd, ddc);
      }
}

// The fused reset_after GRU backward pass against gru_backward_output + gru_backward_after.
TEST(fused_gru_backward_rows_match_the_steps) {
  using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Rng rng(6);
  for (int u : {1, 5, 16, 37, 128})
    for (Activation a : kActs)
      for (RecurrentActivation r : kRecs) {
        const int m = 3;
        Mat g = random_mat(m, 3 * u, rng, 3), q = random_mat(m, 3 * u, rng, 3), h_prev = random_mat(m, u, rng);
        Mat qh(m, u), h(m, u);
        gru_forward_after(a, r, g, q, qh, h_prev, h);  // g: activations now
        const Mat carried = random_mat(m, u, rng), above = random_mat(m, u, rng);
        Mat d_ref(m, 3 * u), dq_ref(m, 3 * u), dh_ref = carried + above;
        gru_backward_output(a, r, g, h_prev, dh_ref, d_ref);
        gru_backward_after(r, g, qh, d_ref, dq_ref, dh_ref);
        MatF gf = g.cast<float>(), qhf = qh.cast<float>(), hpf = h_prev.cast<float>(), dhf = carried.cast<float>(),
             daf = above.cast<float>(), df(m, 3 * u), dqf(m, 3 * u);
        gru_backward_after_rows(a, r, GruBackwardRows{m, u, gf.data(), qhf.data(), hpf.data(), dhf.data(), daf.data(), df.data(), dqf.data()});
        const double dd = max_abs_diff(df.cast<double>(), d_ref), ddq = max_abs_diff(dqf.cast<double>(), dq_ref),
                     ddh = max_abs_diff(dhf.cast<double>(), dh_ref);
        CHECK(dd < 1e-5 && ddq < 1e-5 && ddh < 1e-5, "u=%d: d differs by %g, dq by %g, dh by %g", u, dd, ddq, ddh);
      }
}

// The fused reset_after GRU pass, likewise; h_t written over h_{t-1} (the running state).
TEST(fused_gru_rows_match_the_equations) {
  using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Rng rng(4);
  const Mat no_uh;
  for (int u : {1, 5, 16, 37, 128})
    for (Activation a : kActs)
      for (RecurrentActivation r : kRecs)
        for (bool keep : {false, true}) {
          const int m = 4;
          const Mat pre = random_mat(m, 3 * u, rng, 6), q = random_mat(m, 3 * u, rng, 6), h_prev = random_mat(m, u, rng);
          MatF gates = pre.cast<float>(), qf = q.cast<float>(), state = h_prev.cast<float>(), qh(m, u), h(m, u);
          // h_t written over h_{t-1}, as the running state is.
          gru_forward_after_rows(a, r, GruForwardRows{m, u, gates.data(), keep, qf.data(), keep ? qh.data() : nullptr,
                                                      state.data(), h.data(), state.data()});
          Mat h_ref(m, u);
          for (int row = 0; row < m; ++row) naive_gru(a, r, true, &pre(row, 0), &q(row, 0), no_uh, &h_prev(row, 0), u, &h_ref(row, 0));
          const double dh = max_abs_diff(h.cast<double>(), h_ref);
          CHECK(dh < 2e-6, "u=%d: h_t differs by %g", u, dh);
          CHECK(state == h, "u=%d: the running state is not h_t", u);
          if (keep) {
            CHECK(qh == q.rightCols(u).cast<float>(), "u=%d: qh not kept", u);
            Mat act_ref(m, 3 * u);
            for (int row = 0; row < m; ++row)
              for (int j = 0; j < u; ++j) {
                act_ref(row, j) = rec_act(r, pre(row, j) + q(row, j));
                act_ref(row, u + j) = rec_act(r, pre(row, u + j) + q(row, u + j));
                act_ref(row, 2 * u + j) = act_fn(a, pre(row, 2 * u + j) + act_ref(row, u + j) * q(row, 2 * u + j));
              }
            CHECK(max_abs_diff(gates.cast<double>(), act_ref) < 2e-6, "u=%d: gate activations differ", u);
          }
          // Row 1 alone: the same bits.
          MatF g1 = pre.row(1).cast<float>(), q1 = q.row(1).cast<float>(), s1 = h_prev.row(1).cast<float>(), h1(1, u);
          gru_forward_after_rows(a, r, GruForwardRows{1, u, g1.data(), false, q1.data(), nullptr, s1.data(), h1.data(), nullptr});
          CHECK(h1 == h.row(1), "u=%d: a row alone gives other bits", u);
        }
}

TEST(gru_step_matches_the_equations) {
  const int m = 3, u = 4;
  Rng rng(2);
  for (bool after : {true, false})
    for (Activation a : kActs)
      for (RecurrentActivation r : kRecs) {
        const Mat pre = random_mat(m, 3 * u, rng, 2.5), q = random_mat(m, 3 * u, rng, 2.5);
        const Mat h_prev = random_mat(m, u, rng), Uh = random_mat(u, u, rng, 0.8);
        Mat g = pre, aux(m, u), h(m, u);
        if (after) {
          gru_forward_after(a, r, g, q, aux, h_prev, h);
        } else {
          // What the direction does around the U_h GEMM: z|r get h U_zr first, hh gets (r h) U_h.
          gates(g, GruGate::kUpdate, GruGate::kReset, u) += gates(q, GruGate::kUpdate, GruGate::kReset, u);
          gru_forward_reset(r, g, h_prev, aux);
          gate(g, GruGate::kCandidate, u) += aux * Uh;
          gru_candidate_and_output(a, g, h_prev, h);
        }
        Mat h_ref(m, u);
        Mat q_legacy = q;
        if (!after) q_legacy.rightCols(u).setZero();
        for (int row = 0; row < m; ++row)
          naive_gru(a, r, after, &pre(row, 0), &q_legacy(row, 0), Uh, &h_prev(row, 0), u, &h_ref(row, 0));
        CHECK(max_abs_diff(h, h_ref) < 1e-12, "%s: h_t differs by %g", after ? "reset_after" : "legacy", max_abs_diff(h, h_ref));

        // Backward: L = sum(wh .* h_t); gradients w.r.t. the input pre-activations, the
        // recurrent ones (q; reset_after) and h_{t-1} through the elementwise part only.
        const Mat wh = random_mat(m, u, rng);
        Mat d(m, 3 * u), dh = wh;
        gru_backward_output(a, r, g, h_prev, dh, d);
        Mat dq(m, 3 * u), d_reset_h(m, u);
        if (after) {
          gru_backward_after(r, g, aux, d, dq, dh);
        } else {
          d_reset_h = gate(d, GruGate::kCandidate, u) * Uh.transpose();
          gru_backward_reset(r, g, h_prev, d_reset_h, d, dh);
        }
        for (int row = 0; row < m; ++row) {
          auto loss_of = [&](const Mat& p, const Mat& qq, const Mat& hp) {
            std::vector<double> out(u);
            naive_gru(a, r, after, p.data(), qq.data(), Uh, hp.data(), u, out.data());
            double l = 0;
            for (int j = 0; j < u; ++j) l += wh(row, j) * out[j];
            return l;
          };
          const Mat p_row = pre.row(row), q_row = q_legacy.row(row), h_row = h_prev.row(row);
          const Mat dp_num = numeric_gradient([&](const Mat& p) { return loss_of(p, q_row, h_row); }, p_row);
          CHECK(max_abs_diff(d.row(row), dp_num) < 1e-6, "%s: dL/dpre differs by %g", after ? "reset_after" : "legacy", max_abs_diff(d.row(row), dp_num));
          if (after) {
            const Mat dq_num = numeric_gradient([&](const Mat& qq) { return loss_of(p_row, qq, h_row); }, q_row);
            CHECK(max_abs_diff(dq.row(row), dq_num) < 1e-6, "dL/dq differs by %g", max_abs_diff(dq.row(row), dq_num));
          }
          // h_{t-1} reaches the loss through z's blend (both forms) and r * h (legacy); with q
          // held fixed, the direct part is what the functions leave in dh.
          const Mat dh_num = numeric_gradient([&](const Mat& hp) { return loss_of(p_row, q_row, hp); }, h_row);
          CHECK(max_abs_diff(dh.row(row), dh_num) < 1e-6, "%s: dL/dh_prev differs by %g", after ? "reset_after" : "legacy", max_abs_diff(dh.row(row), dh_num));
        }
      }
}

TEST(gru_saturated_gates) {
  // z = 1: the state passes through unchanged, whatever the candidate.
  const int u = 2;
  Mat g(1, 3 * u), q = Mat::Zero(1, 3 * u), aux(1, u), h(1, u), h_prev(1, u);
  h_prev << 0.3, -0.8;
  g << 60, 60, 0, 0, 5, -5;
  gru_forward_after(Activation::kTanh, RecurrentActivation::kSigmoid, g, q, aux, h_prev, h);
  CHECK(std::fabs(h(0, 0) - 0.3) < 1e-12 && std::fabs(h(0, 1) + 0.8) < 1e-12, "z = 1 keeps h_{t-1}");
  // z = 0, r = 0 (hardSigmoid, exactly): h_t = act(x Wh + bh), the recurrent candidate blocked.
  g << -10, -10, -10, -10, 0.4, -0.1;
  q << 0, 0, 0, 0, 9, 9;
  gru_forward_after(Activation::kTanh, RecurrentActivation::kHardSigmoid, g, q, aux, h_prev, h);
  CHECK(std::fabs(h(0, 0) - std::tanh(0.4)) < 1e-12 && std::fabs(h(0, 1) - std::tanh(-0.1)) < 1e-12, "z = 0, r = 0: h = tanh(x Wh + bh)");
}

TEST_MAIN()
