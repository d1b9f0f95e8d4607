// LSTM over a packed batch, gates i, f, g, o (gates.h):
//   [i f g o] = x_t W + b + h_{t-1} U      (pre-activations: the GEMMs here)
//   i, f, o = rec_act(.)   g = act(.)
//   c_t = f * c_{t-1} + i * g              h_t = o * act(c_t)
// The elementwise math of a step is lstm_cell.h; this class owns the time loop and buffers.
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
  const T* cell_state() const override { return C_.data(); }

 private:
  // The shared buffers (RecurrentDirection::allocate_common) and these:
  void allocate(const PackedLayout& layout, bool keep_for_backward);
  void allocate_backward(const PackedLayout& layout);
  Buffer<T> C_;      // [batch, units]: running cell state
  // Backward's copies (float: written only when backward follows; see fused_cells.h).
  Buffer<T> Cprev_;  // [step rows, units]: c_{t-1} of each step
  Buffer<T> Cact_;   // [step rows, units]: act(c_t)
  Buffer<T> dC_;     // [batch, units]: dL/dc carried to the previous step (backward)
  typename RecurrentDirection<T>::PackedBlock U_, Ut_;  // U for h U, U^T for dG U^T
};

}  // namespace rnn
