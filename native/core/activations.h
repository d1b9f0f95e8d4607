// Gate nonlinearities, in place on Eigen blocks (vectorized, no temporaries), and their
// slopes expressed through the activation's *output*, which is what forward saves.
#pragma once

#include <type_traits>

#include "eigen_types.h"
#include "model_config.h"

namespace rnn {

// x <- sigmoid(x), or Keras-2 hardSigmoid(x) = clip(0.2x + 0.5, 0, 1).
template <typename X>
void apply_recurrent_activation(RecurrentActivation a, X&& x) {
  using T = typename std::decay_t<X>::Scalar;
  if (a == RecurrentActivation::kSigmoid) {
    x = x.array().logistic();
  } else {
    x = (x.array() * T(0.2) + T(0.5)).cwiseMax(T(0)).cwiseMin(T(1));
  }
}

// d <- d * dy/dx, given y. hardSigmoid's slope is 0.2 strictly inside the clip, else 0.
template <typename Y, typename D>
void mul_recurrent_slope(RecurrentActivation a, const Y& y, D&& d) {
  using T = typename Y::Scalar;
  if (a == RecurrentActivation::kSigmoid) {
    d = d.array() * y.array() * (T(1) - y.array());
  } else {
    d = d.array() * ((y.array() > T(0)) && (y.array() < T(1))).template cast<T>() * T(0.2);
  }
}

// x <- tanh(x) or relu(x).
template <typename X>
void apply_activation(Activation a, X&& x) {
  using T = typename std::decay_t<X>::Scalar;
  if (a == Activation::kTanh) {
    x = x.array().tanh();
  } else {
    x = x.array().cwiseMax(T(0));
  }
}

// d <- d * dy/dx, given y = tanh(x) or relu(x).
template <typename Y, typename D>
void mul_activation_slope(Activation a, const Y& y, D&& d) {
  using T = typename Y::Scalar;
  if (a == Activation::kTanh) {
    d = d.array() * (T(1) - y.array().square());
  } else {
    d = d.array() * (y.array() > T(0)).template cast<T>();
  }
}

}  // namespace rnn
