#include "core/model/model_config.hpp"

#include <cmath>
#include <numbers>

#include "core/support/check.hpp"

namespace sgl {

bool is_supported_arch(const std::string& arch) {
  return arch == "llama" || arch == "qwen2" || arch == "qwen3" || arch == "qwen2moe" || arch == "qwen3moe";
}

void ModelConfig::validate() const {
  auto bad = [&](const std::string& what) { SGL_THROW(Status::kInvalidArgument, "model config ({}): {}", arch, what); };
  if (!is_supported_arch(arch))
    SGL_THROW(Status::kUnsupported, "architecture '{}' is not supported (supported: llama, qwen2, qwen3, qwen2moe, qwen3moe)", arch);
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
  validate_moe(bad);
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
                                                      : fmt::format("llama3 x{}", rope_scaling.factor),
      rms_eps, tied_embeddings, qkv_bias, qk_norm) +
         (moe.n_expert > 0 ? fmt::format(" experts={}/{} ff_exp={} shared_ff={} gating={} norm={} scale={} groups={}/{} "
                                         "leading_dense={}",
                                         moe.n_expert_used, moe.n_expert, moe.n_ff_exp, moe.n_ff_shexp,
                                         moe.gating == kernels::MoeGating::kSoftmax ? "softmax" : "sigmoid",
                                         moe.norm_weights, moe.weights_scale, moe.n_group_used, moe.n_group,
                                         moe.n_leading_dense)
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

}  // namespace sgl
