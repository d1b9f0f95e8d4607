// Keras's Bidirectional merge modes (sum, ave, mul; concat is handled by the callers), step
// by step, and their gradients.
//
// Separate because two files use them: network.cc merges a merging layer's two directions at
// every step (and takes the gradient back through that merge), and classifier_head.cc merges
// a merging top layer read at its last step, where each direction has its own row. Templates
// over Eigen expressions, in an unnamed namespace: each file gets its own internal copy, as
// when they were local to network.cc, so the compiler inlines or clones them as it did then.
#pragma once

#include <type_traits>

#include "model_config.h"

namespace rnn {
namespace {

// out = merge(f, b) for Keras's Bidirectional merge modes (concat is handled by its callers).
template <typename F, typename B, typename O>
void merge_rows(MergeMode mode, const F& f, const B& b, O&& out) {
  using T = typename std::decay_t<O>::Scalar;
  switch (mode) {
    case MergeMode::kSum: out = f + b; break;
    case MergeMode::kAve: out = (f + b) * T(0.5); break;
    case MergeMode::kMul: out = f.cwiseProduct(b); break;
    case MergeMode::kConcat: break;
  }
}

// d += dmerge/d(this direction) * dout, given the other direction's values (used by mul):
// sum: dout; ave: dout / 2; mul: dout * other.
template <typename G, typename Other, typename D>
void merge_grad(MergeMode mode, const G& dout, const Other& other, D&& d) {
  using T = typename std::decay_t<D>::Scalar;
  switch (mode) {
    case MergeMode::kSum: d += dout; break;
    case MergeMode::kAve: d += dout * T(0.5); break;
    case MergeMode::kMul: d += dout.cwiseProduct(other); break;
    case MergeMode::kConcat: break;
  }
}

}  // namespace
}  // namespace rnn
