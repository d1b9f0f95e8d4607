// The whole classifier over a packed batch: input (dense or embedding) -> stacked,
// optionally bidirectional recurrent layers (dropout between them while training) ->
// pooling over valid steps -> dense softmax head -> cross-entropy.
//
// network.cc owns the recurrent stack (embedding, layers, dropout, Bidirectional merges) and
// the order of the passes; pooling, the dense head, its softmax and the loss are in
// classifier_head.h/.cc, which Network calls once per batch.
//
// A Network is immutable (config + parameter layout) and may serve many calls at once;
// everything a call writes lives in its Workspace, which is sized on first use and then
// reused, so steady-state calls do not allocate.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batch_input.h"
#include "model_config.h"
#include "packed_layout.h"
#include "param_layout.h"
#include "recurrent_direction.h"

namespace rnn {

// [batch] rows of a state in caller order, `stride` values apart (a row holds at least the
// layer's units); null data: zeros.
template <typename T>
struct StateRows {
  const T* data = nullptr;
  long stride = 0;
};

template <typename T>
struct Workspace {
  PackedLayout layout;
  PackedInput<T> staged;                                     // forward(BatchInput): the packed copy
  Buffer<T> x;                                               // [rows, embedding] (token input)
  const int32_t* token_ids = nullptr;                        // [rows] of the last forward's input
  const T* input = nullptr;                                  // [rows, input]: layer 0's input
  int input_steps = 0;                                       // padded steps of the caller's input
  std::vector<std::vector<std::unique_ptr<RecurrentDirection<T>>>> directions;
  std::vector<Buffer<T>> outputs;                            // per layer [rows, D]
  std::vector<const T*> output_of;  // per layer: its [rows, D] output (outputs[l], or a one-direction layer's own H)
  std::vector<Buffer<T>> dropout_masks;                      // per layer [rows, D]
  Buffer<T> pooled;                                          // [batch, D]
  std::vector<long> argmax;                                       // [batch, D] (max pooling)
  Buffer<T> head_kernel, head_bias;                          // the head padded to 16 classes
  Buffer<T> logits;                                          // [batch, C], sorted order
  Buffer<T> log_norm;                                        // [batch]: log sum exp
  Buffer<T> probs;                                           // [batch, C], sorted order
  Buffer<T> dlogits, dpooled, dout, dinput, dsplit;
  std::vector<int32_t> labels;                                    // sorted order
  // Initial states per layer and direction; empty (or null rows) = zeros. Streams
  // (stream.cc) set them for one call and the gradient checks for theirs; whoever sets them
  // clears them, so a pooled workspace starts the next prediction from zeros.
  std::vector<std::vector<StateRows<T>>> h0, c0;
  // Their gradients [batch, units] in caller order (backward, when h0 is set).
  std::vector<std::vector<std::vector<T>>> dh0, dc0;
  Buffer<T> state_in, cell_in, state_grad, cell_grad;
  // The caller's version of the parameters it passes (changes whenever they do); 0 means
  // unknown, and then derived data such as packed recurrent kernels is rebuilt every call.
  uint64_t params_version = 0;
  // Whether the last forward kept what backward needs (see RecurrentDirection).
  bool kept_for_backward = false;
};

template <typename T>
class Network {
 public:
  explicit Network(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  const ParamLayout& layout() const { return params_; }
  long param_count() const { return params_.total; }

  // Runs the batch; probabilities end up in ws.probs (sorted order). Returns an error
  // message (empty on success). `training` enables dropout, drawn from `seed`. Only a
  // forward with keep_for_backward may be followed by backward(); inference passes false
  // and needs per-step buffers of one step per sequence instead of every packed row.
  // A PackedInput is read in place and must outlive backward(); a BatchInput is packed
  // into the workspace first (pack_batch).
  std::string forward(Workspace<T>& ws, const T* params, const PackedInput<T>& in, bool training,
                      uint64_t seed, bool keep_for_backward = true) const;
  std::string forward(Workspace<T>& ws, const T* params, const BatchInput<T>& in, bool training,
                      uint64_t seed, bool keep_for_backward = true) const;

  // The recurrent stack alone (forward without pooling and the head): ws.output_of.back() is
  // the top layer's output [rows, D], and each direction's state() its final state. Streams
  // pool and run the head themselves (stream.cc).
  std::string forward_stack(Workspace<T>& ws, const T* params, const PackedInput<T>& in, bool training,
                            uint64_t seed, bool keep_for_backward) const;

  // Mean (class-weighted) cross-entropy of the last forward; also sets the head gradient.
  // labels in caller order, each in [0, classes); class_weights [classes] or null.
  // `correct` receives how many argmax predictions match.
  T loss(Workspace<T>& ws, const int32_t* labels, const T* class_weights, long* correct) const;

  // Gradients of the last loss() into grads [param_count] (added), and, when non-null,
  // the dense input gradient into dx [batch, steps, features] (caller order, overwritten).
  void backward(Workspace<T>& ws, const T* params, T* grads, T* dx) const;

  // Copies probabilities of the last forward in caller order into out [batch, classes].
  void probabilities(const Workspace<T>& ws, T* out) const;

  // Draws every weight with the initialisers the config names (Keras's or PyTorch's per
  // tensor role; see initializers.cc).
  void initialize(T* params, uint64_t seed) const;

 private:
  // Token input: the embedding rows of the packed ids into ws.x.
  void embed(Workspace<T>& ws, const T* params, const PackedInput<T>& in) const;
  DirectionParams<T> direction_params(const T* params, int layer, int dir, uint64_t version) const;

  ModelConfig config_;
  ParamLayout params_;
};

}  // namespace rnn
