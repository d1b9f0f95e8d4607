// One direction of one recurrent layer over a packed batch (see packed_layout.h).
//
// Keras/tfjs layout: kernel W [input, G*units], recurrent kernel U [units, G*units],
// bias [G*units] (GRU with reset_after: [2, 3*units], input bias then recurrent bias).
// Gate order in the G blocks: LSTM i, f, g, o; GRU z, r, h; RNN a single block.
//
// forward(): the input projection through W (all packed rows at once while the gate buffer
// is small, else one step at a time inside the time loop), then each step adds its
// recurrent GEMM in place and runs one fused elementwise pass. With keep_for_backward the
// object keeps, per packed row, what backward() needs (its "workspace": gate activations,
// previous states); without it (inference) those per-step buffers hold one step of each
// sequence only ([batch, .], indexed by sorted sequence), so a large inference batch needs
// little more memory than its input and output. Buffers are sized on first use and reused.
// backward(): walks time in reverse filling the pre-activation gradients dG, then merged
// GEMMs over all steps give dW, dU, db and the input gradient.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <type_traits>
#include <vector>

#include "eigen_types.h"
#include "model_config.h"
#include "packed_gemm.h"
#include "packed_layout.h"
#include "parallel.h"

namespace rnn {

template <typename T>
struct DirectionParams {
  const T* kernel;
  const T* recurrent;
  const T* bias;
  // Changes whenever the parameters do (0: unknown), so packed copies of the recurrent
  // kernel can be kept across calls: inference packs once, not once per call.
  uint64_t version = 0;
};

template <typename T>
struct DirectionGrads {
  T* kernel;
  T* recurrent;
  T* bias;
};

template <typename T>
class RecurrentDirection {
 public:
  RecurrentDirection(const LayerConfig& config, int input_size, bool reverse)
      : config_(config), input_(input_size), units_(config.units),
        gates_(gate_count(config.cell)), reverse_(reverse) {}
  virtual ~RecurrentDirection() = default;

  // X: [rows, input] packed. h0, c0: [batch, units] initial states, or null for zeros
  // (c0 is read by LSTM only). backward() may follow only a forward that kept its buffers.
  virtual void forward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p,
                       const T* h0, const T* c0, bool keep_for_backward) = 0;

  // dH: [rows, units] gradient of the loss w.r.t. output(). Adds parameter gradients into
  // g and, when non-null, the input gradient into dX [rows, input]. dh0/dc0, when
  // non-null, receive the initial-state gradients [batch, units].
  virtual void backward(const PackedLayout& layout, const T* X, const DirectionParams<T>& p,
                        const T* dH, const DirectionGrads<T>& g, T* dX, T* dh0, T* dc0) = 0;

  // [rows, units]: the state after each packed step.
  const T* output() const { return H_.data(); }
  // [batch, units], sorted order: each sequence's state h after its last step of the last
  // forward, and the cell state c for cells that carry one (else null). Streams keep them.
  const T* state() const { return S_.data(); }
  virtual const T* cell_state() const { return nullptr; }
  bool reverse() const { return reverse_; }
  int units() const { return units_; }

 protected:
  // The row of a per-step buffer (Hprev_, the cell's own) that holds the active rows of a
  // group at the step whose packed rows start at r0: r0 itself when kept for backward, else
  // the group's first sorted sequence, so groups never share rows. gate_row: the same for G_,
  // which holds every packed row anyway when prepare_gates projected them all at once.
  long step_row(long r0, Index begin) const { return keep_ ? r0 : long(begin); }
  long gate_row(long r0, Index begin) const { return keep_ || projected_all_ ? r0 : long(begin); }
  // Rows of the per-step buffers: every packed row when kept, else one per sequence.
  size_t step_rows(const PackedLayout& layout) const {
    return size_t(keep_ ? layout.rows : layout.batch);
  }

  // Step t in processing order s: forward in time, or backward for a reverse direction.
  int step_at(const PackedLayout& layout, int s) const {
    return reverse_ ? layout.steps - 1 - s : s;
  }

