#include "core/model/transformer.hpp"

#include <algorithm>
#include <cmath>

#include "core/support/check.hpp"

namespace sgl {
namespace {
enum Scratch : size_t { kX, kH, kQ, kK, kV, kAttn, kGate, kUp, kOut, kRouter, kWeights, kMoe, kShGate, kCount };
}  // namespace

Transformer::Transformer(std::shared_ptr<const LoadedModel> model, kernels::Backend& backend)
    : model_(std::move(model)), backend_(backend) {
  const ModelConfig& c = model_->config;
  c.validate();
  w_ = resolve_weights(c, *model_->tensors);
  // Let the backend repack the matrices once (e.g. interleaved rows for its GEMV kernels).
  for (kernels::WeightView* m : matmul_weights()) *m = backend_.prepare_weight(*m);
  rope_.head_dim = static_cast<int>(c.head_dim);
  rope_.n_rot = static_cast<int>(c.n_rot);
  rope_.theta = c.rope_theta;
  rope_.style = c.rope_style;
  rope_.freq_scale = c.rope_scaling.type == RopeScalingType::kLinear ? 1.0f / c.rope_scaling.factor : 1.0f;
  rope_.freq_factors = w_.rope_factors.empty() ? nullptr : w_.rope_factors.data();
  scratch_.resize(kCount);
  if (c.is_mla()) {
    mla_rope_.head_dim = static_cast<int>(c.mla.qk_rope);
    mla_rope_.n_rot = static_cast<int>(c.mla.qk_rope);
    mla_rope_.theta = c.rope_theta;
    mla_rope_.style = c.rope_style;
    mla_rope_.freq_scale = rope_.freq_scale;
    if (c.rope_scaling.type == RopeScalingType::kYarn) {
      mla_rope_factors_ = yarn_rope_factors(c);
      mla_rope_.freq_factors = mla_rope_factors_.data();
    }
    const MlaScales sc = mla_scales(c);
    mla_rope_.mscale = sc.rope_mscale;
    mla_kq_scale_ = sc.kq_scale;
  }
  if (c.moe.n_expert > 0) {
    routing_.n_expert = static_cast<int>(c.moe.n_expert);
    routing_.n_used = static_cast<int>(c.moe.n_expert_used);
    routing_.gating = c.moe.gating;
    routing_.norm = c.moe.norm_weights;
    routing_.scale = c.moe.weights_scale;
    routing_.n_group = static_cast<int>(c.moe.n_group);
    routing_.n_group_used = static_cast<int>(c.moe.n_group_used);
  }
}

Transformer::~Transformer() {
  for (kernels::WeightView* m : matmul_weights()) backend_.release_weight(*m);
}

std::vector<kernels::WeightView*> Transformer::matmul_weights() {
  std::vector<kernels::WeightView*> out = {&w_.output};
  for (LayerWeights& L : w_.layers) {
    for (kernels::WeightView* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down, &L.gate_inp,
                                   &L.sh_gate, &L.sh_up, &L.sh_down, &L.sh_gate_inp})
      if (m->data) out.push_back(m);
    for (kernels::WeightView* m : {&L.wq_a, &L.wq_b, &L.wkv_a})
      if (m->data) out.push_back(m);
    for (auto* v : {&L.exp_gate, &L.exp_up, &L.exp_down, &L.k_b, &L.v_b})
      for (kernels::WeightView& m : *v) out.push_back(&m);
  }
  return out;
}

size_t Transformer::scratch_bytes(const ModelConfig& c, int64_t n_tokens, int64_t n_logits) {
  // The slots forward() sizes below: x, h, attn/q (qw), k, v (kvw), gate, up (ff_max), out rows.
  const int64_t qw = c.n_head * c.head_dim, kvw = c.n_head_kv * c.head_dim;
  const int64_t ff_max = std::max(c.n_ff, c.moe.n_ff_shexp);
  const int64_t floats = n_tokens * (2 * c.n_embd + 2 * qw + 2 * kvw + 2 * ff_max) + n_logits * c.n_embd;
  return static_cast<size_t>(floats) * sizeof(float);
}

