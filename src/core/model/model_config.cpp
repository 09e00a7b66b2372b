#include "core/model/model_config.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/support/check.hpp"

namespace sgl {

bool is_supported_arch(const std::string& arch) {
  return arch == "llama" || arch == "qwen2" || arch == "qwen3" || arch == "qwen2moe" || arch == "qwen3moe" ||
         arch == "deepseek2";
}

void ModelConfig::validate() const {
  auto bad = [&](const std::string& what) { SGL_THROW(Status::kInvalidArgument, "model config ({}): {}", arch, what); };
  if (!is_supported_arch(arch))
    SGL_THROW(Status::kUnsupported, "architecture '{}' is not supported (supported: llama, qwen2, qwen3, qwen2moe, qwen3moe, deepseek2)", arch);
  if (n_vocab <= 0) bad(fmt::format("vocabulary size {} must be positive", n_vocab));
  if (n_embd <= 0) bad(fmt::format("embedding length {} must be positive", n_embd));
  if (n_layer <= 0 || n_layer > 1024) bad(fmt::format("layer count {} must be in 1..1024", n_layer));
  if (n_head <= 0) bad(fmt::format("head count {} must be positive", n_head));
  if (n_head_kv <= 0 || n_head % n_head_kv != 0)
    bad(fmt::format("KV head count {} must be positive and divide the head count {}", n_head_kv, n_head));
  if (head_dim <= 0 || head_dim % 2 != 0 || head_dim > 1024) bad(fmt::format("head_dim {} must be even, 2..1024", head_dim));
  if (n_rot <= 0 || n_rot > head_dim || n_rot % 2 != 0)
    bad(fmt::format("rotary dimension count {} must be even and at most head_dim {}", n_rot, head_dim));
  if (n_ff <= 0) bad(fmt::format("feed-forward length {} must be positive", n_ff));
  if (!(rope_theta > 0) || !std::isfinite(rope_theta)) bad(fmt::format("rope theta {} must be positive", rope_theta));
  if (!(rms_eps > 0) || rms_eps > 1) bad(fmt::format("rms epsilon {} must be in (0, 1]", rms_eps));
  if (rope_scaling.type != RopeScalingType::kNone && !(rope_scaling.factor > 0))
    bad(fmt::format("rope scaling factor {} must be positive", rope_scaling.factor));
  if (rope_scaling.type == RopeScalingType::kYarn && !is_mla())
    bad("YaRN rope scaling is implemented for deepseek2 (MLA) only");
  validate_moe(bad);
  validate_mla(bad);
}

void ModelConfig::validate_mla(const std::function<void(const std::string&)>& bad) const {
  const MlaConfig& m = mla;
  if (arch == "deepseek2" && !is_mla()) bad("attention.kv_lora_rank must be positive for deepseek2 (MLA)");
  if (!is_mla()) return;
  if (arch != "deepseek2") bad("multi-head latent attention is only defined for deepseek2");
  if (m.kv_lora_rank > 4096) bad(fmt::format("kv_lora_rank {} is above 4096", m.kv_lora_rank));
  if (m.q_lora_rank < 0 || m.q_lora_rank > 65536) bad(fmt::format("q_lora_rank {} must be in 0..65536", m.q_lora_rank));
  if (m.qk_rope <= 0 || m.qk_rope % 2 != 0 || m.qk_rope != n_rot)
    bad(fmt::format("rope.dimension_count {} must be even and positive (the rotated part of each MLA head)", m.qk_rope));
  if (m.qk_nope <= 0)
    bad(fmt::format("key_length_mla {} must be larger than rope.dimension_count {}", m.qk_nope + m.qk_rope, m.qk_rope));
  if (m.v_head_dim <= 0 || m.v_head_dim > 1024) bad(fmt::format("value_length_mla {} must be in 1..1024", m.v_head_dim));
  if (head_dim != m.kv_lora_rank + m.qk_rope || n_head_kv != 1)
    bad(fmt::format("the MLA cache row is kv_lora_rank + rope = {} with one KV head (got head_dim {}, {} KV heads)",
                    m.kv_lora_rank + m.qk_rope, head_dim, n_head_kv));
  if (moe.n_expert > 0 && moe.n_shared < 0) bad("expert_shared_count must not be negative");
}

void ModelConfig::validate_moe(const std::function<void(const std::string&)>& bad) const {
  const MoeConfig& m = moe;
  const bool moe_arch = arch == "qwen2moe" || arch == "qwen3moe";
  if (moe_arch && m.n_expert <= 0) bad("expert_count must be positive for a MoE architecture");
  if (m.n_expert <= 0) {
    if (m.n_expert < 0) bad(fmt::format("expert_count {} must not be negative", m.n_expert));
    return;
  }
  if (m.n_expert > 4096) bad(fmt::format("expert_count {} is above 4096", m.n_expert));
  if (m.n_expert_used <= 0 || m.n_expert_used > m.n_expert)
    bad(fmt::format("expert_used_count {} must be in 1..expert_count {}", m.n_expert_used, m.n_expert));
  if (m.n_ff_exp <= 0) bad(fmt::format("expert_feed_forward_length {} must be positive", m.n_ff_exp));
  if (m.n_ff_shexp < 0) bad(fmt::format("shared expert feed-forward length {} must not be negative", m.n_ff_shexp));
  if (m.shared_gate && m.n_ff_shexp == 0) bad("a shared-expert gate needs a shared expert");
  if (m.n_leading_dense < 0 || m.n_leading_dense > n_layer)
    bad(fmt::format("leading_dense_block_count {} must be in 0..{} layers", m.n_leading_dense, n_layer));
  if (m.n_group > 1) {
    if (m.n_expert % m.n_group != 0 || m.n_expert / m.n_group < 2)
      bad(fmt::format("expert_group_count {} must divide expert_count {} with >= 2 experts per group", m.n_group,
                      m.n_expert));
    if (m.n_group_used <= 0 || m.n_group_used >= m.n_group)
      bad(fmt::format("expert_group_used_count {} must be in 1..expert_group_count-1 ({})", m.n_group_used,
                      m.n_group - 1));
    if (m.n_expert_used > m.n_group_used * (m.n_expert / m.n_group))
      bad(fmt::format("expert_used_count {} exceeds the {} experts of the {} used groups", m.n_expert_used,
                      m.n_group_used * (m.n_expert / m.n_group), m.n_group_used));
  }
  if (!(std::isfinite(m.weights_scale)) || m.weights_scale < 0)
    bad(fmt::format("expert_weights_scale {} must be finite and >= 0", m.weights_scale));
}

std::string ModelConfig::summary() const {
  return fmt::format(
      "arch={} vocab={} embd={} layers={} heads={}/{} head_dim={} ff={} ctx={} theta={} rope={} scaling={} eps={} "
      "tied={} qkv_bias={} qk_norm={}",
      arch, n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train, rope_theta,
      rope_style == kernels::RopeStyle::kNorm ? "norm" : "neox",
      rope_scaling.type == RopeScalingType::kNone     ? "none"
      : rope_scaling.type == RopeScalingType::kLinear ? fmt::format("linear x{}", rope_scaling.factor)
          : rope_scaling.type == RopeScalingType::kYarn   ? fmt::format("yarn x{} orig {} mscale_all_dim {}", rope_scaling.factor,
                                                          rope_scaling.original_context, rope_scaling.yarn_log_mul)
                                                      : fmt::format("llama3 x{}", rope_scaling.factor),
      rms_eps, tied_embeddings, qkv_bias, qk_norm) +
         (moe.n_expert > 0 ? fmt::format(" experts={}/{} ff_exp={} shared_ff={} gating={} norm={} scale={} groups={}/{} "
                                         "leading_dense={}",
                                         moe.n_expert_used, moe.n_expert, moe.n_ff_exp, moe.n_ff_shexp,
                                         moe.gating == kernels::MoeGating::kSoftmax ? "softmax" : "sigmoid",
                                         moe.norm_weights, moe.weights_scale, moe.n_group_used, moe.n_group,
                                         moe.n_leading_dense)
                           : std::string()) +
         (is_mla() ? fmt::format(" mla: q_lora={} kv_lora={} qk_nope={} qk_rope={} v={}{}", mla.q_lora_rank,
                                 mla.kv_lora_rank, mla.qk_nope, mla.qk_rope, mla.v_head_dim,
                                 mla.legacy_kv_b ? " (legacy attn_kv_b)" : "")
                   : std::string());
}

std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  double low_wavelen = static_cast<double>(s.original_context) / s.low_freq_factor;
  double high_wavelen = static_cast<double>(s.original_context) / s.high_freq_factor;
  std::vector<float> out;
  for (int64_t i = 0; i < c.n_rot / 2; ++i) {
    double freq = std::pow(static_cast<double>(c.rope_theta), -2.0 * static_cast<double>(i) / c.n_rot);
    double wavelen = 2 * std::numbers::pi / freq;
    double f;
    if (wavelen < high_wavelen) {
      f = 1.0;
    } else if (wavelen > low_wavelen) {
      f = s.factor;
    } else {
      double smooth = (s.original_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = 1.0 / ((1 - smooth) / s.factor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

std::vector<float> yarn_rope_factors(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  const float freq_scale = 1.0f / s.factor;
  // ggml_rope_yarn_corr_dims: the pair range over which the ramp falls from 1 to 0, in float.
  auto corr_dim = [&](float n_rot) {
    return static_cast<float>(c.n_rot) *
           std::log(static_cast<float>(s.original_context) / (n_rot * 2 * static_cast<float>(std::numbers::pi))) /
           (2 * std::log(c.rope_theta));
  };
  const float low = std::max(0.0f, std::floor(corr_dim(s.beta_fast)));
  const float high = std::min(static_cast<float>(c.n_rot - 1), std::ceil(corr_dim(s.beta_slow)));
  std::vector<float> out;
  for (int64_t i = 0; i < c.n_rot / 2; ++i) {
    const float y = (static_cast<float>(i) - low) / std::max(0.001f, high - low);
    const float ramp = 1 - std::min(1.0f, std::max(0.0f, y));  // ext_factor 1
    out.push_back(1.0f / (freq_scale * (1 - ramp) + ramp));
  }
  return out;
}

MlaScales mla_scales(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  MlaScales out;
  const float hd = static_cast<float>(c.mla.qk_nope + c.mla.qk_rope);
  if (s.type != RopeScalingType::kYarn) {
    // No ramp: the rope magnitude is the attn_factor; freq_scale is 1 (or linear) here.
    const float fs = s.type == RopeScalingType::kLinear ? 1.0f / s.factor : 1.0f;
    const float m = s.attn_factor * (1.0f + 0.1f * std::log(1.0f / fs)) * (1.0f + 0.1f * s.yarn_log_mul * std::log(1.0f / fs));
    out.rope_mscale = s.attn_factor;
    out.kq_scale = m * m / std::sqrt(hd);
    return out;
  }
  const float factor = s.factor, fs = 1.0f / factor;
  auto get_mscale = [](float scale, float mscale) { return scale <= 1.0f ? 1.0f : 0.1f * mscale * std::log(scale) + 1.0f; };
  // llama-context.cpp: yarn_attn_factor, then cancelled against the ramp's own magnitude term.
  float attn_factor;
  if (s.yarn_log_mul != 0.0f) {
    const float mscale = s.yarn_log_mul != 1.0f ? s.yarn_log_mul : 1.0f;  // deepseek2 special case
    attn_factor = get_mscale(factor, mscale) / get_mscale(factor, s.yarn_log_mul);
  } else {
    attn_factor = get_mscale(factor, 1.0f);
  }
  attn_factor *= 1.0f / (1.0f + 0.1f * std::log(factor));
  attn_factor *= s.attn_factor;
  // ggml rope_yarn: cos/sin times attn_factor * (1 + 0.1 ln(1/freq_scale)).
  out.rope_mscale = attn_factor * (1.0f + 0.1f * std::log(1.0f / fs));
  // deepseek2.cpp: kq_scale = mscale^2 / sqrt(head_k), mscale from the original attn_factor.
  const float attn_factor_org = attn_factor * (1.0f + 0.1f * std::log(1.0f / fs));
  const float mscale = attn_factor_org * (1.0f + 0.1f * s.yarn_log_mul * std::log(1.0f / fs));
  out.kq_scale = mscale * mscale / std::sqrt(hd);
  return out;
}

}  // namespace sgl
