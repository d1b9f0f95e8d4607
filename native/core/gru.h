// GRU over a packed batch, gates z, r, h (gates.h), in both forms:
//  reset_after = false (Keras legacy, tfjs's only form; bias [3u]):
//    z = rec_act(x Wz + bz + h Uz)   r = rec_act(x Wr + br + h Ur)
//    hh = act(x Wh + bh + (r * h) Uh)
//  reset_after = true (PyTorch/cuDNN/Keras-2 default; bias [2, 3u] = input, recurrent):
//    q = h U + b_rec                 z = rec_act(x Wz + bz + qz)   r = rec_act(... + qr)
//    hh = act(x Wh + bh + r * qh)
//  h_t = z * h_{t-1} + (1 - z) * hh
// (PyTorch orders its blocks r, z, n and writes h' = (1 - z) n + z h: the same cell.)
// The elementwise math of a step is gru_cell.h; this class owns the time loop, the GEMMs
// between the elementwise parts, and the buffers.
#pragma once

#include "recurrent_direction.h"

namespace rnn {

template <typename T>
class GruDirection final : public RecurrentDirection<T> {
 public:
  using RecurrentDirection<T>::RecurrentDirection;
  void forward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p, const T* h0,
               const T* c0, bool keep_for_backward) override;
  void backward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p, const T* dH,
                const DirectionGrads<T>& g, T* dX, T* dh0, T* dc0) override;

 private:
  // The shared buffers (RecurrentDirection::allocate_common) and these:
  void allocate(const PackedLayout& layout, bool keep_for_backward);
  void allocate_backward(const PackedLayout& layout);
  Buffer<T> Aux_;   // [step rows, units]: r * h_{t-1} (legacy) or qh (reset_after; float:
                    // written only when backward follows)
  Buffer<T> Q_;     // [batch, 3u]: h U + b_rec of one step (reset_after)
  Buffer<T> dGh_;   // [rows, 3u]: gradients of the recurrent pre-activations (reset_after, backward)
  Buffer<T> dAux_;  // [batch, units]: d(r * h_{t-1}) of one step (legacy, backward)
  // Packed recurrent kernel: all of U (reset_after), or its z|r and h column blocks (legacy);
  // and the same transposed for backward.
  typename RecurrentDirection<T>::PackedBlock U_, Uzr_, Uh_, Ut_, Uzr_t_, Uh_t_;
};

}  // namespace rnn
