#include "network.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#include "parallel.h"
#include "rng.h"

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

// Whether the top layer merges and is read at its last step (each direction at its own row).
bool top_split(const LayerConfig& top, Pooling pooling) { return top.merged() && pooling == Pooling::kLast; }

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

// Caller-order [batch, units] rows -> sorted order, or back.
template <typename T>
void permute_rows(const PackedLayout& L, const T* src, T* dst, long width, bool to_sorted) {
  for (int r = 0; r < L.batch; ++r) {
    const long from = to_sorted ? L.order[r] : r, to = to_sorted ? r : L.order[r];
    std::memcpy(dst + to * width, src + from * width, sizeof(T) * width);
  }
}

// The dense head's logits for n <= R rows (row stride D in x) of a model with at most
// kHeadWidth classes, with W [D, kHeadWidth] and the bias zero-padded to kHeadWidth columns:
//   logits[i, c] = bias[c] + sum_j x[i, j] * W[j, c]   (j in order)
// R rows at a time keep R * kHeadWidth sums in registers across j: summing in memory made
// each step wait on the last one's store (~2% of an fp32 inference step, ~5% of an int8
// one). Every row goes through this one instantiation, a short block repeating its last
// row (computed, not stored): a second instantiation for the remainder could contract
// other multiply-adds into FMAs and give a row other bits alone than in a block.
constexpr int kHeadWidth = 16;
// About 8 vector accumulators: 8 rows of 16 floats with AVX-512, 4 with AVX2, 2 with SSE/NEON.
template <typename T>
constexpr int kHeadRows = std::max(1, 8 * Eigen::internal::packet_traits<T>::size / kHeadWidth);

