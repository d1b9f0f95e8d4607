// LSTM, Keras/tfjs/PyTorch gate order i, f, g, o:
//   [i f g o] = x_t W + b + h_{t-1} U      (pre-activations, one GEMM per step)
//   i, f, o = rec_act(.)   g = act(.)
//   c_t = f * c_{t-1} + i * g              h_t = o * act(c_t)
#pragma once

#include "recurrent_direction.h"

namespace rnn {

template <typename T>
class LstmDirection final : public RecurrentDirection<T> {
 public:
  using RecurrentDirection<T>::RecurrentDirection;
  void forward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p, const T* h0,
               const T* c0, bool keep_for_backward) override;
  void backward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p, const T* dH,
                const DirectionGrads<T>& g, T* dX, T* dh0, T* dc0) override;

 private:
  Buffer<T> C_;      // [batch, units]: running cell state
  Buffer<T> Cprev_;  // [rows, units]: c_{t-1} of each step
  Buffer<T> Cact_;   // [rows, units]: act(c_t)
  Buffer<T> dC_;     // [batch, units]: dL/dc carried to the previous step
  typename RecurrentDirection<T>::PackedBlock U_, Ut_;  // U for h U, U^T for dG U^T
};

}  // namespace rnn
