#include "optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "parallel.h"

namespace rnn {

std::string validate_optimizer(const OptimizerConfig& c) {
  if (!(c.momentum >= 0 && c.momentum < 1)) return "momentum must be in [0, 1)";
  if (!(c.beta1 >= 0 && c.beta1 < 1)) return "beta1 must be in [0, 1)";
  if (!(c.beta2 >= 0 && c.beta2 < 1)) return "beta2 must be in [0, 1)";
  if (!(c.rho >= 0 && c.rho < 1)) return "rho must be in [0, 1)";
  if (!(c.epsilon > 0 && std::isfinite(c.epsilon))) return "epsilon must be a positive number";
  if (!(c.weight_decay >= 0 && std::isfinite(c.weight_decay))) return "weightDecay must be >= 0";
  if (!(c.clip_norm >= 0 && std::isfinite(c.clip_norm))) return "clipNorm must be >= 0";
  return "";
}

namespace {

// Whether every value is finite: an exponent field of all ones is an infinity or a NaN.
// An integer OR over the bits, which the compiler vectorizes; a float sum of x * 0 (NaN for
// a non-finite x) has to run in order, one dependent add per value: it was 1.3% of a
// 1-thread LSTM(128) training step (perf), now under 0.1%.
template <typename T>
bool all_finite(const T* x, long n) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  constexpr Bits kExponent = sizeof(T) == 4 ? Bits(0x7F800000u) : Bits(0x7FF0000000000000ull);
  Bits bad = 0;
  for (long i = 0; i < n; ++i) {
    Bits b;
    std::memcpy(&b, x + i, sizeof(T));
    bad |= Bits((b & kExponent) == kExponent);
  }
  return bad == 0;
}

}  // namespace

template <typename T>
Optimizer<T>::Optimizer(const OptimizerConfig& config, long size)
    : config_(config), size_(size), state_(size_t(2) * size, T(0)), backup_(size_t(3) * size, T(0)) {}

template <typename T>
double Optimizer<T>::step(T* p, T* g, double lr) {
  const long n = size_;
  double norm2 = 0;
  for (long i = 0; i < n; ++i) norm2 += double(g[i]) * double(g[i]);
  const double norm = std::sqrt(norm2);
  // A NaN or infinite gradient would make every parameter it touches NaN for good: the step
  // is not taken (parameters and moments stay as they were) and the caller sees the norm.
  if (!std::isfinite(norm)) return norm;
  std::copy(p, p + n, backup_.begin());
  std::copy(state_.begin(), state_.end(), backup_.begin() + n);
  const OptimizerConfig& c = config_;
  const T scale = (c.clip_norm > 0 && norm > c.clip_norm) ? T(c.clip_norm / norm) : T(1);
  ++steps_;
  T* m = state_.data();
  T* v = state_.data() + n;
  const T wd = T(c.weight_decay), rate = T(lr), eps = T(c.epsilon);
  const bool decoupled = c.type == OptimizerType::kAdamW;
  switch (c.type) {
    case OptimizerType::kSgd: {
      const T mu = T(c.momentum);
      parallel_rows(n, 1, [&](Index b, Index e) {
        for (Index i = b; i < e; ++i) {
          const T gi = g[i] * scale + wd * p[i];
          if (mu > 0) {
            m[i] = mu * m[i] + gi;
            p[i] -= rate * (c.nesterov ? gi + mu * m[i] : m[i]);
          } else {
            p[i] -= rate * gi;
          }
        }
      });
      break;
    }
    case OptimizerType::kAdam:
    case OptimizerType::kAdamW: {
      const T b1 = T(c.beta1), b2 = T(c.beta2);
      const T c1 = T(1 - std::pow(c.beta1, double(steps_)));
      const T c2 = T(1 - std::pow(c.beta2, double(steps_)));
      // Eigen array expressions: the same arithmetic, in the same order, as the scalar
      // formula, but vectorized, square root included (a plain loop over std::sqrt stays
      // scalar unless the compiler may ignore errno).
      using Array = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
      using ConstArray = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
      parallel_rows(n, 1, [&](Index b, Index e) {
        Array pp(p + b, e - b), mm(m + b, e - b), vv(v + b, e - b);
        ConstArray gg(g + b, e - b);
        if (decoupled) {
          pp -= rate * wd * pp;
          mm = b1 * mm + (1 - b1) * (gg * scale);
          vv = b2 * vv + (1 - b2) * (gg * scale) * (gg * scale);
        } else {
          mm = b1 * mm + (1 - b1) * (gg * scale + wd * pp);
          vv = b2 * vv + (1 - b2) * (gg * scale + wd * pp) * (gg * scale + wd * pp);
        }
        pp -= rate * (mm / c1) / ((vv / c2).sqrt() + eps);
      });
      break;
    }
    case OptimizerType::kRmsprop: {
      const T rho = T(c.rho), mu = T(c.momentum);
      parallel_rows(n, 1, [&](Index b, Index e) {
        for (Index i = b; i < e; ++i) {
          const T gi = g[i] * scale + wd * p[i];
          v[i] = rho * v[i] + (1 - rho) * gi * gi;
          const T update = gi / (std::sqrt(v[i]) + eps);
          if (mu > 0) {
            m[i] = mu * m[i] + update;
            p[i] -= rate * m[i];
          } else {
            p[i] -= rate * update;
          }
        }
      });
      break;
    }
  }
  if (!all_finite(p, n) || !all_finite(state_.data(), long(state_.size()))) {
    std::copy(backup_.begin(), backup_.begin() + n, p);
    std::copy(backup_.begin() + n, backup_.end(), state_.begin());
    --steps_;
    return std::numeric_limits<double>::quiet_NaN();
  }
  return norm;
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace rnn
