// ModelConfig from a Hugging Face config.json (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM,
// DeepseekV2ForCausalLM, DeepseekV3ForCausalLM). Defaults are those of the transformers config classes.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/model/hf_json.hpp"
#include "core/model/hf_quant.hpp"
#include "core/model/model_loader.hpp"
#include "core/support/check.hpp"

namespace sgl {
namespace {

using nlohmann::json;

struct Reader {
  const json& j;
  std::string src;

  [[noreturn]] void bad(const std::string& key, const char* want) const {
    SGL_THROW(Status::kParseError, "{}: '{}' must be {} (found {})", src, key, want, j.at(key).dump());
  }
  bool has(const std::string& key) const { return j.contains(key) && !j.at(key).is_null(); }

  int64_t integer(const std::string& key, std::optional<int64_t> fallback) const {
    if (!has(key)) {
      if (fallback) return *fallback;
      SGL_THROW(Status::kParseError, "{}: required key '{}' is missing", src, key);
    }
    const json& v = j.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
      bad(key, "an integer in 0..2^31");
    return v.get<int64_t>();
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j.at(key).is_number()) bad(key, "a number");
    double d = j.at(key).get<double>();
    // Values go into floats: out-of-range ones would be undefined behaviour to convert.
    if (!std::isfinite(d) || std::fabs(d) > 1e30) bad(key, "a finite number below 1e30");
    return d;
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j.at(key).is_boolean()) bad(key, "true or false");
    return j.at(key).get<bool>();
  }
};

struct ArchDefaults {
  const char* hf_name;
  const char* arch;
  int64_t max_pos;
  bool qkv_bias;
  bool qk_norm;
};

constexpr ArchDefaults kArchs[] = {
    {"LlamaForCausalLM", "llama", 2048, false, false},
    {"MistralForCausalLM", "llama", 4096 * 32, false, false},
    {"Qwen2ForCausalLM", "qwen2", 32768, true, false},
    {"Qwen3ForCausalLM", "qwen3", 32768, false, true},
    {"Qwen2MoeForCausalLM", "qwen2moe", 8192, true, false},
    {"Qwen3MoeForCausalLM", "qwen3moe", 32768, false, true},
    {"MixtralForCausalLM", "llama", 4096 * 32, false, false},
    {"DeepseekV2ForCausalLM", "deepseek2", 2048, false, false},
    {"DeepseekV3ForCausalLM", "deepseek2", 4096, false, false},
};

// DeepSeek V2 / V3 (transformers' DeepseekV2Config / DeepseekV3Config, as llama.cpp's converter
// maps them): MLA dims, routed + shared experts after first_k_dense_replace dense layers. The
// MTP layer V3 checkpoints append past num_hidden_layers is skipped by the tensor loader.
void read_deepseek(const Reader& r, ModelConfig& c) {
  MlaConfig& a = c.mla;
  a.q_lora_rank = r.integer("q_lora_rank", 0);
  a.kv_lora_rank = r.integer("kv_lora_rank", std::nullopt);
  a.qk_nope = r.integer("qk_nope_head_dim", std::nullopt);
  a.qk_rope = r.integer("qk_rope_head_dim", std::nullopt);
  a.v_head_dim = r.integer("v_head_dim", std::nullopt);
  a.legacy_kv_b = true;  // kv_b_proj holds keys and values of every head together
  c.head_dim = a.kv_lora_rank + a.qk_rope;
  c.n_head_kv = 1;
  c.n_rot = a.qk_rope;
  // HF DeepSeek rotates interleaved pairs (its apply_rotary_pos_emb regroups them first), and
  // llama.cpp's converter keeps the rows as they are: adjacent-pair rope, as in the GGUF.
  c.rope_style = kernels::RopeStyle::kNorm;
  MoeConfig& m = c.moe;
  m.n_expert = r.integer("n_routed_experts", std::nullopt);
  m.n_expert_used = r.integer("num_experts_per_tok", std::nullopt);
  m.n_ff_exp = r.integer("moe_intermediate_size", std::nullopt);
  m.n_shared = r.integer("n_shared_experts", 0);
  m.n_ff_shexp = m.n_shared * m.n_ff_exp;
  m.n_leading_dense = r.integer("first_k_dense_replace", 0);
  if (r.integer("moe_layer_freq", 1) != 1)
    SGL_THROW(Status::kUnsupported, "{}: moe_layer_freq {} (dense layers between MoE layers) is not supported", r.src,
              r.integer("moe_layer_freq", 1));
  const int64_t groups = r.integer("n_group", 1), used = r.integer("topk_group", 1);
  if (groups > 1) m.n_group = groups, m.n_group_used = used;
  std::string scoring = "softmax", method = "greedy";
  if (r.has("scoring_func")) scoring = r.j.at("scoring_func").is_string() ? r.j.at("scoring_func").get<std::string>() : "";
  if (r.has("topk_method")) method = r.j.at("topk_method").is_string() ? r.j.at("topk_method").get<std::string>() : "";
  if (scoring != "softmax" && scoring != "sigmoid") r.bad("scoring_func", "softmax or sigmoid");
  if (method != "greedy" && method != "group_limited_greedy" && method != "noaux_tc")
    r.bad("topk_method", "greedy, group_limited_greedy or noaux_tc");
  m.gating = scoring == "sigmoid" ? kernels::MoeGating::kSigmoid : kernels::MoeGating::kSoftmax;
  m.probs_bias = method == "noaux_tc";  // mlp.gate.e_score_correction_bias
  m.norm_weights = r.boolean("norm_topk_prob", false);
  const double scale = r.number("routed_scaling_factor", 1.0);
  m.weights_scale = scale == 1.0 ? 0.0f : static_cast<float>(scale);
}

