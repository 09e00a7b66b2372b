// ModelConfig: one description of a decoder-only transformer, read from GGUF metadata or an HF
// config.json. Architecture differences are data (flags), not subclasses.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/backend.hpp"

namespace sgl {

enum class RopeScalingType : int { kNone = 0, kLinear = 1, kLlama3 = 2, kYarn = 3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;   // llama3
  float high_freq_factor = 4.0f;  // llama3
  int64_t original_context = 8192;  // llama3, yarn: original_max_position_embeddings
  // YaRN (deepseek2): ramp between interpolation and extrapolation over the pairs whose
  // wavelength lies between beta_fast and beta_slow rotations of the original context.
  float beta_fast = 32.0f, beta_slow = 1.0f;
  float yarn_log_mul = 0.0f;  // mscale_all_dim (GGUF stores 0.1 x this as yarn_log_multiplier)
  float attn_factor = 1.0f;   // GGUF rope.scaling.attn_factor
};

// Multi-head latent attention (deepseek2). Each token's K/V is one row of kv_lora_rank + qk_rope
// values: the rms-normed latent and the roped key shared by all heads. Queries are absorbed
// into the latent space (q_nope through attn_k_b), attention runs as MQA over those rows, and
// each head's latent output goes through attn_v_b. ModelConfig::head_dim is that row width and
// n_head_kv is 1, so the KV pool holds exactly the compressed row.
struct MlaConfig {
  int64_t q_lora_rank = 0;   // 0: plain attn_q (V2-Lite)
  int64_t kv_lora_rank = 0;  // 0: not MLA
  int64_t qk_nope = 0;       // per-head query/key dims without rope
  int64_t qk_rope = 0;       // rotated dims (= n_rot)
  int64_t v_head_dim = 0;
  bool legacy_kv_b = false;  // the file holds a combined attn_kv_b instead of attn_k_b / attn_v_b
};

// Mixture-of-experts FFN (moe.n_expert > 0): a router picks n_expert_used of n_expert SwiGLU
// experts per token (llama.cpp build_moe_ffn semantics), optionally plus always-on shared experts.
struct MoeConfig {
  int64_t n_expert = 0;       // 0 = dense FFN everywhere
  int64_t n_expert_used = 0;  // top-k
  int64_t n_ff_exp = 0;       // one routed expert's hidden size
  int64_t n_ff_shexp = 0;     // shared expert hidden size (all shared experts fused); 0 = none
  bool shared_gate = false;   // qwen2moe: shared output times sigmoid(ffn_gate_inp_shexp . x)
  kernels::MoeGating gating = kernels::MoeGating::kSoftmax;
  bool norm_weights = false;  // renormalise the k chosen weights to sum 1
  float weights_scale = 0;    // multiply the weights by this unless 0 or 1
  int64_t n_group = 0, n_group_used = 0;  // grouped top-k (deepseek); 0/1 = plain top-k
  int64_t n_leading_dense = 0;            // the first layers keep a dense FFN of n_ff
  bool probs_bias = false;                // exp_probs_b: selection bias (deepseek v3)
  int64_t n_shared = 0;                   // deepseek2: expert_shared_count (n_ff_shexp = n_shared * n_ff_exp)
};

struct ModelConfig {
  std::string arch;   // "llama", "qwen2", "qwen3", "qwen2moe", "qwen3moe", "deepseek2"
  std::string name;   // general.name / _name_or_path, informational
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_rot = 0;  // rotated dims per head
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float rope_theta = 10000.0f;
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNorm;
  RopeScaling rope_scaling;
  float rms_eps = 1e-5f;
  bool tied_embeddings = false;
  bool qkv_bias = false;
  bool qk_norm = false;
  MoeConfig moe;
  MlaConfig mla;

  bool is_mla() const { return mla.kv_lora_rank > 0; }
  bool is_moe_layer(int64_t l) const { return moe.n_expert > 0 && l >= moe.n_leading_dense; }

  // Throws sgl::Error(kInvalidArgument) naming the inconsistent field.
  void validate() const;
  std::string summary() const;

 private:
  void validate_moe(const std::function<void(const std::string&)>& bad) const;
  void validate_mla(const std::function<void(const std::string&)>& bad) const;
};

// Architectures this build runs: llama (Llama 2/3, TinyLlama, Mistral w/o sliding window, Mixtral),
// qwen2, qwen3, qwen2moe, qwen3moe, deepseek2 (DeepSeek V2/V3/R1).
bool is_supported_arch(const std::string& arch);

// Llama 3.1-style per-pair rope frequency divisors computed from the scaling parameters
// (what GGUF stores as rope_freqs.weight).
std::vector<float> llama3_rope_factors(const ModelConfig& c);

// YaRN as llama.cpp's ggml rope computes it, expressed as per-pair angle divisors (so the rope
// kernels need no YaRN mode): pair i's angle is theta_i * (freq_scale * (1 - ramp_i) + ramp_i).
std::vector<float> yarn_rope_factors(const ModelConfig& c);

// deepseek2 attention scales (llama.cpp deepseek2.cpp / llama-context.cpp): the magnitude
// factor applied to cos/sin of the roped parts, and the softmax scale mscale^2 / sqrt(qk_nope +
// qk_rope).
struct MlaScales {
  float rope_mscale = 1.0f;
  float kq_scale = 1.0f;
};
MlaScales mla_scales(const ModelConfig& c);

}  // namespace sgl
