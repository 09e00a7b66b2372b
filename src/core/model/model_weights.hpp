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
  kernels::WeightView w_gate, w_up, w_down;  // dense FFN layers

  // MoE layers (ModelConfig::is_moe_layer): the router, one view per expert into the 3-D
  // expert tensors (a fused ffn_gate_up_exps gives gate and up views of the same slab), and
  // the shared expert where the model has one.
  kernels::WeightView gate_inp;
  std::vector<kernels::WeightView> exp_gate, exp_up, exp_down;
  std::vector<float> exp_probs_b;
  kernels::WeightView sh_gate, sh_up, sh_down;
  kernels::WeightView sh_gate_inp;  // qwen2moe: 1 × n_embd

  // MLA layers (deepseek2): q through the low-rank pair q_a/q_b (or plain wq when q_lora_rank
  // is 0), the compressed KV projection, and per head the absorption matrix k_b (kv_lora rows
  // of qk_nope) and the value up-projection v_b (v_head_dim rows of kv_lora).
  kernels::WeightView wq_a, wq_b, wkv_a;
  std::vector<float> q_a_norm, kv_a_norm;
  std::vector<kernels::WeightView> k_b, v_b;
  std::vector<float> k_b_owned;  // legacy attn_kv_b: its key part transposed to F32 (k_b points here)

  kernels::MoeExperts experts() const { return {exp_gate, exp_up, exp_down}; }
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