  // n rows of a row-major [*, cols] buffer, starting at row r0.
  static MapR<T> rows(Buffer<T>& v, long r0, Index n, Index cols) {
    return MapR<T>(v.data() + r0 * cols, n, cols);
  }
  static ConstMapR<T> rows(const T* v, long r0, Index n, Index cols) {
    return ConstMapR<T>(v + r0 * cols, n, cols);
  }

  // The time loops run data-parallel over the batch: sequences (sorted positions) are split
  // into one contiguous group per thread, balanced by total length, and each thread runs the
  // whole time loop of its group with single-threaded GEMMs, so steps need no
  // synchronisation. In a packed layout a group's rows at step t are contiguous:
  // offset[t] + [begin, min(end, active[t])). Small batches use one group and let the GEMMs
  // parallelise instead.
  template <typename Loop>
  static void for_each_group(const PackedLayout& layout, Loop&& loop);

  // Calls step(t, n, r0) for each time step in processing order (or its reverse, for
  // backward), where n > 0 rows of the group [begin, end) are active: packed rows r0..r0+n.
  template <typename Step>
  void for_each_step(const PackedLayout& layout, Index begin, Index end, bool backward, Step&& step) const {
    for (int k = 0; k < layout.steps; ++k) {
      const int t = step_at(layout, backward ? layout.steps - 1 - k : k);
      const Index n = std::min<Index>(end, layout.active[t]) - begin;
      if (n > 0) step(t, n, layout.offset[t] + begin);
    }
  }

  // A block of the recurrent kernel U [units, G*units] packed for the per-step products:
  // columns [col0, col0 + cols) as they are (h U), or transposed (dG U^T). Repacked only
  // when the parameters changed since the last call.
  struct PackedBlock {
    PackedMatrix<T> matrix;
    const T* source = nullptr;
    uint64_t version = 0;
  };
  const PackedMatrix<T>& packed(PackedBlock& slot, const DirectionParams<T>& p, Index col0,
                                Index cols, bool transpose) const {
    return packed(slot, p.recurrent + col0, units_, cols, transpose, p.version, nullptr);
  }
  // The general form: columns of a row-major [rows, G*units] parameter matrix starting at
  // source, optionally with a bias for kOverwritePlusBias.
  const PackedMatrix<T>& packed(PackedBlock& slot, const T* source, Index rows, Index cols,
                                bool transpose, uint64_t version, const T* bias) const {
    if (version == 0 || slot.version != version || slot.source != source) {
      const Index ld = Index(gates_) * units_;
      if (transpose) {
        slot.matrix.pack(source, ld, cols, rows, true);
      } else if (config_.precision != Precision::kFloat32 && std::is_same<T, float>::value) {
        // int8/bf16 models: the forward products (x W, h U) in low precision.
        slot.matrix.pack_low_precision(source, ld, rows, cols, config_.precision);
      } else {
        slot.matrix.pack(source, ld, rows, cols, false);
      }
      if (bias) slot.matrix.set_bias(bias);
      slot.source = source;
      slot.version = version;
    }
    return slot.matrix;
  }

  // The workspace, in one place per pass: every buffer forward writes is sized here, from
  // the layout and whether backward will follow. Each cell's allocate() calls this for the
  // buffers all cells share, then sizes its own; allocate_backward() likewise for backward.
  //   G_      [step rows, G*units]  gate pre-activations, then (float: only when backward
  //                                 follows) activations
  //           ([rows, G*units] while every packed row fits in 256 KiB: see prepare_gates)
  //   H_      [rows, units]         outputs h_t of every packed row
  //   Hprev_  [step rows, units]    h_{t-1} of each step (the left operand of dU; float
  //                                 LSTM and reset_after GRU write it only for backward)
  //   S_      [batch, units]        running state h
  //   dG_     [rows, G*units]       pre-activation gradients (backward)
  //   dS_     [batch, units]        dL/dh carried to the previous step (backward)
  void allocate_common(const PackedLayout& layout, bool keep_for_backward);
  void allocate_common_backward(const PackedLayout& layout);

