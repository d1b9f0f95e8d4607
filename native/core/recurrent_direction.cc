#include "recurrent_direction.h"

#include <algorithm>

#include "cells.h"

namespace rnn {

template <typename T>
void RecurrentDirection<T>::allocate_common(const PackedLayout& layout, bool keep_for_backward) {
  // Up to this size (a few sequences: the latency path) the gate buffer stays in L2 anyway.
  constexpr size_t kProjectAllBytes = size_t(256) << 10;
  const size_t gu = size_t(gates_) * units_, u = size_t(units_);
  keep_ = keep_for_backward;
  projected_all_ = size_t(layout.rows) * gu * sizeof(T) <= kProjectAllBytes;
  G_.resize((projected_all_ ? size_t(layout.rows) : step_rows(layout)) * gu);
  H_.resize(size_t(layout.rows) * u);
  Hprev_.resize(step_rows(layout) * u);
  S_.resize(size_t(layout.batch) * u);
}

template <typename T>
void RecurrentDirection<T>::allocate_common_backward(const PackedLayout& layout) {
  dG_.resize(size_t(layout.rows) * gates_ * units_);
  dS_.assign(size_t(layout.batch) * units_, T(0));
}

template <typename T>
void RecurrentDirection<T>::load_state(const T* h0, Buffer<T>& S) const {
  if (h0) std::copy(h0, h0 + S.size(), S.begin());
  else std::fill(S.begin(), S.end(), T(0));
}

template <typename T>
const PackedMatrix<T>& RecurrentDirection<T>::prepare_gates(const PackedLayout& layout, const T* X,
                                                            const DirectionParams<T>& p) {
  const Index gu = Index(gates_) * units_;
  const PackedMatrix<T>& W = packed(W_, p.kernel, input_, gu, false, p.version, p.bias);
  if (projected_all_) W.multiply(X, input_, layout.rows, G_.data(), gu, PackedMatrix<T>::kOverwritePlusBias);
  return W;
}

template <typename T>
void RecurrentDirection<T>::input_gradients(const PackedLayout& layout, const T* X,
                                            const DirectionParams<T>& p, const T* dG, T* dW,
                                            T* db, T* dX) {
  const Index gu = Index(gates_) * units_;
  ConstMapR<T> dg(dG, layout.rows, gu);
  add_transposed_product(X, Index(input_), dG, gu, Index(layout.rows), Index(input_), gu, dW, gu);
  RowVectorMap<T>(db, gu) += dg.colwise().sum();
  if (dX) packed(Wt_, p.kernel, input_, gu, true, p.version, nullptr).multiply(dG, gu, layout.rows, dX, input_, false);
}

template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_direction(const LayerConfig& config, int input_size,
                                                      bool reverse) {
  // Each cell kind's own factory, from the cell table (cells.h).
  return cell_spec(config.cell).factory<T>()(config, input_size, reverse);
}

template class RecurrentDirection<float>;
template class RecurrentDirection<double>;
template std::unique_ptr<RecurrentDirection<float>> make_direction<float>(const LayerConfig&, int, bool);
template std::unique_ptr<RecurrentDirection<double>> make_direction<double>(const LayerConfig&, int, bool);

}  // namespace rnn
