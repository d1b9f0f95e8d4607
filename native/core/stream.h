// Streams: a model reading sequences a chunk at a time, each row going on from the state its
// earlier chunks left (a session of `openStream`, a server session). One call runs a batch of
// rows, each a different stream's next chunk, as one forward from their carried states.
//
// What a stream carries, per row, in one float vector (StreamStateLayout):
//   per layer l:  h_l [units_l], then c_l [units_l] for a cell with a cell state (LSTM)
//   pooling:      'mean': the sum of the top layer's outputs so far [D]
//                 'max':  their running maximum [D]
//                 'last': nothing (the top layer's h is the pooled value)
// With the number of steps each row has read before (`prior_steps`), that is all a whole
// sequence's forward knows at that point. The pooled value after step t is then
//   last: h_t   mean: (sum_{s<=t} h_s) / (steps so far)   max: elementwise max_{s<=t} h_s
// summed and compared in step order, as pool() does for a whole sequence: with the
// batch-invariant kernels, a sequence fed in any chunking gives the same bits as whole.
//
// A bidirectional layer reads the future, so such a model cannot stream (stream_unsupported).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "batch_input.h"
#include "network.h"

namespace rnn {

struct StreamStateLayout {
  std::vector<long> h, c;  // per layer: offset of h_l, and of c_l (-1: the cell has none)
  long pool = -1;          // offset of the pooling accumulator (-1: 'last' keeps none)
  long width = 0;          // floats per row
};

StreamStateLayout stream_state_layout(const ModelConfig& config);

// Why this model cannot stream, or "" when it can.
std::string stream_unsupported(const ModelConfig& config);

// One chunk per row of `in` (caller order), from the carried states:
//   states       [batch, width] in caller order: read, then overwritten with the new states
//   prior_steps  [batch]: steps each row read before this chunk (>= 0)
//   out          every_step: [batch, in.layout.steps, classes], the probabilities after each
//                step of the chunk (rows past a row's length are left as they are);
//                else [batch, classes], the probabilities after its last step.
// Returns an error message, or "" on success.
template <typename T>
std::string stream_forward(const Network<T>& network, Workspace<T>& ws, const T* params,
                           const PackedInput<T>& in, T* states, const int32_t* prior_steps,
                           bool every_step, T* out);

}  // namespace rnn
