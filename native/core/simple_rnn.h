// Vanilla (Elman) recurrence, Keras SimpleRNN: h_t = act(x_t W + b + h_{t-1} U).
#pragma once

#include "recurrent_direction.h"

namespace rnn {

template <typename T>
class SimpleRnnDirection final : public RecurrentDirection<T> {
 public:
  using RecurrentDirection<T>::RecurrentDirection;
  void forward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p, const T* h0,
               const T* c0, bool keep_for_backward) override;
  void backward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p, const T* dH,
                const DirectionGrads<T>& g, T* dX, T* dh0, T* dc0) override;

 private:
  typename RecurrentDirection<T>::PackedBlock U_, Ut_;  // U for h U, U^T for dG U^T
};

}  // namespace rnn
