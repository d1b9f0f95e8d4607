// Pooling, the dense head with its softmax, and the loss (see classifier_head.h for what this
// file owns and why it is apart from network.cc). Instantiated for float and double below.
#include "classifier_head.h"

#include <algorithm>
#include <cmath>

#include "bidirectional_merge.h"
#include "parallel.h"

namespace rnn {

// ---- pooling over the valid steps -----------------------------------------------------------

template <typename T>
void pool(const ModelConfig& config, Workspace<T>& ws) {
  const PackedLayout& L = ws.layout;
  const LayerConfig& top = config.layers.back();
  const long D = top.output_size(), u = top.units;
  ConstMapR<T> H(ws.output_of.back(), L.rows, D);
  ws.pooled.resize(size_t(L.batch) * D);
  MapR<T> P(ws.pooled.data(), L.batch, D);
  if (config.pooling == Pooling::kMax) ws.argmax.resize(size_t(L.batch) * D);
  parallel_rows(L.batch, long(L.steps) * D, [&](Index b, Index e) {
    for (Index r = b; r < e; ++r) {
      const int len = L.lengths[r];
      switch (config.pooling) {
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
void unpool(const ModelConfig& config, Workspace<T>& ws, T* dtop) {
  const PackedLayout& L = ws.layout;
  const LayerConfig& top = config.layers.back();
  const long D = top.output_size(), u = top.units;
  // A merging top layer read at its last step: the gradient goes to each direction's own row
  // (forward's last step, backward's step 0), so dtop holds both directions side by side.
  const bool split = top_split(top, config.pooling);
  MapR<T> dH(dtop, L.rows, split ? 2 * u : D);
  dH.setZero();
  ConstMapR<T> dP(ws.dpooled.data(), L.batch, D);
  // Each sequence's rows are its own, so sequences can be split across threads.
  parallel_rows(L.batch, long(L.steps) * D, [&](Index b, Index e) {
    for (Index r = b; r < e; ++r) {
      const int len = L.lengths[r];
      switch (config.pooling) {
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

// ---- the dense head and its softmax ---------------------------------------------------------

namespace {

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
void head_forward(const ModelConfig& config, const ParamLayout& params, const T* P, Workspace<T>& ws) {
  head_rows_forward(config, params, P, ws.pooled.data(), Index(ws.layout.batch), ws);
}

template <typename T>
void head_rows_forward(const ModelConfig& config, const ParamLayout& params, const T* P, const T* pooled,
                       Index n, Workspace<T>& ws) {
  // Dense head and a numerically stable softmax.
  const long C = config.classes, Dtop = config.head_input_size();
  ws.logits.resize(size_t(n) * C);
  ws.log_norm.resize(n);
  ws.probs.resize(size_t(n) * C);
  // Each sequence's logits and probabilities are computed from its own row alone, in a fixed
  // order: the same bits whatever batch the sequence is in, wherever in it, and with any
  // thread count (what lets sharded and queued predictions equal a single run's byte for
  // byte, and a stream's step equal a whole sequence's). A general GEMM chooses its blocking
  // and its vector/scalar split from the batch size and from addresses, so it is not used
  // here; the head is small next to the cells.
  //   logits[r, c] = bias[c] + sum_j pooled[r, j] * W[j, c]   (j in order)
  //   probs[r, c] = exp(logits[r, c] - max_c logits[r, c]) / sum_c (...)
  const T* W = P + params.dense_kernel;
  const T* bias = P + params.dense_bias;
  const bool narrow = C <= kHeadWidth;
  if (narrow) {  // W and the bias padded to kHeadWidth columns (head_rows)
    ws.head_kernel.assign(size_t(Dtop) * kHeadWidth, T(0));
    ws.head_bias.assign(kHeadWidth, T(0));
    for (long j = 0; j < Dtop; ++j) std::copy(W + j * C, W + (j + 1) * C, ws.head_kernel.data() + j * kHeadWidth);
    std::copy(bias, bias + C, ws.head_bias.data());
  }
  parallel_rows(n, Dtop * C, [&](Index b, Index e) {
    if (narrow) {
      constexpr int R = kHeadRows<T>;
      for (Index r = b; r < e; r += R)
        head_rows<T, R>(pooled + r * Dtop, Dtop, std::min<Index>(R, e - r), ws.head_kernel.data(),
                        ws.head_bias.data(), ws.logits.data() + r * C, C);
    }
    for (Index r = b; r < e; ++r) {
      T* z = ws.logits.data() + r * C;
      if (!narrow) {
        const T* x = pooled + r * Dtop;
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
}

template <typename T>
void head_backward(const ModelConfig& config, const ParamLayout& params, const T* P, T* grads, Workspace<T>& ws) {
  const PackedLayout& L = ws.layout;
  const long C = config.classes, Dtop = config.head_input_size();
  ConstMapR<T> dlogits(ws.dlogits.data(), L.batch, C);
  ConstMapR<T> pooled(ws.pooled.data(), L.batch, Dtop);
  MapR<T>(grads + params.dense_kernel, Dtop, C).noalias() += pooled.transpose() * dlogits;
  RowVectorMap<T>(grads + params.dense_bias, C) += dlogits.colwise().sum();
  ws.dpooled.resize(size_t(L.batch) * Dtop);
  MapR<T>(ws.dpooled.data(), L.batch, Dtop).noalias() =
      dlogits * ConstMapR<T>(P + params.dense_kernel, Dtop, C).transpose();
}

// ---- the loss ---------------------------------------------------------------------------------

template <typename T>
T cross_entropy(const ModelConfig& config, Workspace<T>& ws, const int32_t* labels, const T* class_weights,
                long* correct) {
  const PackedLayout& L = ws.layout;
  const long C = config.classes;
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

template void pool<float>(const ModelConfig&, Workspace<float>&);
template void unpool<float>(const ModelConfig&, Workspace<float>&, float*);
template void head_forward<float>(const ModelConfig&, const ParamLayout&, const float*, Workspace<float>&);
template void head_rows_forward<float>(const ModelConfig&, const ParamLayout&, const float*, const float*, Index, Workspace<float>&);
template void head_backward<float>(const ModelConfig&, const ParamLayout&, const float*, float*, Workspace<float>&);
template float cross_entropy<float>(const ModelConfig&, Workspace<float>&, const int32_t*, const float*, long*);
template void pool<double>(const ModelConfig&, Workspace<double>&);
template void unpool<double>(const ModelConfig&, Workspace<double>&, double*);
template void head_forward<double>(const ModelConfig&, const ParamLayout&, const double*, Workspace<double>&);
template void head_rows_forward<double>(const ModelConfig&, const ParamLayout&, const double*, const double*, Index, Workspace<double>&);
template void head_backward<double>(const ModelConfig&, const ParamLayout&, const double*, double*, Workspace<double>&);
template double cross_entropy<double>(const ModelConfig&, Workspace<double>&, const int32_t*, const double*, long*);

}  // namespace rnn
