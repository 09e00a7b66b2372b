#include "core/model/model_config.hpp"

#include <cmath>
#include <numbers>

#include "core/support/check.hpp"

namespace sgl {

bool is_supported_arch(const std::string& arch) { return arch == "llama" || arch == "qwen2" || arch == "qwen3"; }

void ModelConfig::validate() const {
  auto bad = [&](const std::string& what) { SGL_THROW(Status::kInvalidArgument, "model config ({}): {}", arch, what); };
  if (!is_supported_arch(arch))
    SGL_THROW(Status::kUnsupported, "architecture '{}' is not supported (supported: llama, qwen2, qwen3)", arch);
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
      rms_eps, tied_embeddings, qkv_bias, qk_norm);
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
