// Packed layout and masking: lengths sort and pack correctly, padding and batch order never
// change a result, a sequence's prediction doesn't depend on what it is batched with, and
// float and double kernels agree.
#include <cmath>

#include "check.h"
#include "test_models.h"

using namespace rnn;
using namespace testing_support;

TEST(layout_sorts_and_packs) {
  PackedLayout L;
  const int32_t lengths[] = {2, 5, 3, 5};
  CHECK(build_layout(lengths, 4, 5, L).empty(), "valid lengths rejected");
  CHECK(L.order == (std::vector<int>{1, 3, 2, 0}), "order is longest first, stable");
  CHECK(L.active == (std::vector<int>{4, 4, 3, 2, 2}), "active counts");
  CHECK(L.offset.back() == 15 && L.rows == 15, "rows = sum of lengths, got %ld", L.rows);
  CHECK(L.row(2, 1) == 9, "row(2, 1) = offset[2] + 1");
}

TEST(layout_rejects_bad_lengths) {
  PackedLayout L;
  const int32_t zero[] = {3, 0};
  const int32_t too_long[] = {3, 6};
  CHECK(!build_layout(zero, 2, 5, L).empty(), "empty sequence accepted");
  CHECK(!build_layout(too_long, 2, 5, L).empty(), "length beyond steps accepted");
  CHECK(!build_layout(zero, 0, 5, L).empty(), "empty batch accepted");
}

