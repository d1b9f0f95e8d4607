// Gradient checks: analytic BPTT gradients against central differences, in double, for
// every cell and variant, stacked and bidirectional layers, dropout, masked embedding
// input and each pooling mode. Checked per tensor: parameters, dense inputs and initial
// states (nonzero), on ragged batches (T >= 3) with junk in the padding.
#include <cmath>
#include <cstdio>

#include "check.h"
#include "parallel.h"
#include "test_models.h"

using namespace rnn;
using namespace testing_support;

namespace {

constexpr double kEps = 1e-5;
constexpr double kTolerance = 1e-6;

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const double scale = std::sqrt(std::max(na, nb));
  return scale == 0 ? 0 : std::sqrt(diff) / scale;
}

struct GradientCheck {
  const ModelConfig& config;
  Network<double> net;
  std::vector<double> params;
  RandomBatch<double> batch;
  std::vector<double> class_weights;
  Workspace<double> ws;
  bool training;
  int checked = 0;

  GradientCheck(const ModelConfig& c, bool train, std::vector<int32_t> lengths = {5, 3, 4})
      : config(c), net(c), params(net.param_count()), batch(c, std::move(lengths), 99), training(train) {
    net.initialize(params.data(), 7);
    Rng rng(11);
    // Move every weight off its initial value so biases are nonzero and no path is idle.
    for (double& p : params) p += 0.2 * (2 * rng.uniform() - 1);
    for (int k = 0; k < c.classes; ++k) class_weights.push_back(0.5 + rng.uniform());
    h0.resize(c.layers.size());
    c0.resize(c.layers.size());
    for (size_t l = 0; l < c.layers.size(); ++l)
      for (int d = 0; d < c.layers[l].directions(); ++d) {
        std::vector<double> h(size_t(batch.batch) * c.layers[l].units), cell(h.size());
        for (double& v : h) v = 0.8 * (2 * rng.uniform() - 1);
        for (double& v : cell) v = 0.8 * (2 * rng.uniform() - 1);
        h0[l].push_back(h);
        c0[l].push_back(c.layers[l].cell == CellType::kLstm ? cell : std::vector<double>{});
      }
    // The workspace reads them in place (numeric() perturbs them there).
    ws.h0.resize(c.layers.size());
    ws.c0.resize(c.layers.size());
    for (size_t l = 0; l < c.layers.size(); ++l)
      for (int d = 0; d < c.layers[l].directions(); ++d) {
        const long u = c.layers[l].units;
        ws.h0[l].push_back({h0[l][d].data(), u});
        ws.c0[l].push_back({c0[l][d].empty() ? nullptr : c0[l][d].data(), u});
      }
  }
  std::vector<std::vector<std::vector<double>>> h0, c0;  // initial states, [batch, units] each

  double loss() {
    const std::string err = net.forward(ws, params.data(), batch.input(), training, 1234);
    CHECK(err.empty(), "forward failed: %s", err.c_str());
    return net.loss(ws, batch.labels.data(), class_weights.data(), nullptr);
  }

  template <typename Value>
  std::vector<double> numeric(Value& v, size_t n) {
    std::vector<double> out(n);
    for (size_t i = 0; i < n; ++i) {
      const double keep = v[i];
      v[i] = keep + kEps;
      const double up = loss();
      v[i] = keep - kEps;
      const double down = loss();
      v[i] = keep;
      out[i] = (up - down) / (2 * kEps);
    }
    return out;
  }

  void expect_close(const std::string& what, const std::vector<double>& analytic,
                    const std::vector<double>& numerical) {
    const double err = relative_error(analytic, numerical);
    double norm = 0;
    for (double a : analytic) norm += a * a;
    CHECK(err < kTolerance, "%s: relative error %.3g (|grad| %.3g)", what.c_str(), err,
          std::sqrt(norm));
    CHECK(norm > 0 || what.find("c0") != std::string::npos, "%s: gradient is identically zero",
          what.c_str());
    ++checked;
  }

  void run() {
    loss();
    std::vector<double> grads(params.size(), 0.0), dx(batch.dense.size(), 0.0);
    net.backward(ws, params.data(), grads.data(), batch.dense.empty() ? nullptr : dx.data());
    const auto dh0 = ws.dh0, dc0 = ws.dc0;
    for (const TensorSlot& s : net.layout().tensors) {
      std::vector<double> analytic(grads.begin() + s.offset, grads.begin() + s.offset + s.size);
      double* base = params.data() + s.offset;
      expect_close(s.name, analytic, numeric(base, size_t(s.size)));
    }
    if (!batch.dense.empty()) expect_close("input", dx, numeric(batch.dense, batch.dense.size()));
    for (size_t l = 0; l < config.layers.size(); ++l)
      for (int d = 0; d < config.layers[l].directions(); ++d) {
        const std::string where = " of layer " + std::to_string(l) + " direction " + std::to_string(d);
        expect_close("h0" + where, dh0[l][d], numeric(h0[l][d], h0[l][d].size()));
        if (config.layers[l].cell == CellType::kLstm)
          expect_close("c0" + where, dc0[l][d], numeric(c0[l][d], c0[l][d].size()));
      }
  }
};

