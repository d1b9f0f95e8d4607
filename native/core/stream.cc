// Streams (stream.h): the recurrent stack from carried states, then pooling that goes on from
// each row's accumulator, then the head on one pooled row per step or per row.
#include "stream.h"

#include <cstring>
#include <limits>

#include "classifier_head.h"
#include "parallel.h"

namespace rnn {

StreamStateLayout stream_state_layout(const ModelConfig& config) {
  StreamStateLayout s;
  for (const LayerConfig& layer : config.layers) {
    s.h.push_back(s.width);
    s.width += layer.units;
    if (cell_spec(layer.cell).cell_state) {
      s.c.push_back(s.width);
      s.width += layer.units;
    } else {
      s.c.push_back(-1);
    }
  }
  if (config.pooling != Pooling::kLast) {
    s.pool = s.width;
    s.width += config.head_input_size();
  }
  return s;
}

std::string stream_unsupported(const ModelConfig& config) {
  for (size_t l = 0; l < config.layers.size(); ++l)
    if (config.layers[l].bidirectional)
      return "layer " + std::to_string(l) +
             " is bidirectional: its backward direction reads each sequence from its end, so "
             "its output at a step depends on steps not yet pushed";
  return "";
}

namespace {

// Points the workspace's initial states at the carried rows for one call, and clears them
// when the call ends (however it ends): the workspace goes back to a pool whose next user
// starts from zeros.
template <typename T>
class CarriedStates {
 public:
  CarriedStates(Workspace<T>& ws, const ModelConfig& config, const StreamStateLayout& s, const T* states)
      : ws_(ws) {
    const size_t nl = config.layers.size();
    ws.h0.resize(nl);
    ws.c0.resize(nl);
    for (size_t l = 0; l < nl; ++l) {
      ws.h0[l].resize(1);
      ws.c0[l].resize(1);
      ws.h0[l][0] = {states + s.h[l], s.width};
      ws.c0[l][0] = {s.c[l] >= 0 ? states + s.c[l] : nullptr, s.width};
    }
  }
  ~CarriedStates() {
    for (auto& layer : ws_.h0) layer[0] = {};
    for (auto& layer : ws_.c0) layer[0] = {};
  }
  CarriedStates(const CarriedStates&) = delete;
  CarriedStates& operator=(const CarriedStates&) = delete;

 private:
  Workspace<T>& ws_;
};

}  // namespace

template <typename T>
std::string stream_forward(const Network<T>& network, Workspace<T>& ws, const T* P,
                           const PackedInput<T>& in, T* states, const int32_t* prior_steps,
                           bool every_step, T* out) {
  const ModelConfig& config = network.config();
  std::string err = stream_unsupported(config);
  if (!err.empty()) return err;
  const PackedLayout& L = in.layout;
  for (int r = 0; r < L.batch; ++r) {
    const int32_t prior = prior_steps[L.order[r]];
    if (prior < 0 || prior > std::numeric_limits<int32_t>::max() - L.lengths[r])
      return "prior steps of row " + std::to_string(L.order[r]) + " out of range: " + std::to_string(prior);
  }
  const StreamStateLayout s = stream_state_layout(config);
  {
    CarriedStates<T> carried(ws, config, s, states);
    err = network.forward_stack(ws, P, in, false, 0, /*keep_for_backward=*/false);
  }
  if (!err.empty()) return err;

  // The new states: each direction's final state, sorted order -> the caller's rows.
  const int nl = int(config.layers.size());
  for (int l = 0; l < nl; ++l) {
    const RecurrentDirection<T>& dir = *ws.directions[l][0];
    const long u = dir.units();
    for (int r = 0; r < L.batch; ++r) {
      T* row = states + long(L.order[r]) * s.width;
      std::memcpy(row + s.h[l], dir.state() + long(r) * u, sizeof(T) * u);
      if (s.c[l] >= 0) std::memcpy(row + s.c[l], dir.cell_state() + long(r) * u, sizeof(T) * u);
    }
  }

  // Pooling from each row's accumulator, step by step in order (pool()'s arithmetic):
  //   mean: acc += h_t, pooled_t = acc / (prior + t + 1)     max: acc = max(acc, h_t)
  // into one pooled row per packed step (every_step) or per sorted row.
  const long D = config.head_input_size();
  const long pooled_rows = every_step ? L.rows : L.batch;
  ws.pooled.resize(size_t(pooled_rows) * D);
  ConstMapR<T> H(ws.output_of.back(), L.rows, D);
  MapR<T> pooled(ws.pooled.data(), pooled_rows, D);
  const Pooling pooling = config.pooling;
  parallel_rows(L.batch, long(L.steps) * D, [&](Index b, Index e) {
    for (Index r = b; r < e; ++r) {
      const int len = L.lengths[r];
      const long prior = prior_steps[L.order[r]];
      RowVectorMap<T> acc(states + long(L.order[r]) * s.width + (s.pool >= 0 ? s.pool : 0), D);
      for (int t = 0; t < len; ++t) {
        const long row = L.row(t, int(r));
        const long at = every_step ? row : long(r);
        if (!every_step && t < len - 1 && pooling == Pooling::kLast) continue;
        switch (pooling) {
          case Pooling::kLast:
            pooled.row(at) = H.row(row);
            break;
          case Pooling::kMean:
            acc += H.row(row);
            if (every_step || t == len - 1) pooled.row(at) = acc / T(prior + t + 1);
            break;
          case Pooling::kMax:
            if (prior + t == 0) acc = H.row(row);
            else
              for (long c = 0; c < D; ++c)
                if (H(row, c) > acc[c]) acc[c] = H(row, c);
            if (every_step || t == len - 1) pooled.row(at) = acc;
            break;
        }
      }
    }
  });

  head_rows_forward(config, network.layout(), P, ws.pooled.data(), Index(pooled_rows), ws);
  const long C = config.classes;
  for (int r = 0; r < L.batch; ++r) {
    const long caller = L.order[r];
    if (!every_step) {
      std::memcpy(out + caller * C, ws.probs.data() + long(r) * C, sizeof(T) * C);
      continue;
    }
    for (int t = 0; t < L.lengths[r]; ++t)
      std::memcpy(out + (caller * L.steps + t) * C, ws.probs.data() + L.row(t, r) * C, sizeof(T) * C);
  }
  return "";
}

template std::string stream_forward<float>(const Network<float>&, Workspace<float>&, const float*,
                                           const PackedInput<float>&, float*, const int32_t*, bool, float*);
template std::string stream_forward<double>(const Network<double>&, Workspace<double>&, const double*,
                                            const PackedInput<double>&, double*, const int32_t*, bool, double*);

}  // namespace rnn
