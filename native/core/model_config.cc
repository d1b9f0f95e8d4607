#include "model_config.h"

namespace rnn {

std::string validate_config(const ModelConfig& c) {
  if (c.input == InputType::kDense) {
    if (c.features < 1 || c.features > kMaxFeatures) return "features must be in [1, 2^20]";
  } else {
    if (c.vocab_size < 1 || c.vocab_size > kMaxVocab) return "vocabSize must be in [1, 2^24]";
    if (c.embedding_dim < 1 || c.embedding_dim > kMaxUnits) return "embeddingDim must be in [1, 16384]";
  }
  if (c.layers.empty() || c.layers.size() > static_cast<size_t>(kMaxLayers))
    return "layers must hold 1 to 64 recurrent layers";
  for (const LayerConfig& l : c.layers) {
    if (l.units < 1 || l.units > kMaxUnits) return "units must be in [1, 16384]";
    if (!(l.dropout >= 0.0 && l.dropout < 1.0)) return "dropout must be in [0, 1)";
    if (!l.bidirectional && l.merge_mode != MergeMode::kConcat) return "mergeMode applies to bidirectional layers only";
  }
  // Read at its last step, a merging top layer's output is each direction's own row, merged:
  // dropout on the per-step output would not reach it.
  const LayerConfig& top = c.layers.back();
  if (top.merged() && c.pooling == Pooling::kLast && top.dropout > 0.0)
    return "dropout on a merging bidirectional top layer with last pooling is not supported";
  if (c.classes < 2 || c.classes > kMaxClasses) return "classes must be in [2, 2^20]";
  if (c.precision == Precision::kInt8) {
    // Exact int32 sums, equal on every kernel (quantized_gemm.cc), need products of depth <= 1024.
    int input = c.input_size();
    for (const LayerConfig& l : c.layers) {
      if (input > kMaxInt8Depth || l.units > kMaxInt8Depth)
        return "int8 precision needs every layer's input and units to be at most 1024";
      input = l.output_size();
    }
  }
  return "";
}

}  // namespace rnn