void check_model(const ModelConfig& c, bool training = false, std::vector<int32_t> lengths = {5, 3, 4}) {
  GradientCheck g(c, training, std::move(lengths));
  g.run();
  CHECK(g.checked >= 4, "only %d tensors checked", g.checked);
}

LayerConfig with(LayerConfig l, void (*edit)(LayerConfig&)) {
  edit(l);
  return l;
}

}  // namespace

TEST(rnn_tanh) { check_model(dense_model({layer(CellType::kRnn, 4)})); }
TEST(rnn_relu) {
  check_model(dense_model({with(layer(CellType::kRnn, 4), [](LayerConfig& l) { l.activation = Activation::kRelu; })}));
}
TEST(lstm_sigmoid) { check_model(dense_model({layer(CellType::kLstm, 4)})); }
TEST(lstm_hard_sigmoid) {
  check_model(dense_model({with(layer(CellType::kLstm, 4), [](LayerConfig& l) {
    l.recurrent_activation = RecurrentActivation::kHardSigmoid;
  })}));
}
TEST(gru_reset_before) {
  check_model(dense_model({with(layer(CellType::kGru, 4), [](LayerConfig& l) { l.reset_after = false; })}));
}
TEST(gru_reset_after) { check_model(dense_model({layer(CellType::kGru, 4)})); }
TEST(gru_hard_sigmoid) {
  check_model(dense_model({with(layer(CellType::kGru, 4), [](LayerConfig& l) {
    l.recurrent_activation = RecurrentActivation::kHardSigmoid;
  })}));
}
TEST(bidirectional_lstm) {
  check_model(dense_model({with(layer(CellType::kLstm, 3), [](LayerConfig& l) { l.bidirectional = true; })}));
}
TEST(bidirectional_gru_and_rnn_stacked) {
  check_model(dense_model({with(layer(CellType::kGru, 3), [](LayerConfig& l) { l.bidirectional = true; }),
                           with(layer(CellType::kRnn, 4), [](LayerConfig& l) { l.bidirectional = true; })}));
}
TEST(stacked_lstm_gru_with_dropout) {
  check_model(dense_model({with(layer(CellType::kLstm, 4), [](LayerConfig& l) { l.dropout = 0.3; }),
                           with(layer(CellType::kGru, 3), [](LayerConfig& l) { l.dropout = 0.2; })}),
              /*training=*/true);
}
TEST(masked_tokens_bidirectional_gru) {
  check_model(token_model({with(layer(CellType::kGru, 3), [](LayerConfig& l) { l.bidirectional = true; })}));
}
TEST(masked_tokens_lstm_mean) {
  check_model(token_model({layer(CellType::kLstm, 3)}, 7, 3, 3, Pooling::kMean));
}
TEST(pooling_mean_bidirectional) {
  check_model(dense_model({with(layer(CellType::kLstm, 3), [](LayerConfig& l) { l.bidirectional = true; })},
                          3, 3, Pooling::kMean));
}
TEST(pooling_max) { check_model(dense_model({layer(CellType::kGru, 4)}, 3, 4, Pooling::kMax)); }
// The head's two paths (classifier_head.cc): up to 16 classes summed in registers, more in memory.
TEST(head_16_classes) { check_model(dense_model({layer(CellType::kRnn, 3)}, 2, 16)); }
TEST(head_17_classes) { check_model(dense_model({layer(CellType::kRnn, 3)}, 2, 17)); }
TEST(pooling_max_bidirectional_stacked) {
  check_model(dense_model({layer(CellType::kRnn, 3),
                           with(layer(CellType::kLstm, 3), [](LayerConfig& l) { l.bidirectional = true; })},
                          2, 3, Pooling::kMax));
}

// Keras's Bidirectional merge modes: step by step inside a stack (mul needs the other
// direction's values), and at the top read at the last step (each direction at its own row)
// or pooled.
LayerConfig merging(CellType cell, int units, MergeMode mode) {
  LayerConfig l = layer(cell, units);
  l.bidirectional = true;
  l.merge_mode = mode;
  return l;
}
TEST(merge_sum_last) { check_model(dense_model({merging(CellType::kLstm, 3, MergeMode::kSum)})); }
TEST(merge_ave_last) { check_model(dense_model({merging(CellType::kGru, 3, MergeMode::kAve)})); }
TEST(merge_mul_last) { check_model(dense_model({merging(CellType::kRnn, 3, MergeMode::kMul)})); }
TEST(merge_mul_stacked_then_sum_mean) {
  check_model(dense_model({merging(CellType::kGru, 3, MergeMode::kMul), merging(CellType::kLstm, 3, MergeMode::kSum)}, 3, 3, Pooling::kMean));
}
TEST(merge_ave_max_and_masked_tokens_mul) {
  check_model(dense_model({merging(CellType::kLstm, 3, MergeMode::kAve)}, 3, 3, Pooling::kMax));
  check_model(token_model({merging(CellType::kLstm, 3, MergeMode::kMul)}));
}

