#include "core/model/hf_names.hpp"

#include <charconv>

namespace sgl::hf {
namespace {

struct Pair {
  std::string_view hf;
  std::string_view gguf;
};

// Per-layer suffixes: model.layers.N.<hf> <-> blk.N.<gguf>.
constexpr Pair kLayer[] = {
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate.weight", "ffn_gate_inp.weight"},  // qwen2moe / qwen3moe router
    {"block_sparse_moe.gate.weight", "ffn_gate_inp.weight"},  // Mixtral router
    {"mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight"},
    {"mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight"},
    {"mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight"},
    {"self_attn.q_a_proj.weight", "attn_q_a.weight"},  // DeepSeek V2/V3 MLA
    {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"},
    {"self_attn.q_b_proj.weight", "attn_q_b.weight"},
    {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"},
    {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"},
    {"self_attn.kv_b_proj.weight", "attn_kv_b.weight"},
    {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias"},
    {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
    {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
    {"input_layernorm.weight", "attn_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
};

// Routed experts: HF holds one 2-D tensor per expert (<prefix>E.<hf>); they map to
// blk.N.<gguf>.E.weight, which the weight resolver takes where a file has no 3-D tensor.
struct ExpertPair {
  std::string_view prefix;
  std::string_view hf;
  std::string_view gguf;
};
constexpr ExpertPair kExperts[] = {
    {"mlp.experts.", "gate_proj.weight", "ffn_gate_exps"},
    {"mlp.experts.", "up_proj.weight", "ffn_up_exps"},
    {"mlp.experts.", "down_proj.weight", "ffn_down_exps"},
    {"block_sparse_moe.experts.", "w1.weight", "ffn_gate_exps"},
    {"block_sparse_moe.experts.", "w3.weight", "ffn_up_exps"},
    {"block_sparse_moe.experts.", "w2.weight", "ffn_down_exps"},
};

constexpr Pair kGlobal[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

// Splits "<prefix>N.<rest>" into N and rest; false when the name does not have that form.
bool split_layer(std::string_view name, std::string_view prefix, long* layer, std::string_view* rest) {
  if (name.substr(0, prefix.size()) != prefix) return false;
  name.remove_prefix(prefix.size());
  size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot > 6) return false;
  auto [p, ec] = std::from_chars(name.data(), name.data() + dot, *layer);
  if (ec != std::errc() || p != name.data() + dot || *layer < 0) return false;
  *rest = name.substr(dot + 1);
  return true;
}

}  // namespace

std::optional<std::string> gguf_name(std::string_view hf_name) {
  for (const Pair& p : kGlobal)
    if (p.hf == hf_name) return std::string(p.gguf);
  long layer;
  std::string_view rest;
  if (!split_layer(hf_name, "model.layers.", &layer, &rest)) return std::nullopt;
  for (const Pair& p : kLayer)
    if (p.hf == rest) return "blk." + std::to_string(layer) + "." + std::string(p.gguf);
  for (const ExpertPair& p : kExperts) {
    long e;
    std::string_view tail;
    if (split_layer(rest, p.prefix, &e, &tail) && tail == p.hf)
      return "blk." + std::to_string(layer) + "." + std::string(p.gguf) + "." + std::to_string(e) + ".weight";
  }
  return std::nullopt;
}

std::optional<std::string> hf_name(std::string_view gguf_name, HfFamily family) {
  const bool mixtral = family == HfFamily::kMixtral;
  for (const Pair& p : kGlobal)
    if (p.gguf == gguf_name) return std::string(p.hf);
  long layer;
  std::string_view rest;
  if (!split_layer(gguf_name, "blk.", &layer, &rest)) return std::nullopt;
  const std::string pre = "model.layers." + std::to_string(layer) + ".";
  if (mixtral && rest == "ffn_gate_inp.weight") return pre + "block_sparse_moe.gate.weight";
  if (family == HfFamily::kDeepseek && rest.starts_with("ffn_") && rest.ends_with("_shexp.weight")) {
    const std::string_view kind = rest.substr(4, rest.size() - 4 - std::string_view("_shexp.weight").size());
    return pre + "mlp.shared_experts." + std::string(kind) + "_proj.weight";
  }
  for (const Pair& p : kLayer)
    if (p.gguf == rest) return pre + std::string(p.hf);
  for (const ExpertPair& p : kExperts) {
    if (mixtral != (p.prefix == "block_sparse_moe.experts.")) continue;
    if (rest.substr(0, p.gguf.size()) != p.gguf || rest.size() <= p.gguf.size() + 1 || rest[p.gguf.size()] != '.')
      continue;
    long e;
    std::string_view tail;
    if (split_layer(rest, std::string(p.gguf) + ".", &e, &tail) && tail == "weight")
      return pre + std::string(p.prefix) + std::to_string(e) + "." + std::string(p.hf);
  }
  return std::nullopt;
}

}  // namespace sgl::hf