float* Transformer::scratch(size_t slot, size_t n) {
  auto& v = scratch_[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

// x += routed experts (+ shared expert) of the normed rows h; scratch kGate/kUp are free here.
void Transformer::moe_ffn(const LayerWeights& L, const float* h, int64_t n) {
  const ModelConfig& c = model_->config;
  kernels::Backend& be = backend_;
  const int64_t E = c.n_embd, k = c.moe.n_expert_used;
  float* x = scratch(kX, n * E);
  float* router = scratch(kRouter, n * c.moe.n_expert);
  float* weights = scratch(kWeights, n * k);
  ids_.resize(static_cast<size_t>(n * k));
  float* out = scratch(kMoe, n * E);
  be.matmul(h, n, L.gate_inp, router);
  kernels::MoeRouting r = routing_;
  r.bias = L.exp_probs_b.empty() ? nullptr : L.exp_probs_b.data();
  be.moe_route(router, n, r, ids_.data(), weights);
  be.moe_ffn(h, n, ids_.data(), weights, static_cast<int>(k), L.experts(), out);
  if (c.moe.n_ff_shexp > 0) {
    const int64_t F = c.moe.n_ff_shexp;
    float* gate = scratch(kGate, n * F);
    float* up = scratch(kUp, n * F);
    float* sh = scratch(kH, n * E);  // h is dead once the shared gate/up are computed
    be.matmul(h, n, L.sh_gate, gate);
    be.matmul(h, n, L.sh_up, up);
    float* g = nullptr;
    if (c.moe.shared_gate) {
      g = scratch(kShGate, n);
      be.matmul(h, n, L.sh_gate_inp, g);
    }
    be.swiglu(gate, up, gate, n * F);
    be.matmul(gate, n, L.sh_down, sh);
    if (g) be.scale_rows_sigmoid(sh, g, n, E);
    be.add(out, sh, n * E);
  }
  be.add(x, out, n * E);
}

void Transformer::forward(const ForwardBatch& b, const std::vector<kernels::KvLayer>& kv, float* logits) {
  const ModelConfig& c = model_->config;
  kernels::Backend& be = backend_;
  const int64_t n = b.n_tokens();
  if (n == 0) return;
  SGL_CHECK(static_cast<int64_t>(kv.size()) == c.n_layer, "KV pool has {} layers, model {}", kv.size(), c.n_layer);
  SGL_CHECK(b.positions.size() == b.tokens.size() && b.slots.size() == b.tokens.size(), "ragged forward batch");
  for (int32_t t : b.tokens)
    if (t < 0 || t >= c.n_vocab) SGL_THROW(Status::kInvalidArgument, "token id {} is outside the vocabulary (0..{})", t, c.n_vocab - 1);

  const int64_t E = c.n_embd, H = c.n_head, KV = c.n_head_kv, hd = c.head_dim;
  const int64_t qw = H * hd, kvw = KV * hd, F = c.n_ff;
  float* x = scratch(kX, n * E);
  float* h = scratch(kH, n * E);
  // Sized for the shared expert too, so moe_ffn never reallocates them under these pointers.
  const int64_t ff_max = std::max(F, c.moe.n_ff_shexp);
  float* gate = scratch(kGate, n * ff_max);
  float* up = scratch(kUp, n * ff_max);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  be.embedding(w_.tok_embd, b.tokens.data(), n, x);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w_.layers[l];
    be.rms_norm(x, L.attn_norm.data(), h, n, E, c.rms_eps);
    if (c.is_mla()) {
      mla_attention(L, b, kv[l], h, n);
    } else {
      float* q = scratch(kQ, n * qw);
      float* k = scratch(kK, n * kvw);
      float* v = scratch(kV, n * kvw);
      float* attn = scratch(kAttn, n * qw);
      be.matmul(h, n, L.wq, q);
      be.matmul(h, n, L.wk, k);
      be.matmul(h, n, L.wv, v);
      if (c.qkv_bias) {
        be.add_bias(q, L.bq.data(), n, qw);
        be.add_bias(k, L.bk.data(), n, kvw);
        be.add_bias(v, L.bv.data(), n, kvw);
      }
      if (c.qk_norm) {
        be.rms_norm(q, L.q_norm.data(), q, n * H, hd, c.rms_eps);
        be.rms_norm(k, L.k_norm.data(), k, n * KV, hd, c.rms_eps);
      }
      be.rope(q, n, static_cast<int>(H), b.positions.data(), rope_);
      be.rope(k, n, static_cast<int>(KV), b.positions.data(), rope_);
      be.kv_store(kv[l], k, v, b.slots.data(), n);
      be.attention(q, kv[l], b.seqs, static_cast<int>(H), scale, attn);
      be.matmul(attn, n, L.wo, h);
      if (!L.bo.empty()) be.add_bias(h, L.bo.data(), n, E);
    }
    be.add(x, h, n * E);

    be.rms_norm(x, L.ffn_norm.data(), h, n, E, c.rms_eps);
    if (c.is_moe_layer(l)) {
      moe_ffn(L, h, n);
      continue;
    }
    be.matmul(h, n, L.w_gate, gate);
    be.matmul(h, n, L.w_up, up);
    be.swiglu(gate, up, gate, n * F);
    be.matmul(gate, n, L.w_down, h);
    be.add(x, h, n * E);
  }

  const auto nl = static_cast<int64_t>(b.logit_rows.size());
  if (nl == 0) return;
  float* rows = scratch(kOut, nl * E);
  for (int64_t i = 0; i < nl; ++i) {
    int32_t r = b.logit_rows[i];
    SGL_CHECK(r >= 0 && r < n, "logit row {} outside the batch of {}", r, n);
    std::copy(x + r * E, x + (r + 1) * E, rows + i * E);
  }
  be.rms_norm(rows, w_.output_norm.data(), rows, nl, E, c.rms_eps);
  be.matmul(rows, nl, w_.output, logits);
}

}  // namespace sgl