// Batches large enough to be split into one group per thread (see for_each_group): the
// group-parallel time loops must give the same gradients.
std::vector<int32_t> large_ragged_batch() {
  std::vector<int32_t> lengths;
  for (int i = 0; i < 40; ++i) lengths.push_back(1 + (i * 7) % 6);
  return lengths;
}

TEST(group_parallel_lstm_gru_rnn_bidirectional) {
  use_threads(2);
  LayerConfig gru_legacy = layer(CellType::kGru, 3);
  gru_legacy.reset_after = false;
  gru_legacy.bidirectional = true;
  LayerConfig rnn = layer(CellType::kRnn, 3);
  rnn.bidirectional = true;
  check_model(dense_model({layer(CellType::kLstm, 3), gru_legacy, layer(CellType::kGru, 3), rnn}, 2, 3),
              false, large_ragged_batch());
  use_threads(1);
}

// The float path has its own elementwise code (fused_cells.cc: LSTM forward and backward, the
// reset_after GRU's forward) where double, checked above, runs lstm_cell.h / gru_cell.h: the
// float gradients of the same model on the same batch must equal the double ones to float
// precision. Widths 20 and 37 leave partial packets at every SIMD width; 40 ragged sequences
// on 2 threads take the group-parallel loops; saturating weights reach the sigmoid's x < -9
// branch.
TEST(float_gradients_match_double) {
  LayerConfig hard = layer(CellType::kLstm, 20);
  hard.recurrent_activation = RecurrentActivation::kHardSigmoid;
  LayerConfig relu = layer(CellType::kLstm, 37);
  relu.activation = Activation::kRelu;
  relu.bidirectional = true;
  LayerConfig gru_legacy = layer(CellType::kGru, 20);
  gru_legacy.reset_after = false;
  const ModelConfig configs[] = {dense_model({layer(CellType::kLstm, 20)}, 5, 4), dense_model({hard, relu}, 5, 4),
                                 dense_model({layer(CellType::kGru, 37), gru_legacy}, 5, 4)};
  for (int threads : {1, 2}) {
    use_threads(threads);
    for (const ModelConfig& c : configs) {
      Network<double> nd(c);
      Network<float> nf(c);
      std::vector<double> pd(nd.param_count());
      nd.initialize(pd.data(), 3);
      Rng rng(5);
      for (double& p : pd) p = 3 * p + 0.5 * (2 * rng.uniform() - 1);  // large: saturated gates too
      std::vector<float> pf(pd.begin(), pd.end());
      const std::vector<int32_t> lengths = large_ragged_batch();
      RandomBatch<double> bd(c, lengths, 8);
      RandomBatch<float> bf(c, lengths, 8);
      Workspace<double> wd;
      Workspace<float> wf;
      CHECK(nd.forward(wd, pd.data(), bd.input(), true, 1).empty() && nf.forward(wf, pf.data(), bf.input(), true, 1).empty(), "forward failed");
      const double ld = nd.loss(wd, bd.labels.data(), nullptr, nullptr), lf = nf.loss(wf, bf.labels.data(), nullptr, nullptr);
      CHECK(std::fabs(ld - lf) < 1e-4 * std::max(1.0, std::fabs(ld)), "loss: double %g, float %g", ld, lf);
      std::vector<double> gd(pd.size(), 0.0), xd(bd.dense.size(), 0.0);
      std::vector<float> gf(pf.size(), 0.0f), xf(bf.dense.size(), 0.0f);
      nd.backward(wd, pd.data(), gd.data(), xd.data());
      nf.backward(wf, pf.data(), gf.data(), xf.data());
      for (const TensorSlot& t : nd.layout().tensors) {
        const std::vector<double> a(gd.begin() + t.offset, gd.begin() + t.offset + t.size);
        const std::vector<double> b(gf.begin() + t.offset, gf.begin() + t.offset + t.size);
        const double err = relative_error(a, b);
        CHECK(err < 1e-4, "%d thread(s), %s: float gradient differs from double by %.3g (relative)", threads, t.name.c_str(), err);
      }
      const std::vector<double> xfd(xf.begin(), xf.end());
      CHECK(relative_error(xd, xfd) < 1e-4, "%d thread(s): input gradient differs by %.3g", threads, relative_error(xd, xfd));
    }
  }
  use_threads(1);
}

TEST_MAIN()
