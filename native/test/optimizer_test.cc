// Optimizer updates against hand-computed values, and global-norm clipping.
#include <cmath>

#include "check.h"
#include "optimizer.h"

using namespace rnn;

namespace {

bool near(double a, double b, double tol = 1e-12) { return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b)); }

}  // namespace

TEST(sgd_plain_and_momentum) {
  OptimizerConfig c;
  c.type = OptimizerType::kSgd;
  Optimizer<double> plain(c, 2);
  std::vector<double> p{1.0, -2.0}, g{0.5, 0.25};
  plain.step(p.data(), g.data(), 0.1);
  CHECK(near(p[0], 0.95) && near(p[1], -2.025), "p = %g %g", p[0], p[1]);
  c.momentum = 0.9;
  Optimizer<double> momentum(c, 1);
  std::vector<double> q{1.0}, h{1.0};
  momentum.step(q.data(), h.data(), 0.1);  // v = 1, q = 0.9
  momentum.step(q.data(), h.data(), 0.1);  // v = 1.9, q = 0.71
  CHECK(near(q[0], 0.71), "q = %.17g", q[0]);
  c.nesterov = true;
  Optimizer<double> nesterov(c, 1);
  std::vector<double> r{1.0};
  nesterov.step(r.data(), h.data(), 0.1);  // v = 1, step g + mu v = 1.9
  CHECK(near(r[0], 0.81), "r = %.17g", r[0]);
}

TEST(adam_first_steps) {
  OptimizerConfig c;
  c.epsilon = 1e-12;
  Optimizer<double> adam(c, 2);
  std::vector<double> p{0.0, 0.0}, g{3.0, -0.001};
  adam.step(p.data(), g.data(), 0.01);
  // Bias-corrected first step moves each weight by lr * sign(g).
  CHECK(near(p[0], -0.01, 1e-9) && near(p[1], 0.01, 1e-9), "p = %g %g", p[0], p[1]);
  std::vector<double> g2{1.0, 1.0};
  adam.step(p.data(), g2.data(), 0.01);
  const double m = (0.9 * 0.1 * 3.0 + 0.1 * 1.0) / (1 - 0.81);
  const double v = (0.999 * 0.001 * 9.0 + 0.001 * 1.0) / (1 - 0.999 * 0.999);
  CHECK(near(p[0], -0.01 - 0.01 * m / (std::sqrt(v) + 1e-12), 1e-9), "p0 = %.17g", p[0]);
}

TEST(adamw_decays_decoupled) {
  OptimizerConfig c;
  c.type = OptimizerType::kAdamW;
  c.weight_decay = 0.1;
  Optimizer<double> adamw(c, 1);
  std::vector<double> p{2.0}, g{0.0};
  adamw.step(p.data(), g.data(), 0.5);
  CHECK(near(p[0], 2.0 - 0.5 * 0.1 * 2.0), "zero gradient still decays: %g", p[0]);
}

TEST(rmsprop_step) {
  OptimizerConfig c;
  c.type = OptimizerType::kRmsprop;
  c.epsilon = 1e-12;
  Optimizer<double> rms(c, 1);
  std::vector<double> p{0.0}, g{2.0};
  rms.step(p.data(), g.data(), 0.01);
  CHECK(near(p[0], -0.01 * 2.0 / std::sqrt(0.1 * 4.0), 1e-9), "p = %.17g", p[0]);
}

TEST(global_norm_clipping) {
  OptimizerConfig c;
  c.type = OptimizerType::kSgd;
  c.clip_norm = 1.0;
  Optimizer<double> sgd(c, 2);
  std::vector<double> p{0.0, 0.0}, g{3.0, 4.0};
  const double norm = sgd.step(p.data(), g.data(), 1.0);
  CHECK(near(norm, 5.0), "norm %g", norm);
  CHECK(near(p[0], -0.6) && near(p[1], -0.8), "clipped to unit norm: %g %g", p[0], p[1]);
  std::vector<double> small{0.3, 0.4};
  sgd.step(p.data(), small.data(), 1.0);
  CHECK(near(p[0], -0.9) && near(p[1], -1.2), "small gradients untouched: %g %g", p[0], p[1]);
}

TEST(invalid_settings_are_reported) {
  OptimizerConfig c;
  c.beta2 = 1.0;
  CHECK(!validate_optimizer(c).empty(), "beta2 = 1 accepted");
  c = OptimizerConfig{};
  c.epsilon = 0;
  CHECK(!validate_optimizer(c).empty(), "epsilon = 0 accepted");
}

TEST_MAIN()