// Routed experts (transformers' Qwen2Moe / Qwen3Moe / Mixtral configs). Every layer must be
// sparse: decoder_sparse_step > 1 or mlp_only_layers would mix in dense layers, which these
// checkpoints do not use and this loader does not map.
void read_moe(const Reader& r, const std::string& hf_arch, ModelConfig& c) {
  MoeConfig& m = c.moe;
  if (hf_arch == "MixtralForCausalLM") {
    m.n_expert = r.integer("num_local_experts", 8);
    m.n_expert_used = r.integer("num_experts_per_tok", 2);
    m.n_ff_exp = c.n_ff;  // intermediate_size is the expert width
    m.norm_weights = true;
    return;
  }
  m.n_expert = r.integer("num_experts", 60);
  m.n_expert_used = r.integer("num_experts_per_tok", hf_arch == "Qwen3MoeForCausalLM" ? 8 : 4);
  m.n_ff_exp = r.integer("moe_intermediate_size", std::nullopt);
  m.norm_weights = r.boolean("norm_topk_prob", hf_arch == "Qwen3MoeForCausalLM");
  if (hf_arch == "Qwen2MoeForCausalLM") {
    m.n_ff_shexp = r.integer("shared_expert_intermediate_size", std::nullopt);
    m.shared_gate = true;
  }
  if (r.integer("decoder_sparse_step", 1) > 1)
    SGL_THROW(Status::kUnsupported, "{}: decoder_sparse_step {} > 1 (dense layers between MoE layers) is not supported",
              r.src, r.integer("decoder_sparse_step", 1));
  if (r.has("mlp_only_layers") && !(r.j.at("mlp_only_layers").is_array() && r.j.at("mlp_only_layers").empty()))
    SGL_THROW(Status::kUnsupported, "{}: mlp_only_layers (dense layers in a MoE model) is not supported", r.src);
  if (m.n_expert_used <= 0 || m.n_expert_used > m.n_expert)
    SGL_THROW(Status::kParseError, "{}: num_experts_per_tok {} must be in 1..{} (num_experts)", r.src, m.n_expert_used,
              m.n_expert);
}

void read_rope_scaling(const Reader& r, ModelConfig& c) {
  if (!r.has("rope_scaling")) return;
  const json& s = r.j.at("rope_scaling");
  if (!s.is_object()) r.bad("rope_scaling", "an object or null");
  Reader rs{s, r.src + " rope_scaling"};
  std::string type;
  for (const char* k : {"rope_type", "type"}) {
    if (rs.has(k)) {
      if (!s.at(k).is_string()) rs.bad(k, "a string");
      type = s.at(k).get<std::string>();
      break;
    }
  }
  if (type.empty() || type == "default") return;
  double factor = rs.number("factor", 1.0);
  if (!(factor > 0)) SGL_THROW(Status::kParseError, "{}: rope_scaling factor {} must be positive", r.src, factor);
  if (type == "linear") {
    c.rope_scaling.type = RopeScalingType::kLinear;
    c.rope_scaling.factor = static_cast<float>(factor);
  } else if (type == "llama3") {
    c.rope_scaling.type = RopeScalingType::kLlama3;
    c.rope_scaling.factor = static_cast<float>(factor);
    c.rope_scaling.low_freq_factor = static_cast<float>(rs.number("low_freq_factor", 1.0));
    c.rope_scaling.high_freq_factor = static_cast<float>(rs.number("high_freq_factor", 4.0));
    c.rope_scaling.original_context = rs.integer("original_max_position_embeddings", 8192);
    if (!(c.rope_scaling.high_freq_factor > c.rope_scaling.low_freq_factor) || !(c.rope_scaling.low_freq_factor > 0) ||
        c.rope_scaling.original_context <= 0)
      SGL_THROW(Status::kParseError,
                "{}: llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor and a positive "
                "original_max_position_embeddings (found {}, {}, {})",
                r.src, c.rope_scaling.low_freq_factor, c.rope_scaling.high_freq_factor, c.rope_scaling.original_context);
  } else if (type == "yarn" && c.arch == "deepseek2") {
    RopeScaling& y = c.rope_scaling;
    y.type = RopeScalingType::kYarn;
    y.factor = static_cast<float>(factor);
    y.original_context = rs.integer("original_max_position_embeddings", 4096);
    y.beta_fast = static_cast<float>(rs.number("beta_fast", 32.0));
    y.beta_slow = static_cast<float>(rs.number("beta_slow", 1.0));
    // llama.cpp reads only mscale_all_dim and takes mscale to equal it (V2 and V3 configs do).
    const double all = rs.number("mscale_all_dim", 0.0), ms = rs.number("mscale", all);
    if (ms != all && !(ms == 1.0 && all == 0.0))
      SGL_THROW(Status::kUnsupported, "{}: yarn rope_scaling with mscale {} != mscale_all_dim {} is not supported",
                r.src, ms, all);
    y.yarn_log_mul = static_cast<float>(all);
  } else {
    SGL_THROW(Status::kUnsupported, "{}: rope_scaling type '{}' is not supported for {} (linear, llama3; yarn for DeepSeek)", r.src,
              type, c.arch);
  }
}

}  // namespace