  // Loads a running state S [batch, units] (sized by allocate) from h0, or zeros.
  void load_state(const T* h0, Buffer<T>& S) const;

  // Returns the packed input kernel W with the input bias (the first G*units entries of the
  // bias), and when the gate buffer of every packed row is small (projected_all_) projects
  // every step at once (G = X W + b): one product with many rows beats one per step.
  const PackedMatrix<T>& prepare_gates(const PackedLayout& layout, const T* X,
                                       const DirectionParams<T>& p);

  // G rows r0..r0+n = X rows r0..r0+n W + bias: the input projection of one step, done
  // inside the time loop when the gate buffer is large, so each step's gate rows are written
  // once while they are in cache instead of being written for all steps and read back.
  // g0 is the gate row (gate_row) the step's rows go to.
  void project_step(const PackedMatrix<T>& W, const T* X, long r0, long g0, Index n) {
    if (projected_all_) return;
    const Index gu = Index(gates_) * units_;
    W.multiply(X + r0 * input_, input_, n, G_.data() + g0 * gu, gu, PackedMatrix<T>::kOverwritePlusBias);
  }

  // After the backward time loop: dW += X^T dG, db += colsum(dG), dX += dG W^T.
  void input_gradients(const PackedLayout& layout, const T* X, const DirectionParams<T>& p,
                       const T* dG, T* dW, T* db, T* dX);

  LayerConfig config_;
  int input_, units_, gates_;
  bool reverse_;
  Buffer<T> G_;      // [step rows, G*units]: gate activations after forward
  Buffer<T> H_;      // [rows, units]: outputs
  Buffer<T> Hprev_;  // [step rows, units]: the state each step started from
  Buffer<T> S_;      // [batch, units]: running state
  Buffer<T> dG_;     // [rows, G*units]: pre-activation gradients
  Buffer<T> dS_;     // [batch, units]: gradient carried to the previous step
  PackedBlock W_, Wt_;  // the input kernel W (with the input bias) and W^T, packed
  bool projected_all_ = false;  // prepare_gates projected every step already
  bool keep_ = true;            // the last forward kept what backward needs
};

template <typename T>
template <typename Loop>
void RecurrentDirection<T>::for_each_group(const PackedLayout& L, Loop&& loop) {
  // At most kRowsPerGroup sequences per group: a group's per-step working set (its state
  // rows, gate rows and the packed recurrent kernel) then stays in L2, which matters for
  // large inference batches. Groups outnumber threads then; each thread takes every
  // team-th group. At least kMinRowsPerGroup sequences per group, or the GEMMs get too thin.
  constexpr int kMinRowsPerGroup = 16, kRowsPerGroup = 64;
  const int threads = std::max(1, std::min(max_threads(), L.batch / kMinRowsPerGroup));
  const int groups = std::max(threads, (L.batch + kRowsPerGroup - 1) / kRowsPerGroup);
  if (groups == 1) {
    loop(0, L.batch);
    return;
  }
  // Boundaries at equal shares of the total length (the work), in sorted order.
  std::vector<int> bounds(groups + 1, L.batch);
  bounds[0] = 0;
  long done = 0;
  int g = 1;
  for (int r = 0; r < L.batch && g < groups; ++r) {
    done += L.lengths[r];
    if (done * groups >= L.rows * g) bounds[g++] = r + 1;
  }
  // Each thread takes the next group not yet taken (not a fixed share): a thread that loses
  // its core for a while (to the JavaScript thread, say, on a machine with as many cores as
  // threads) leaves its groups to the others instead of making them wait. Which thread runs a
  // group does not change what it computes.
  std::atomic<int> next{0};
  parallel_groups(threads, [&](int, int) {
    for (int k = next++; k < groups; k = next++)
      if (bounds[k + 1] > bounds[k]) loop(bounds[k], bounds[k + 1]);
  });
}

template <typename T>
std::unique_ptr<RecurrentDirection<T>> make_direction(const LayerConfig& config, int input_size,
                                                      bool reverse);

}  // namespace rnn