template <typename T, int R>
inline void head_rows(const T* x, long D, Index n, const T* W, const T* bias, T* logits, long C) {
  using Row = Eigen::Array<T, kHeadWidth, 1>;  // whole vectors (a plain loop got permutes)
  const T* row[R];
  for (int i = 0; i < R; ++i) row[i] = x + std::min<Index>(i, n - 1) * D;
  Row acc[R];
  for (int i = 0; i < R; ++i) acc[i] = Eigen::Map<const Row>(bias);
  for (long j = 0; j < D; ++j) {
    const Eigen::Map<const Row> w(W + j * kHeadWidth);
    for (int i = 0; i < R; ++i) acc[i] += row[i][j] * w;
  }
  for (Index i = 0; i < n; ++i) std::copy(acc[i].data(), acc[i].data() + C, logits + i * C);
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
      if (!ws.h0.empty() && !ws.h0[l][d].empty()) {
        ws.state_in.resize(size_t(L.batch) * u);
        permute_rows(L, ws.h0[l][d].data(), ws.state_in.data(), u, true);
        h0 = ws.state_in.data();
      }
      if (!ws.c0.empty() && !ws.c0[l][d].empty()) {
        ws.cell_in.resize(size_t(L.batch) * u);
        permute_rows(L, ws.c0[l][d].data(), ws.cell_in.data(), u, true);
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
  pool(ws);
  // Dense head and a numerically stable softmax.
  const long C = config_.classes, Dtop = config_.head_input_size();
  ws.logits.resize(size_t(L.batch) * C);
  ws.log_norm.resize(L.batch);
  ws.probs.resize(size_t(L.batch) * C);
  // Each sequence's logits and probabilities are computed from its own row alone, in a fixed
  // order: the same bits whatever batch the sequence is in, wherever in it, and with any
  // thread count (what lets sharded and queued predictions equal a single run's byte for
  // byte). A general GEMM chooses its blocking and its vector/scalar split from the batch
  // size and from addresses, so it is not used here; the head is small next to the cells.
  //   logits[r, c] = bias[c] + sum_j pooled[r, j] * W[j, c]   (j in order)
  //   probs[r, c] = exp(logits[r, c] - max_c logits[r, c]) / sum_c (...)
  const T* W = P + params_.dense_kernel;
  const T* bias = P + params_.dense_bias;
  const bool narrow = C <= kHeadWidth;
  if (narrow) {  // W and the bias padded to kHeadWidth columns (head_rows)
    ws.head_kernel.assign(size_t(Dtop) * kHeadWidth, T(0));
    ws.head_bias.assign(kHeadWidth, T(0));
    for (long j = 0; j < Dtop; ++j) std::copy(W + j * C, W + (j + 1) * C, ws.head_kernel.data() + j * kHeadWidth);
    std::copy(bias, bias + C, ws.head_bias.data());
  }
  parallel_rows(L.batch, Dtop * C, [&](Index b, Index e) {
    if (narrow) {
      constexpr int R = kHeadRows<T>;
      for (Index r = b; r < e; r += R)
        head_rows<T, R>(ws.pooled.data() + r * Dtop, Dtop, std::min<Index>(R, e - r), ws.head_kernel.data(),
                        ws.head_bias.data(), ws.logits.data() + r * C, C);
    }
    for (Index r = b; r < e; ++r) {
      T* z = ws.logits.data() + r * C;
      if (!narrow) {
        const T* x = ws.pooled.data() + r * Dtop;
        std::copy(bias, bias + C, z);
        for (long j = 0; j < Dtop; ++j) {
          const T xj = x[j];
          const T* w = W + j * C;
          for (long c = 0; c < C; ++c) z[c] += xj * w[c];
        }
      }
      T top = z[0];
      for (long c = 1; c < C; ++c) top = std::max(top, z[c]);
      T* p = ws.probs.data() + r * C;
      T sum = 0;
      for (long c = 0; c < C; ++c) {
        p[c] = std::exp(z[c] - top);
        sum += p[c];
      }
      for (long c = 0; c < C; ++c) p[c] /= sum;
      ws.log_norm[r] = top + std::log(sum);
    }
  });
  ws.kept_for_backward = keep_for_backward;
  return "";
}

template <typename T>
void Network<T>::pool(Workspace<T>& ws) const {
  const PackedLayout& L = ws.layout;
  const LayerConfig& top = config_.layers.back();
  const long D = top.output_size(), u = top.units;
  ConstMapR<T> H(ws.output_of.back(), L.rows, D);
  ws.pooled.resize(size_t(L.batch) * D);
  MapR<T> P(ws.pooled.data(), L.batch, D);
  if (config_.pooling == Pooling::kMax) ws.argmax.resize(size_t(L.batch) * D);
  parallel_rows(L.batch, long(L.steps) * D, [&](Index b, Index e) {
    for (Index r = b; r < e; ++r) {
      const int len = L.lengths[r];
      switch (config_.pooling) {
        case Pooling::kLast:
          // Forward half: state after the last valid step; backward half (bidirectional):
          // state after reading back to step 0 (Keras semantics), merged when the layer merges.
          if (top.merged()) {
            ConstMapR<T> f(ws.directions.back()[0]->output(), L.rows, u), b(ws.directions.back()[1]->output(), L.rows, u);
            merge_rows(top.merge_mode, f.row(L.row(len - 1, int(r))), b.row(L.row(0, int(r))), P.row(r));
            break;
          }
          P.row(r).head(u) = H.row(L.row(len - 1, int(r))).head(u);
          if (top.bidirectional) P.row(r).tail(u) = H.row(L.row(0, int(r))).tail(u);
          break;
        case Pooling::kMean:
          P.row(r).setZero();
          for (int t = 0; t < len; ++t) P.row(r) += H.row(L.row(t, int(r)));
          P.row(r) /= T(len);
          break;
        case Pooling::kMax: {
          long* arg = ws.argmax.data() + r * D;
          P.row(r) = H.row(L.row(0, int(r)));
          for (long c = 0; c < D; ++c) arg[c] = L.row(0, int(r));
          for (int t = 1; t < len; ++t) {
            const long row = L.row(t, int(r));
            for (long c = 0; c < D; ++c)
              if (H(row, c) > P(r, c)) { P(r, c) = H(row, c); arg[c] = row; }
          }
          break;
        }
      }
    }
  });
}

template <typename T>
void Network<T>::unpool(Workspace<T>& ws, T* dtop) const {
  const PackedLayout& L = ws.layout;
  const LayerConfig& top = config_.layers.back();
  const long D = top.output_size(), u = top.units;
  // A merging top layer read at its last step: the gradient goes to each direction's own row
  // (forward's last step, backward's step 0), so dtop holds both directions side by side.
  const bool split = top_split(top, config_.pooling);
  MapR<T> dH(dtop, L.rows, split ? 2 * u : D);
  dH.setZero();
  ConstMapR<T> dP(ws.dpooled.data(), L.batch, D);
  // Each sequence's rows are its own, so sequences can be split across threads.
  parallel_rows(L.batch, long(L.steps) * D, [&](Index b, Index e) {
    for (Index r = b; r < e; ++r) {
      const int len = L.lengths[r];
      switch (config_.pooling) {
        case Pooling::kLast:
          if (split) {
            // d(f + b) = 1, d((f + b) / 2) = 1/2, d(f * b) = the other direction's value.
            ConstMapR<T> f(ws.directions.back()[0]->output(), L.rows, u), b(ws.directions.back()[1]->output(), L.rows, u);
            const long last = L.row(len - 1, int(r)), first = L.row(0, int(r));
            merge_grad(top.merge_mode, dP.row(r), b.row(first), dH.row(last).head(u));
            merge_grad(top.merge_mode, dP.row(r), f.row(last), dH.row(first).tail(u));
            break;
          }
          dH.row(L.row(len - 1, int(r))).head(u) += dP.row(r).head(u);
          if (top.bidirectional) dH.row(L.row(0, int(r))).tail(u) += dP.row(r).tail(u);
          break;
        case Pooling::kMean:
          for (int t = 0; t < len; ++t) dH.row(L.row(t, int(r))) += dP.row(r) / T(len);
          break;
        case Pooling::kMax: {
          const long* arg = ws.argmax.data() + r * D;
          for (long c = 0; c < D; ++c) dH(arg[c], c) += dP(r, c);
          break;
        }
      }
    }
  });
}

template <typename T>
T Network<T>::loss(Workspace<T>& ws, const int32_t* labels, const T* class_weights,
                   long* correct) const {
  const PackedLayout& L = ws.layout;
  const long C = config_.classes;
  ws.labels.resize(L.batch);
  ws.dlogits.resize(size_t(L.batch) * C);
  ConstMapR<T> probs(ws.probs.data(), L.batch, C);
  ConstMapR<T> logits(ws.logits.data(), L.batch, C);
  MapR<T> dlogits(ws.dlogits.data(), L.batch, C);
  T total = 0;
  long hits = 0;
  for (int r = 0; r < L.batch; ++r) {
    const int32_t y = labels[L.order[r]];
    ws.labels[r] = y;
    const T w = class_weights ? class_weights[y] : T(1);
    // -log softmax(logits)_y, from the logits so tiny probabilities keep their precision.
    total += w * (ws.log_norm[r] - logits(r, y));
    dlogits.row(r) = probs.row(r) * (w / T(L.batch));
    dlogits(r, y) -= w / T(L.batch);
    Index best;
    probs.row(r).maxCoeff(&best);
    hits += best == y;
  }
  if (correct) *correct = hits;
  return total / T(L.batch);
}

template <typename T>
void Network<T>::backward(Workspace<T>& ws, const T* P, T* grads, T* dx) const {
  // A programming error, not bad input: only Model calls this, always after a kept forward.
  if (!ws.kept_for_backward) std::abort();
  const PackedLayout& L = ws.layout;
  const long C = config_.classes, Dtop = config_.head_input_size();
  ConstMapR<T> dlogits(ws.dlogits.data(), L.batch, C);
  ConstMapR<T> pooled(ws.pooled.data(), L.batch, Dtop);
  MapR<T>(grads + params_.dense_kernel, Dtop, C).noalias() += pooled.transpose() * dlogits;
  RowVectorMap<T>(grads + params_.dense_bias, C) += dlogits.colwise().sum();
  ws.dpooled.resize(size_t(L.batch) * Dtop);
  MapR<T>(ws.dpooled.data(), L.batch, Dtop).noalias() =
      dlogits * ConstMapR<T>(P + params_.dense_kernel, Dtop, C).transpose();
  const LayerConfig& top = config_.layers.back();
  ws.dout.resize(size_t(L.rows) * (top_split(top, config_.pooling) ? 2 * top.units : Dtop));
  unpool(ws, ws.dout.data());

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
