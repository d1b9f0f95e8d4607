// Network<T> (network.h): the recurrent stack over a packed batch (embedding lookup, the
// layers' directions, dropout, Bidirectional merges, initial states) and the order of the
// passes. Pooling, the dense head, its softmax and the loss are classifier_head.cc's: they
// run once per batch on [batch, .] rows and share only the Workspace with the stack.
#include "network.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "bidirectional_merge.h"
#include "classifier_head.h"
#include "rng.h"

namespace rnn {

namespace {

// The model's precision on every layer too: the cells' packers read it from theirs.
ModelConfig with_layer_precision(ModelConfig config) {
  for (LayerConfig& layer : config.layers) layer.precision = config.precision;
  return config;
}

}  // namespace


template <typename T>
Network<T>::Network(const ModelConfig& config)
    : config_(with_layer_precision(config)), params_(make_param_layout(config)) {}

template <typename T>
DirectionParams<T> Network<T>::direction_params(const T* P, int layer, int dir,
                                                uint64_t version) const {
  const ParamLayout::Direction& d = params_.layers[layer][dir];
  return {P + d.kernel, P + d.recurrent, P + d.bias, version};
}

template <typename T>
void Network<T>::embed(Workspace<T>& ws, const T* P, const PackedInput<T>& in) const {
  const long width = config_.embedding_dim;
  ws.x.resize(size_t(in.layout.rows) * width);
  for (long row = 0; row < in.layout.rows; ++row)
    std::memcpy(ws.x.data() + row * width, P + params_.embedding + long(in.tokens[row]) * width,
                sizeof(T) * width);
}

namespace {

// Caller-order [batch, width] rows -> sorted order, or back. src rows are src_stride apart.
template <typename T>
void permute_rows(const PackedLayout& L, const T* src, T* dst, long width, bool to_sorted,
                  long src_stride = 0) {
  if (src_stride == 0) src_stride = width;
  for (int r = 0; r < L.batch; ++r) {
    const long from = to_sorted ? L.order[r] : r, to = to_sorted ? r : L.order[r];
    std::memcpy(dst + to * width, src + from * src_stride, sizeof(T) * width);
  }
}

}  // namespace

template <typename T>
std::string Network<T>::forward(Workspace<T>& ws, const T* P, const BatchInput<T>& in,
                                bool training, uint64_t seed, bool keep_for_backward) const {
  ws.kept_for_backward = false;
  const std::string err = pack_batch(in, config_, ws.staged);
  if (!err.empty()) return err;
  return forward(ws, P, ws.staged, training, seed, keep_for_backward);
}

template <typename T>
std::string Network<T>::forward(Workspace<T>& ws, const T* P, const PackedInput<T>& in,
                                bool training, uint64_t seed, bool keep_for_backward) const {
  const std::string err = forward_stack(ws, P, in, training, seed, keep_for_backward);
  if (!err.empty()) return err;
  pool(config_, ws);
  head_forward(config_, params_, P, ws);
  ws.kept_for_backward = keep_for_backward;
  return "";
}

template <typename T>
std::string Network<T>::forward_stack(Workspace<T>& ws, const T* P, const PackedInput<T>& in,
                                      bool training, uint64_t seed, bool keep_for_backward) const {
  ws.kept_for_backward = false;
  const bool tokens = config_.input == InputType::kTokens;
  const size_t expected = size_t(in.layout.rows) * (tokens ? 1 : size_t(config_.features));
  if ((tokens ? in.tokens.size() : in.dense.size()) != expected || in.layout.batch < 1)
    return "packed input does not match its layout";
  ws.layout = in.layout;
  ws.input_steps = in.input_steps;
  ws.token_ids = tokens ? in.tokens.data() : nullptr;
  if (tokens) embed(ws, P, in);
  const PackedLayout& L = ws.layout;
  const int nl = int(config_.layers.size());
  if (ws.directions.size() != size_t(nl)) {
    ws.directions.clear();
    int input = config_.input_size();
    for (const LayerConfig& lc : config_.layers) {
      std::vector<std::unique_ptr<RecurrentDirection<T>>> dirs;
      for (int d = 0; d < lc.directions(); ++d) dirs.push_back(make_direction<T>(lc, input, d == 1));
      ws.directions.push_back(std::move(dirs));
      input = lc.output_size();
    }
  }
  ws.outputs.resize(nl);
  ws.output_of.assign(nl, nullptr);
  ws.dropout_masks.resize(nl);
  const T* x = tokens ? ws.x.data() : in.dense.data();
  ws.input = x;
  for (int l = 0; l < nl; ++l) {
    const LayerConfig& lc = config_.layers[l];
    const long u = lc.units, D = lc.output_size();
    Buffer<T>& out = ws.outputs[l];
    // A one-direction layer's output is its direction's own H, read in place (no copy of
    // [rows, u]), unless dropout is about to scale it.
    const bool in_place = lc.directions() == 1 && !(training && lc.dropout > 0);
    if (!in_place) out.resize(size_t(L.rows) * D);
    MapR<T> Out(in_place ? nullptr : out.data(), L.rows, D);
    for (int d = 0; d < lc.directions(); ++d) {
      const T *h0 = nullptr, *c0 = nullptr;
      if (!ws.h0.empty() && ws.h0[l][d].data) {
        ws.state_in.resize(size_t(L.batch) * u);
        permute_rows(L, ws.h0[l][d].data, ws.state_in.data(), u, true, ws.h0[l][d].stride);
        h0 = ws.state_in.data();
      }
      if (!ws.c0.empty() && ws.c0[l][d].data) {
        ws.cell_in.resize(size_t(L.batch) * u);
        permute_rows(L, ws.c0[l][d].data, ws.cell_in.data(), u, true, ws.c0[l][d].stride);
        c0 = ws.cell_in.data();
      }
      RecurrentDirection<T>& dir = *ws.directions[l][d];
      dir.forward(L, x, direction_params(P, l, d, ws.params_version), h0, c0, keep_for_backward);
      if (in_place) ws.output_of[l] = dir.output();
      else if (!lc.merged()) Out.middleCols(d * u, u) = ConstMapR<T>(dir.output(), L.rows, u);
    }
    if (lc.merged()) {
      // Keras's Bidirectional merge modes, step by step: f + b, (f + b) / 2, f * b.
      ConstMapR<T> f(ws.directions[l][0]->output(), L.rows, u), b(ws.directions[l][1]->output(), L.rows, u);
      merge_rows(lc.merge_mode, f, b, Out);
    }
    Buffer<T>& mask = ws.dropout_masks[l];
    mask.clear();
    if (training && lc.dropout > 0) {
      // Inverted dropout: kept values are scaled by 1/(1-p) so evaluation needs nothing.
      mask.resize(out.size());
      Rng rng(seed * 0x9e3779b97f4a7c15ULL + uint64_t(l) + 1);
      const T keep_scale = T(1) / T(1 - lc.dropout);
      for (T& m : mask) m = rng.uniform() >= lc.dropout ? keep_scale : T(0);
      Out.array() *= ConstMapR<T>(mask.data(), L.rows, D).array();
    }
    if (!in_place) ws.output_of[l] = out.data();
    x = ws.output_of[l];
  }
  return "";
}

template <typename T>
T Network<T>::loss(Workspace<T>& ws, const int32_t* labels, const T* class_weights,
                   long* correct) const {
  return cross_entropy(config_, ws, labels, class_weights, correct);
}

template <typename T>
void Network<T>::backward(Workspace<T>& ws, const T* P, T* grads, T* dx) const {
  // A programming error, not bad input: only Model calls this, always after a kept forward.
  if (!ws.kept_for_backward) std::abort();
  const PackedLayout& L = ws.layout;
  head_backward(config_, params_, P, grads, ws);
  const long Dtop = config_.head_input_size();
  const LayerConfig& top = config_.layers.back();
  ws.dout.resize(size_t(L.rows) * (top_split(top, config_.pooling) ? 2 * top.units : Dtop));
  unpool(config_, ws, ws.dout.data());

  const int nl = int(config_.layers.size());
  const bool want_state_grads = !ws.h0.empty();
  if (want_state_grads) {
    ws.dh0.assign(nl, {});
    ws.dc0.assign(nl, {});
  }
  for (int l = nl - 1; l >= 0; --l) {
    const LayerConfig& lc = config_.layers[l];
    const long u = lc.units;
    // The top layer of a split unpool already holds each direction's gradient side by side.
    const bool split = l == nl - 1 && top_split(lc, config_.pooling);
    const long D = split ? 2 * u : lc.output_size();
    const long in = l == 0 ? config_.input_size() : config_.layers[l - 1].output_size();
    MapR<T> dOut(ws.dout.data(), L.rows, D);
    if (!ws.dropout_masks[l].empty())
      dOut.array() *= ConstMapR<T>(ws.dropout_masks[l].data(), L.rows, D).array();
    const T* x = l == 0 ? ws.input : ws.output_of[l - 1];
    const bool need_dx = l > 0 || dx != nullptr || config_.input == InputType::kTokens;
    if (need_dx) ws.dinput.assign(size_t(L.rows) * in, T(0));
    for (int d = 0; d < lc.directions(); ++d) {
      const T* dH = ws.dout.data();
      if (lc.bidirectional) {
        ws.dsplit.resize(size_t(L.rows) * u);
        MapR<T> dsplit(ws.dsplit.data(), L.rows, u);
        if (!lc.merged() || split) {
          dsplit = dOut.middleCols(d * u, u);
        } else {
          // Through the step-by-step merge: the other direction's output for mul.
          ConstMapR<T> other(ws.directions[l][1 - d]->output(), L.rows, u);
          dsplit.setZero();
          merge_grad(lc.merge_mode, dOut, other, dsplit);
        }
        dH = ws.dsplit.data();
      }
      const ParamLayout::Direction& pd = params_.layers[l][d];
      DirectionGrads<T> g{grads + pd.kernel, grads + pd.recurrent, grads + pd.bias};
      T* dh0 = nullptr;
      T* dc0 = nullptr;
      if (want_state_grads) {
        ws.state_grad.resize(size_t(L.batch) * u);
        ws.cell_grad.resize(size_t(L.batch) * u);
        dh0 = ws.state_grad.data();
        dc0 = ws.cell_grad.data();
      }
      ws.directions[l][d]->backward(L, x, direction_params(P, l, d, ws.params_version), dH, g,
                                    need_dx ? ws.dinput.data() : nullptr, dh0, dc0);
      if (want_state_grads) {
        ws.dh0[l].emplace_back(size_t(L.batch) * u);
        permute_rows(L, dh0, ws.dh0[l].back().data(), u, false);
        ws.dc0[l].emplace_back(size_t(L.batch) * u);
        if (lc.cell == CellType::kLstm) permute_rows(L, dc0, ws.dc0[l].back().data(), u, false);
      }
    }
    if (need_dx) std::swap(ws.dout, ws.dinput);
  }
  // ws.dout now holds the gradient of the packed input [rows, input].
  const long width = config_.input_size();
  if (config_.input == InputType::kTokens) {
    // Scatter-add into the embedding rows (serial: the same id may repeat).
    T* table = grads + params_.embedding;
    for (long row = 0; row < L.rows; ++row) {
      const T* g = ws.dout.data() + row * width;
      T* dst = table + long(ws.token_ids[row]) * width;
      for (long k = 0; k < width; ++k) dst[k] += g[k];
    }
  } else if (dx) {
    std::fill(dx, dx + size_t(L.batch) * ws.input_steps * width, T(0));
    for (int t = 0; t < L.steps; ++t)
      for (int r = 0; r < L.active[t]; ++r)
        std::memcpy(dx + (size_t(L.order[r]) * ws.input_steps + t) * width,
                    ws.dout.data() + L.row(t, r) * width, sizeof(T) * width);
  }
}

template <typename T>
void Network<T>::probabilities(const Workspace<T>& ws, T* out) const {
  const long C = config_.classes;
  for (int r = 0; r < ws.layout.batch; ++r)
    std::memcpy(out + long(ws.layout.order[r]) * C, ws.probs.data() + long(r) * C, sizeof(T) * C);
}

template class Network<float>;
template class Network<double>;

}  // namespace rnn
