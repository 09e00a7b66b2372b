// ModelWeights: the tensors of a decoder, resolved by name from a TensorStore and checked
// against the ModelConfig. Matrices stay where the store keeps them (mmapped); small vectors
// (norms, biases, rope factors) are converted to F32.
#pragma once

#include <vector>

#include "core/model/model_config.hpp"
#include "core/model/tensor_store.hpp"
#include "kernels/backend.hpp"

namespace sgl {

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  kernels::WeightView wq, wk, wv, wo;
  std::vector<float> bq, bk, bv;          // qwen2, llama attention_bias (empty otherwise)
  std::vector<float> bo;                  // output-projection bias where the model has one
  std::vector<float> q_norm, k_norm;      // qwen3 (empty otherwise)
  kernels::WeightView w_gate, w_up, w_down;
};

struct ModelWeights {
  kernels::WeightView tok_embd;  // rows = n_vocab, cols = n_embd
  kernels::WeightView output;    // tok_embd when tied
  std::vector<float> output_norm;
  std::vector<float> rope_factors;  // per rotary pair; empty = none
  std::vector<LayerWeights> layers;
};

// Throws sgl::Error(kParseError / kUnsupported) naming the missing or misshapen tensor.
ModelWeights resolve_weights(const ModelConfig& config, const TensorStore& store);

}  // namespace sgl
