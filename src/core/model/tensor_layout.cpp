#include "core/model/tensor_layout.hpp"

#include <cstring>

#include "core/support/check.hpp"

namespace sgl {
namespace {

// deepseek2 attention, GGUF names and shapes as llama.cpp's deepseek2 loader wants them.
void append_mla_tensors(const ModelConfig& c, const std::string& b, std::vector<TensorSpec>& out) {
  const MlaConfig& m = c.mla;
  const int64_t H = c.n_head, qk = m.qk_nope + m.qk_rope;
  if (m.q_lora_rank > 0) {
    out.push_back({b + "attn_q_a.weight", {c.n_embd, m.q_lora_rank}, true});
    out.push_back({b + "attn_q_a_norm.weight", {m.q_lora_rank}, false});
    out.push_back({b + "attn_q_b.weight", {m.q_lora_rank, H * qk}, true});
  } else {
    out.push_back({b + "attn_q.weight", {c.n_embd, H * qk}, true});
  }
  out.push_back({b + "attn_kv_a_mqa.weight", {c.n_embd, m.kv_lora_rank + m.qk_rope}, true});
  out.push_back({b + "attn_kv_a_norm.weight", {m.kv_lora_rank}, false});
  if (m.legacy_kv_b) {
    out.push_back({b + "attn_kv_b.weight", {m.kv_lora_rank, H * (m.qk_nope + m.v_head_dim)}, true});
  } else {
    out.push_back({b + "attn_k_b.weight", {m.qk_nope, m.kv_lora_rank, H}, true});
    out.push_back({b + "attn_v_b.weight", {m.kv_lora_rank, m.v_head_dim, H}, true});
  }
  out.push_back({b + "attn_output.weight", {H * m.v_head_dim, c.n_embd}, true});
}

}  // namespace

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  const int64_t q_dim = c.n_head * c.head_dim;
  const int64_t kv_dim = c.n_head_kv * c.head_dim;
  std::vector<TensorSpec> out;
  out.push_back({"token_embd.weight", {c.n_embd, c.n_vocab}, true});
  if (c.rope_scaling.type == RopeScalingType::kLlama3) out.push_back({"rope_freqs.weight", {c.n_rot / 2}, false});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    out.push_back({b + "attn_norm.weight", {c.n_embd}, false});
    if (c.is_mla()) {
      append_mla_tensors(c, b, out);
    } else {
      out.push_back({b + "attn_q.weight", {c.n_embd, q_dim}, true});
      out.push_back({b + "attn_k.weight", {c.n_embd, kv_dim}, true});
      out.push_back({b + "attn_v.weight", {c.n_embd, kv_dim}, true});
      if (c.qkv_bias) {
        out.push_back({b + "attn_q.bias", {q_dim}, false});
        out.push_back({b + "attn_k.bias", {kv_dim}, false});
        out.push_back({b + "attn_v.bias", {kv_dim}, false});
      }
      if (c.qk_norm) {
        out.push_back({b + "attn_q_norm.weight", {c.head_dim}, false});
        out.push_back({b + "attn_k_norm.weight", {c.head_dim}, false});
      }
      out.push_back({b + "attn_output.weight", {q_dim, c.n_embd}, true});
    }
    out.push_back({b + "ffn_norm.weight", {c.n_embd}, false});
    if (c.is_moe_layer(l)) {
      const MoeConfig& m = c.moe;
      out.push_back({b + "ffn_gate_inp.weight", {c.n_embd, m.n_expert}, true});
      out.push_back({b + "ffn_gate_exps.weight", {c.n_embd, m.n_ff_exp, m.n_expert}, true});
      out.push_back({b + "ffn_up_exps.weight", {c.n_embd, m.n_ff_exp, m.n_expert}, true});
      out.push_back({b + "ffn_down_exps.weight", {m.n_ff_exp, c.n_embd, m.n_expert}, true});
      if (m.probs_bias) out.push_back({b + "exp_probs_b.bias", {m.n_expert}, false});
      if (m.shared_gate) out.push_back({b + "ffn_gate_inp_shexp.weight", {c.n_embd}, false});
      if (m.n_ff_shexp > 0) {
        out.push_back({b + "ffn_gate_shexp.weight", {c.n_embd, m.n_ff_shexp}, true});
        out.push_back({b + "ffn_up_shexp.weight", {c.n_embd, m.n_ff_shexp}, true});
        out.push_back({b + "ffn_down_shexp.weight", {m.n_ff_shexp, c.n_embd}, true});
      }
      continue;
    }
    out.push_back({b + "ffn_gate.weight", {c.n_embd, c.n_ff}, true});
    out.push_back({b + "ffn_up.weight", {c.n_embd, c.n_ff}, true});
    out.push_back({b + "ffn_down.weight", {c.n_ff, c.n_embd}, true});
  }
  out.push_back({"output_norm.weight", {c.n_embd}, false});
  if (!c.tied_embeddings) out.push_back({"output.weight", {c.n_embd, c.n_vocab}, true});
  return out;
}

void check_tensors(const TensorStore& store, const ModelConfig& c, const std::string& source) {
  auto dims_str = [](const std::vector<int64_t>& d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "]";
  };
  for (const TensorSpec& spec : expected_tensors(c)) {
    const TensorRef* t = store.find(spec.name);
    if (!t && spec.dims.size() == 3 && spec.name.ends_with("_exps.weight")) {
      // HF checkpoints: one 2-D tensor per expert, blk.N.ffn_*_exps.E.weight.
      const std::string base = spec.name.substr(0, spec.name.size() - std::strlen("weight"));
      for (int64_t e = 0; e < spec.dims[2]; ++e) {
        const std::string name = base + std::to_string(e) + ".weight";
        const TensorRef* x = store.find(name);
        if (!x) SGL_THROW(Status::kNotFound, "model '{}': tensor '{}' is missing", source, name);
        if (x->dims != std::vector<int64_t>{spec.dims[0], spec.dims[1]})
          SGL_THROW(Status::kParseError, "model '{}': tensor '{}' has dims {} but the config implies {} (GGUF order)",
                    source, name, dims_str(x->dims), dims_str({spec.dims[0], spec.dims[1]}));
      }
      continue;
    }
    if (!t) SGL_THROW(Status::kNotFound, "model '{}': tensor '{}' is missing", source, spec.name);
    if (spec.name.ends_with("ffn_gate_inp_shexp.weight") && t->dims == std::vector<int64_t>{c.n_embd, 1}) continue;
    if (t->dims != spec.dims)
      SGL_THROW(Status::kParseError, "model '{}': tensor '{}' has dims {} but the config implies {} (GGUF order)",
                source, spec.name, dims_str(t->dims), dims_str(spec.dims));
  }
}

}  // namespace sgl