ModelConfig config_from_hf_dir(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  json j = hf::read_json_file(path);
  if (!j.is_object()) SGL_THROW(Status::kParseError, "{}: not a JSON object", path);
  Reader r{j, path};

  if (!r.has("architectures") || !j.at("architectures").is_array() || j.at("architectures").empty() ||
      !j.at("architectures")[0].is_string())
    SGL_THROW(Status::kParseError, "{}: 'architectures' must be a non-empty list of names", path);
  const std::string hf_arch = j.at("architectures")[0].get<std::string>();
  const ArchDefaults* a = nullptr;
  for (const auto& d : kArchs)
    if (hf_arch == d.hf_name) a = &d;
  if (!a)
    SGL_THROW(Status::kUnsupported,
              "{}: architecture '{}' is not supported (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
              "Qwen3ForCausalLM, Qwen2MoeForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM, DeepseekV2ForCausalLM, "
              "DeepseekV3ForCausalLM)",
              path, hf_arch);

  ModelConfig c;
  c.arch = a->arch;
  if (r.has("_name_or_path") && j.at("_name_or_path").is_string()) c.name = j.at("_name_or_path").get<std::string>();
  c.n_vocab = r.integer("vocab_size", std::nullopt);
  c.n_embd = r.integer("hidden_size", std::nullopt);
  c.n_ff = r.integer("intermediate_size", std::nullopt);
  c.n_layer = r.integer("num_hidden_layers", std::nullopt);
  c.n_head = r.integer("num_attention_heads", std::nullopt);
  if (c.n_head == 0) SGL_THROW(Status::kParseError, "{}: num_attention_heads must be positive", path);
  c.n_head_kv = r.integer("num_key_value_heads", c.n_head);
  c.head_dim = r.integer("head_dim", c.n_embd / c.n_head);
  c.n_rot = c.head_dim;
  c.n_ctx_train = r.integer("max_position_embeddings", a->max_pos);
  c.rope_theta = static_cast<float>(r.number("rope_theta", 10000.0));
  c.rms_eps = static_cast<float>(r.number("rms_norm_eps", 1e-6));
  c.tied_embeddings = r.boolean("tie_word_embeddings", false);
  // Every HF checkpoint stores q/k rows in the rotate-half layout, llama included (llama.cpp's
  // converter permutes them to the pairwise layout; we keep them and rotate halves instead).
  c.rope_style = kernels::RopeStyle::kNeox;
  c.qkv_bias = a->qkv_bias || r.boolean("attention_bias", false);
  c.qk_norm = a->qk_norm;

  // Sliding-window attention is not implemented: refuse models that depend on it.
  bool sliding = r.has("sliding_window");
  if (c.arch != "llama") sliding = sliding && r.boolean("use_sliding_window", false);
  if (sliding) {
    int64_t w = r.integer("sliding_window", std::nullopt);
    if (w < c.n_ctx_train)
      SGL_THROW(Status::kUnsupported,
                "{}: sliding_window {} is smaller than max_position_embeddings {}; sliding-window attention is not "
                "supported",
                path, w, c.n_ctx_train);
  }
  read_rope_scaling(r, c);
  if (c.arch == "deepseek2") read_deepseek(r, c);
  else if (hf_arch.find("Moe") != std::string::npos || hf_arch == "MixtralForCausalLM") read_moe(r, hf_arch, c);
  // AWQ / GPTQ: checked here so an unsupported variant fails before any tensor is read; the
  // tensor loader reads it again to repack the layers.
  (void)hf::read_quant_config(j, path);
  c.validate();
  return c;
}

}  // namespace sgl
