// The classifier after the recurrent stack, on [batch, .] rows in sorted order:
//   pooling over each sequence's valid steps (last, mean, max) and its gradient (unpool),
//   the dense head (logits = pooled . W + b) with a numerically stable softmax,
//   the (class-weighted) cross-entropy and its gradient, and the head's own backward.
//
// Separate from network.cc, which owns the recurrent stack (embedding, layers, dropout, the
// Bidirectional merges) and the order of the passes: these steps run once per batch, not per
// step, read the stack only through the Workspace (the top layer's output and, for a merging
// top layer read at its last step, its directions') and write only their own Workspace
// buffers (pooled, argmax, logits, log_norm, probs, labels, dlogits, dpooled). The head's
// forward also carries the batch invariant that sharded and queued predictions rest on (each
// sequence's logits and probabilities from its own row alone, in a fixed order): in a file of
// its own, that code is not edited along with the cells.
//
// The functions are templates defined in classifier_head.cc and instantiated there for float
// and double (the dense head's block kernel, head_rows, is instantiated and inlined there).
#pragma once

#include <cstdint>

#include "model_config.h"
#include "network.h"
#include "param_layout.h"

namespace rnn {

// Whether the top layer merges and is read at its last step (each direction at its own row).
inline bool top_split(const LayerConfig& top, Pooling pooling) { return top.merged() && pooling == Pooling::kLast; }

// ws.pooled [batch, D] from the top layer's output over each sequence's valid steps (and
// ws.argmax [batch, D], the packed row of each maximum, for max pooling).
template <typename T>
void pool(const ModelConfig& config, Workspace<T>& ws);

// ws.dpooled [batch, D] back to the top layer's rows: dtop [rows, D] (overwritten), or
// [rows, 2 * units], each direction's gradient side by side, when top_split().
template <typename T>
void unpool(const ModelConfig& config, Workspace<T>& ws, T* dtop);

// The dense head and its softmax from ws.pooled: ws.logits and ws.probs [batch, C] and
// ws.log_norm [batch] (log sum exp), P the parameters.
template <typename T>
void head_forward(const ModelConfig& config, const ParamLayout& params, const T* P, Workspace<T>& ws);

// The same for any n rows of pooled values [n, D] (a stream's, one per step or per
// sequence): ws.logits, ws.probs [n, C] and ws.log_norm [n], row for row the bits
// head_forward gives the same pooled row.
template <typename T>
void head_rows_forward(const ModelConfig& config, const ParamLayout& params, const T* P, const T* pooled,
                       Index n, Workspace<T>& ws);

// Mean (class-weighted) cross-entropy of the last head_forward, and its gradient into
// ws.dlogits; labels in caller order (copied to ws.labels in sorted order), class_weights
// [classes] or null; `correct` (if non-null) receives how many argmax predictions match.
template <typename T>
T cross_entropy(const ModelConfig& config, Workspace<T>& ws, const int32_t* labels, const T* class_weights,
                long* correct);

// The head's gradients from ws.dlogits: the dense kernel's and bias's into grads (added),
// and ws.dpooled [batch, D] (overwritten) for unpool().
template <typename T>
void head_backward(const ModelConfig& config, const ParamLayout& params, const T* P, T* grads, Workspace<T>& ws);

}  // namespace rnn
