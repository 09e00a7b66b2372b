// Hugging Face <-> GGUF tensor names for the llama / qwen2 / qwen3 family and their MoE variants
// (Mixtral, Qwen2-MoE, Qwen3-MoE) and DeepSeek V2/V3.
// model.layers.N.self_attn.q_proj.weight <-> blk.N.attn_q.weight, and so on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sgl::hf {

// The GGUF name of an HF tensor, or nullopt when the name is not one the forward pass uses
// (e.g. rotary_emb.inv_freq buffers, or another architecture's tensors).
std::optional<std::string> gguf_name(std::string_view hf_name);

// The HF name of a GGUF tensor, or nullopt when HF has no such tensor (rope_freqs.weight).
// Routed experts are named per expert (blk.N.ffn_gate_exps.E.weight). The family picks names
// where checkpoints differ: Mixtral's block_sparse_moe, DeepSeek's mlp.shared_experts.
enum class HfFamily { kDefault, kMixtral, kDeepseek };
std::optional<std::string> hf_name(std::string_view gguf_name, HfFamily family = HfFamily::kDefault);

}  // namespace sgl::hf
