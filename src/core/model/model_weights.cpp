#include "core/model/model_weights.hpp"

#include <fmt/ranges.h>

#include "core/support/check.hpp"
#include "kernels/quant.hpp"

namespace sgl {
namespace {

const TensorRef& need(const TensorStore& s, const std::string& name) {
  const TensorRef* t = s.find(name);
  if (!t) SGL_THROW(Status::kParseError, "model tensor '{}' is missing", name);
  return *t;
}

void check_dims(const TensorRef& t, std::initializer_list<int64_t> want) {
  if (t.dims.size() != want.size() || !std::equal(want.begin(), want.end(), t.dims.begin()))
    SGL_THROW(Status::kParseError, "model tensor '{}' has shape [{}], expected [{}]", t.name, fmt::join(t.dims, ", "),
              fmt::join(want, ", "));
}

kernels::WeightView matrix(const TensorStore& s, const std::string& name, int64_t cols, int64_t rows) {
  const TensorRef& t = need(s, name);
  check_dims(t, {cols, rows});
  if (!kernels::dtype_info(t.dtype).supported)
    SGL_THROW(Status::kUnsupported, "model tensor '{}' has type {}, which this build does not support", name,
              kernels::dtype_name(t.dtype));
  return kernels::WeightView{t.data, t.dtype, rows, cols};
}

std::vector<float> vec(const TensorStore& s, const std::string& name, int64_t n) {
  const TensorRef& t = need(s, name);
  check_dims(t, {n});
  std::vector<float> out(static_cast<size_t>(n));
  kernels::dequantize_row(t.dtype, t.data, out.data(), n);
  return out;
}

// Expert e of a 3-D tensor {cols, rows_per_expert * parts, n_expert}: `part` selects a block of
// rows_per_expert rows within the expert's slab (fused gate_up: part 0 = gate, 1 = up).
std::vector<kernels::WeightView> experts(const TensorRef& t, int64_t cols, int64_t rows, int64_t n_exp, int parts,
                                         int part) {
  check_dims(t, {cols, rows * parts, n_exp});
  if (!kernels::dtype_info(t.dtype).supported)
    SGL_THROW(Status::kUnsupported, "model tensor '{}' has type {}, which this build does not support", t.name,
              kernels::dtype_name(t.dtype));
  const size_t rb = kernels::row_bytes(t.dtype, cols);
  std::vector<kernels::WeightView> out;
  for (int64_t e = 0; e < n_exp; ++e) {
    const auto* base = static_cast<const uint8_t*>(t.data) + (e * parts + part) * rows * rb;
    out.push_back(kernels::WeightView{base, t.dtype, rows, cols});
  }
  return out;
}

void resolve_moe(const ModelConfig& c, const TensorStore& s, const std::string& p, LayerWeights& L) {
  const MoeConfig& m = c.moe;
  const int64_t E = c.n_embd;
  L.gate_inp = matrix(s, p + "ffn_gate_inp.weight", E, m.n_expert);
  // One 3-D tensor per kind (GGUF), or one 2-D tensor per expert (HF: blk.N.ffn_gate_exps.E.weight).
  auto split = [&](const std::string& kind, int64_t cols, int64_t rows) {
    const std::string name = p + kind + ".weight";
    if (s.find(name) || !s.find(p + kind + ".0.weight")) return experts(need(s, name), cols, rows, m.n_expert, 1, 0);
    std::vector<kernels::WeightView> out;
    for (int64_t e = 0; e < m.n_expert; ++e) out.push_back(matrix(s, fmt::format("{}{}.{}.weight", p, kind, e), cols, rows));
    return out;
  };
  if (const TensorRef* gu = s.find(p + "ffn_gate_up_exps.weight")) {
    L.exp_gate = experts(*gu, E, m.n_ff_exp, m.n_expert, 2, 0);
    L.exp_up = experts(*gu, E, m.n_ff_exp, m.n_expert, 2, 1);
  } else {
    L.exp_gate = split("ffn_gate_exps", E, m.n_ff_exp);
    L.exp_up = split("ffn_up_exps", E, m.n_ff_exp);
  }
  L.exp_down = split("ffn_down_exps", m.n_ff_exp, E);
  if (m.probs_bias) L.exp_probs_b = vec(s, p + "exp_probs_b.bias", m.n_expert);
  if (m.n_ff_shexp > 0) {
    auto shared = [&](const char* what, int64_t cols, int64_t rows) {
      const std::string name = p + what;
      if (!s.find(name))
        SGL_THROW(Status::kParseError, "model tensor '{}' is missing (the config has a shared expert of width {})", name,
                  m.n_ff_shexp);
      return matrix(s, name, cols, rows);
    };
    L.sh_gate = shared("ffn_gate_shexp.weight", E, m.n_ff_shexp);
    L.sh_up = shared("ffn_up_shexp.weight", E, m.n_ff_shexp);
    L.sh_down = shared("ffn_down_shexp.weight", m.n_ff_shexp, E);
  }
  if (m.shared_gate) {
    const std::string name = p + "ffn_gate_inp_shexp.weight";
    const TensorRef& t = need(s, name);
    if (t.dims.size() == 2) check_dims(t, {E, 1});  // HF: a [1, hidden] Linear
    else check_dims(t, {E});
    L.sh_gate_inp = kernels::WeightView{t.data, t.dtype, 1, E};
  }
}

// deepseek2 attention. The MLA layout stores k_b per head as [kv_lora][qk_nope] already (the
// converter transposed it); a legacy combined attn_kv_b holds, per head, qk_nope key rows then
// v_head_dim value rows of kv_lora each: the value rows are views, the key rows are transposed
// once into an F32 copy so both layouts run the same absorbed attention.
void resolve_mla(const ModelConfig& c, const TensorStore& s, const std::string& p, LayerWeights& L) {
  const MlaConfig& m = c.mla;
  const int64_t E = c.n_embd, H = c.n_head, qk = m.qk_nope + m.qk_rope;
  if (m.q_lora_rank > 0) {
    L.wq_a = matrix(s, p + "attn_q_a.weight", E, m.q_lora_rank);
    L.q_a_norm = vec(s, p + "attn_q_a_norm.weight", m.q_lora_rank);
    L.wq_b = matrix(s, p + "attn_q_b.weight", m.q_lora_rank, H * qk);
  } else {
    L.wq = matrix(s, p + "attn_q.weight", E, H * qk);
  }
  L.wkv_a = matrix(s, p + "attn_kv_a_mqa.weight", E, m.kv_lora_rank + m.qk_rope);
  L.kv_a_norm = vec(s, p + "attn_kv_a_norm.weight", m.kv_lora_rank);
  L.wo = matrix(s, p + "attn_output.weight", H * m.v_head_dim, E);
  if (!m.legacy_kv_b) {
    L.k_b = experts(need(s, p + "attn_k_b.weight"), m.qk_nope, m.kv_lora_rank, H, 1, 0);
    L.v_b = experts(need(s, p + "attn_v_b.weight"), m.kv_lora_rank, m.v_head_dim, H, 1, 0);
    return;
  }
  const kernels::WeightView kv_b = matrix(s, p + "attn_kv_b.weight", m.kv_lora_rank, H * (m.qk_nope + m.v_head_dim));
  const size_t rb = kernels::row_bytes(kv_b.dtype, m.kv_lora_rank);
  const auto* base = static_cast<const uint8_t*>(kv_b.data);
  L.k_b_owned.resize(static_cast<size_t>(H * m.kv_lora_rank * m.qk_nope));
  std::vector<float> row(static_cast<size_t>(m.kv_lora_rank));
  for (int64_t h = 0; h < H; ++h) {
    const int64_t first = h * (m.qk_nope + m.v_head_dim);
    float* kt = L.k_b_owned.data() + h * m.kv_lora_rank * m.qk_nope;
    for (int64_t j = 0; j < m.qk_nope; ++j) {
      kernels::dequantize_row(kv_b.dtype, base + (first + j) * rb, row.data(), m.kv_lora_rank);
      for (int64_t r = 0; r < m.kv_lora_rank; ++r) kt[r * m.qk_nope + j] = row[r];
    }
    L.k_b.push_back(kernels::WeightView{kt, kernels::DType::F32, m.kv_lora_rank, m.qk_nope});
    L.v_b.push_back(kernels::WeightView{base + (first + m.qk_nope) * rb, kv_b.dtype, m.v_head_dim, m.kv_lora_rank});
  }
}

}  // namespace

ModelWeights resolve_weights(const ModelConfig& c, const TensorStore& s) {
  ModelWeights w;
  const int64_t E = c.n_embd, qw = c.n_head * c.head_dim, kvw = c.n_head_kv * c.head_dim;
  w.tok_embd = matrix(s, "token_embd.weight", E, c.n_vocab);
  w.output = c.tied_embeddings ? w.tok_embd : matrix(s, "output.weight", E, c.n_vocab);
  w.output_norm = vec(s, "output_norm.weight", E);
  if (s.find("rope_freqs.weight")) {
    w.rope_factors = vec(s, "rope_freqs.weight", c.n_rot / 2);
  } else if (c.rope_scaling.type == RopeScalingType::kLlama3) {
    w.rope_factors = llama3_rope_factors(c);
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = fmt::format("blk.{}.", l);
    LayerWeights L;
    L.attn_norm = vec(s, p + "attn_norm.weight", E);
    L.ffn_norm = vec(s, p + "ffn_norm.weight", E);
    if (c.is_mla()) {
      resolve_mla(c, s, p, L);
    } else {
      L.wq = matrix(s, p + "attn_q.weight", E, qw);
      L.wk = matrix(s, p + "attn_k.weight", E, kvw);
      L.wv = matrix(s, p + "attn_v.weight", E, kvw);
      L.wo = matrix(s, p + "attn_output.weight", qw, E);
      if (c.qkv_bias) {
        L.bq = vec(s, p + "attn_q.bias", qw);
        L.bk = vec(s, p + "attn_k.bias", kvw);
        L.bv = vec(s, p + "attn_v.bias", kvw);
      }
      // HF llama with attention_bias=true also biases o_proj; present in the file or not at all.
      if (s.find(p + "attn_output.bias")) L.bo = vec(s, p + "attn_output.bias", E);
      if (c.qk_norm) {
        L.q_norm = vec(s, p + "attn_q_norm.weight", c.head_dim);
        L.k_norm = vec(s, p + "attn_k_norm.weight", c.head_dim);
      }
    }
    if (c.is_moe_layer(l)) {
      resolve_moe(c, s, p, L);
    } else {
      L.w_gate = matrix(s, p + "ffn_gate.weight", E, c.n_ff);
      L.w_up = matrix(s, p + "ffn_up.weight", E, c.n_ff);
      L.w_down = matrix(s, p + "ffn_down.weight", c.n_ff, E);
    }
    w.layers.push_back(std::move(L));
  }
  return w;
}

}  // namespace sgl
