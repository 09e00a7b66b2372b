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
    L.w_gate = matrix(s, p + "ffn_gate.weight", E, c.n_ff);
    L.w_up = matrix(s, p + "ffn_up.weight", E, c.n_ff);
    L.w_down = matrix(s, p + "ffn_down.weight", c.n_ff, E);
    w.layers.push_back(std::move(L));
  }
  return w;
}

}  // namespace sgl
