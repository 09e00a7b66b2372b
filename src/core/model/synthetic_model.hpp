// Synthetic random-weight models of the supported architectures, written as GGUF and as a
// Hugging Face directory that load to the same ModelConfig and the same logits. Each carries a
// small real tokenizer (synthetic_tokenizer.hpp), so tests need nothing from outside.
#pragma once

#include <cstdint>
#include <string>

#include "core/model/model_config.hpp"
#include "kernels/dtype.hpp"

namespace sgl {

struct SyntheticSpec {
  // llama, qwen2 (q/k/v biases), qwen3 (q/k norms), qwen2moe (biases + shared expert with a
  // sigmoid gate), qwen3moe (q/k norms, renormalised top-k); llama with n_expert > 0 is Mixtral.
  std::string arch = "llama";
  std::string name = "sgl-synthetic";
  int64_t n_vocab = 512;
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t head_dim = 0;  // 0: n_embd / n_head
  int64_t n_ff = 128;
  int64_t n_ctx = 2048;
  float rope_theta = 10000.0f;
  float rms_eps = 1e-5f;
  bool tied_embeddings = false;
  // Llama 3.1-style rope scaling (written as rope_freqs.weight in GGUF, rope_scaling in config.json).
  bool llama3_rope = false;
  float llama3_factor = 8.0f;
  float llama3_low_freq_factor = 1.0f;
  float llama3_high_freq_factor = 4.0f;
  int64_t llama3_original_context = 1024;
  // Type of the 2-D weights in the GGUF file (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K;
  // K-quant matrices whose rows are not a multiple of 256 are written as Q8_0); norms and biases
  // are F32.
  kernels::DType weight_type = kernels::DType::F32;
  // MoE (n_expert > 0): every layer routes to n_expert_used of n_expert experts of width n_ff_exp
  // (Mixtral: n_ff); qwen2moe adds a shared expert of width n_ff_shexp.
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t n_ff_exp = 0;
  int64_t n_ff_shexp = 0;
  bool fused_gate_up = false;  // GGUF: one ffn_gate_up_exps tensor instead of ffn_gate_exps + ffn_up_exps
  // deepseek2: multi-head latent attention (q_lora_rank 0 = plain attn_q; legacy_kv_b writes the
  // old combined attn_kv_b layout without key_length_mla), n_shared shared experts of n_ff_exp,
  // the first n_leading_dense layers dense, routing by softmax or sigmoid (+ exp_probs_b bias),
  // expert groups, renormalised and scaled weights, and YaRN rope (yarn_factor 0 = none).
  int64_t q_lora_rank = 0, kv_lora_rank = 0, qk_nope = 0, qk_rope = 0, v_head_dim = 0;
  bool legacy_kv_b = false;
  int64_t n_shared = 0, n_leading_dense = 0, n_group = 0, n_group_used = 0;
  bool sigmoid_gating = false, probs_bias = false, norm_weights = false;
  float weights_scale = 0;
  float yarn_factor = 0;
  int64_t yarn_original_context = 512;
  float yarn_mscale_all_dim = 1.0f;
  uint64_t seed = 1;
};

// Presets: "small" (deepseek2: DeepSeek-V3-shaped, ~0.45B, 64 experts / 6 used / 2 shared,
// 8 groups / 4 kept, one dense layer; qwen3moe: Qwen3-30B-A3B-shaped, ~1B, 64 experts / 8 used),
// "tiny" (vocab 512, embd 64, 2 layers, 4/2 heads, ff 128; MoE archs and "mixtral":
// 8 experts, 2 used, expert ff 32, qwen2moe shared ff 64; deepseek2: 3 layers (1 dense), 4
// heads, q_lora 32, kv_lora 48, nope/rope/v 16, 8 experts in 4 groups (2 used), 2 used, one
// shared, sigmoid + bias, weights normalised and x2.5, YaRN x4 from 512), "110m" (dim 768, 12 layers,
// 12 heads, ff 2048, vocab 32000), "1b" (dim 2048, 16 layers, 32/8 heads, ff 5632, vocab 32000).
// Throws sgl::Error(kInvalidArgument) for an unknown preset or architecture.
SyntheticSpec synthetic_preset(const std::string& preset, const std::string& arch = "llama");

// Checks the spec (architecture, divisibility by the quantization block, vocabulary bounds).
// Throws sgl::Error(kInvalidArgument) naming the problem.
void validate_synthetic_spec(const SyntheticSpec& s);

// The ModelConfig both written forms load to, except rope_style (kNorm from a llama GGUF, kNeox
// from the HF directory) and, for llama3 rope, the GGUF form carries the factors as a tensor.
ModelConfig synthetic_config(const SyntheticSpec& s);

// Writes a GGUF v3 file (llama.cpp conventions: llama q/k rows in the pairwise rope layout).
// Throws sgl::Error (kInvalidArgument, kIoError).
void write_synthetic_gguf(const SyntheticSpec& s, const std::string& path);

// Writes config.json, model.safetensors, tokenizer.json, tokenizer_config.json and
// generation_config.json into `dir` (created if needed). The 2-D weights are the values the
// GGUF file holds (dequantized for Q8_0/Q4_0), stored as `hf_dtype` (F32, F16 or BF16;
// F32 default for quantized specs, else the spec's type), with llama q/k rows in the HF
// rotate-half layout. So the two forms give the same logits.
void write_synthetic_hf(const SyntheticSpec& s, const std::string& dir);
void write_synthetic_hf(const SyntheticSpec& s, const std::string& dir, kernels::DType hf_dtype);

}  // namespace sgl