namespace {

std::vector<ModelConfig> configs() {
  LayerConfig bi = layer(CellType::kGru, 5);
  bi.bidirectional = true;
  return {dense_model({layer(CellType::kLstm, 6)}),
          dense_model({bi, layer(CellType::kRnn, 4)}, 3, 3, Pooling::kMean),
          dense_model({bi}, 3, 4, Pooling::kMax),
          token_model({bi}, 9, 4, 3, Pooling::kLast)};
}

template <typename T>
std::vector<T> predict(const Network<T>& net, const std::vector<T>& params, const RandomBatch<T>& b,
                       bool keep_for_backward = true) {
  Workspace<T> ws;
  const std::string err = net.forward(ws, params.data(), b.input(), false, 0, keep_for_backward);
  CHECK(err.empty(), "forward: %s", err.c_str());
  std::vector<T> out(size_t(b.batch) * net.config().classes);
  net.probabilities(ws, out.data());
  return out;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace

TEST(padding_never_changes_results) {
  for (const ModelConfig& c : configs()) {
    Network<float> net(c);
    std::vector<float> params(net.param_count());
    net.initialize(params.data(), 3);
    RandomBatch<float> a(c, {6, 2, 4}, 5);
    RandomBatch<float> b = a;
    Rng rng(9);
    for (int s = 0; s < b.batch; ++s)
      for (int t = b.lengths[s]; t < b.steps; ++t) {
        if (c.input == InputType::kDense)
          for (int f = 0; f < c.features; ++f) b.dense[(s * b.steps + t) * c.features + f] = float(100 * rng.uniform());
        else
          b.tokens[s * b.steps + t] = 1 + int(rng.next() % 8);
      }
    CHECK(max_diff(predict(net, params, a), predict(net, params, b)) == 0, "padding changed a probability");
  }
}

TEST(batch_neighbours_and_order_do_not_matter) {
  for (const ModelConfig& c : configs()) {
    Network<float> net(c);
    std::vector<float> params(net.param_count());
    net.initialize(params.data(), 4);
    RandomBatch<float> batch(c, {3, 7, 5, 7, 1}, 6);
    const std::vector<float> together = predict(net, params, batch);
    const int C = c.classes;
    for (int s = 0; s < batch.batch; ++s) {
      // The same sequence alone, padded to its own length.
      RandomBatch<float> one = batch;
      one.batch = 1;
      one.steps = batch.lengths[s];
      one.lengths = {batch.lengths[s]};
      const int width = c.input == InputType::kDense ? c.features : 1;
      std::vector<float> dense;
      std::vector<int32_t> tokens;
      for (int t = 0; t < one.steps; ++t)
        for (int f = 0; f < width; ++f) {
          const size_t k = (size_t(s) * batch.steps + t) * width + f;
          if (c.input == InputType::kDense) dense.push_back(batch.dense[k]);
          else tokens.push_back(batch.tokens[k]);
        }
      one.dense = dense;
      one.tokens = tokens;
      const std::vector<float> alone = predict(net, params, one);
      for (int k = 0; k < C; ++k)
        CHECK(std::fabs(alone[k] - together[s * C + k]) < 1e-6, "sequence %d class %d: %g alone vs %g in batch",
              s, k, alone[k], together[s * C + k]);
    }
  }
}

// Inference keeps one step per sequence in its per-step buffers instead of every packed row:
// the results must be the same bits. Batches from a few rows (every step projected at once)
// to 300 ragged sequences of width 48 (projection per step, several thread groups), every
// cell, GRU in both forms, bidirectional and stacked.
TEST(inference_buffers_give_the_same_results) {
  std::vector<ModelConfig> cs = configs();
  LayerConfig legacy = layer(CellType::kGru, 48);
  legacy.reset_after = false;
  LayerConfig wide = layer(CellType::kLstm, 48);
  wide.bidirectional = true;
  cs.push_back(dense_model({wide, legacy, layer(CellType::kRnn, 40)}, 5, 4));
  for (const ModelConfig& c : cs) {
    Network<float> net(c);
    std::vector<float> params(net.param_count());
    net.initialize(params.data(), 11);
    for (int batch : {3, 300}) {
      std::vector<int32_t> lengths;
      Rng rng{uint64_t(batch)};
      for (int s = 0; s < batch; ++s) lengths.push_back(1 + int32_t(rng.next() % 40));
      RandomBatch<float> b(c, lengths, 12);
      CHECK(max_diff(predict(net, params, b, true), predict(net, params, b, false)) == 0,
            "inference buffers changed a probability (batch %d)", batch);
    }
  }
}

// One workspace serving inference and training passes in turn (as a pooled workspace may),
// on batches of different sizes: each pass sizes its buffers for its own mode and batch,
// whatever the previous pass was (a small inference batch, then a large training one, ...).
TEST(one_workspace_alternating_inference_and_training) {
  LayerConfig bi = layer(CellType::kLstm, 24);
  bi.bidirectional = true;
  for (const ModelConfig& c : {dense_model({bi, layer(CellType::kGru, 20)}, 4, 3), dense_model({layer(CellType::kRnn, 16)}, 4, 3)}) {
    Network<float> net(c);
    std::vector<float> params(net.param_count());
    net.initialize(params.data(), 5);
    auto batch_of = [&](int n, uint64_t seed) {
      std::vector<int32_t> lengths;
      Rng rng{seed};
      for (int s = 0; s < n; ++s) lengths.push_back(1 + int32_t(rng.next() % 30));
      return RandomBatch<float>(c, lengths, seed + 1);
    };
    const RandomBatch<float> small = batch_of(12, 7), large = batch_of(200, 9);
    const std::vector<float> expect_small = predict(net, params, small, false), expect_large = predict(net, params, large, false);
    Workspace<float> ws;
    std::vector<float> grads(params.size());
    const struct { const RandomBatch<float>* b; const std::vector<float>* expected; bool keep; } passes[] = {
        {&small, &expect_small, false}, {&large, &expect_large, true}, {&small, &expect_small, true},
        {&large, &expect_large, false}, {&small, &expect_small, false}, {&large, &expect_large, true}};
    for (const auto& pass : passes) {
      CHECK(net.forward(ws, params.data(), pass.b->input(), false, 0, pass.keep).empty(), "forward failed");
      std::vector<float> probs(pass.expected->size());
      net.probabilities(ws, probs.data());
      CHECK(max_diff(probs, *pass.expected) == 0, "a reused workspace changed a probability (keep %d)", int(pass.keep));
      if (pass.keep) {
        net.loss(ws, pass.b->labels.data(), nullptr, nullptr);
        net.backward(ws, params.data(), grads.data(), nullptr);
      }
    }
  }
}

TEST(float_and_double_agree) {
  for (const ModelConfig& c : configs()) {
    Network<float> nf(c);
    Network<double> nd(c);
    std::vector<double> pd(nd.param_count());
    nd.initialize(pd.data(), 8);
    std::vector<float> pf(pd.begin(), pd.end());
    RandomBatch<double> bd(c, {4, 6, 2}, 10);
    RandomBatch<float> bf(c, {4, 6, 2}, 10);
    const auto probs_d = predict(nd, pd, bd);
    const auto probs_f = predict(nf, pf, bf);
    for (size_t i = 0; i < probs_d.size(); ++i)
      CHECK(std::fabs(probs_d[i] - probs_f[i]) < 1e-5, "prob %zu: double %g float %g", i, probs_d[i], double(probs_f[i]));
  }
}

TEST(out_of_vocabulary_ids_are_rejected) {
  const ModelConfig c = token_model({layer(CellType::kLstm, 3)}, 5);
  Network<float> net(c);
  std::vector<float> params(net.param_count());
  RandomBatch<float> b(c, {3, 2}, 1);
  b.tokens[1] = 5;
  Workspace<float> ws;
  const std::string err = net.forward(ws, params.data(), b.input(), false, 0);
  CHECK(err.find("outside the vocabulary") != std::string::npos, "got '%s'", err.c_str());
}

TEST_MAIN()
