// ModelConfig and tensors from a GGUF file, and the load_model entry point.
#include <filesystem>

#include "core/model/model_loader.hpp"
#include "core/model/weight_quantizer.hpp"
#include "core/support/check.hpp"

namespace sgl {
namespace {

int64_t get_int(const gguf::GgufFile& f, const std::string& key, std::optional<int64_t> fallback) {
  const gguf::Value* v = f.find(key);
  if (!v) {
    if (fallback) return *fallback;
    SGL_THROW(Status::kParseError, "GGUF '{}': required key '{}' is missing", f.path(), key);
  }
  auto u = v->as_uint();
  if (!u || *u > static_cast<uint64_t>(INT32_MAX))
    SGL_THROW(Status::kParseError, "GGUF '{}': key '{}' must be a non-negative integer below 2^31 (found type {})",
              f.path(), key, gguf::value_type_name(v->type));
  return static_cast<int64_t>(*u);
}

float get_float(const gguf::GgufFile& f, const std::string& key, float fallback) {
  const gguf::Value* v = f.find(key);
  if (!v) return fallback;
  auto d = v->as_float();
  if (!d) SGL_THROW(Status::kParseError, "GGUF '{}': key '{}' must be a number", f.path(), key);
  return static_cast<float>(*d);
}

bool get_bool(const gguf::GgufFile& f, const std::string& key, bool fallback) {
  const gguf::Value* v = f.find(key);
  if (!v) return fallback;
  if (auto b = v->as_bool()) return *b;
  SGL_THROW(Status::kParseError, "GGUF '{}': key '{}' must be a boolean", f.path(), key);
}

// MoE keys as llama.cpp reads them. Mixtral is arch `llama` with `llama.expert_count`; its experts
// are feed_forward_length wide. qwen2moe/qwen3moe default the expert width to n_ff / used.
void moe_from_gguf(const gguf::GgufFile& f, ModelConfig& c) {
  const std::string a = c.arch + ".";
  MoeConfig& m = c.moe;
  m.n_expert = get_int(f, a + "expert_count", 0);
  if (m.n_expert == 0) return;
  m.n_expert_used = get_int(f, a + "expert_used_count", std::nullopt);
  if (m.n_expert_used <= 0 || m.n_expert_used > m.n_expert)
    SGL_THROW(Status::kParseError, "GGUF '{}': '{}expert_used_count' is {}, expected 1..{} ('{}expert_count')",
              f.path(), a, m.n_expert_used, m.n_expert, a);
  if (c.arch == "llama") {
    m.n_ff_exp = c.n_ff;
    m.norm_weights = true;
  } else if (c.arch == "deepseek2") {
    // llama.cpp requires both keys for deepseek2; the shared experts are n_shared fused experts.
    m.n_ff_exp = get_int(f, a + "expert_feed_forward_length", std::nullopt);
    m.n_shared = get_int(f, a + "expert_shared_count", std::nullopt);
    m.n_ff_shexp = m.n_shared * m.n_ff_exp;
    m.norm_weights = get_bool(f, a + "expert_weights_norm", false);
    m.n_leading_dense = get_int(f, a + "leading_dense_block_count", 0);
    if (m.n_leading_dense > c.n_layer)
      SGL_THROW(Status::kParseError, "GGUF '{}': '{}leading_dense_block_count' {} exceeds the {} layers", f.path(), a,
                m.n_leading_dense, c.n_layer);
    const std::string probe = fmt::format("blk.{}.exp_probs_b.bias", m.n_leading_dense);
    m.probs_bias = f.find_tensor(probe) != nullptr;
  } else {
    m.n_ff_exp = get_int(f, a + "expert_feed_forward_length", c.n_ff / m.n_expert_used);
    m.norm_weights = c.arch == "qwen3moe";  // llama.cpp hard-codes it per architecture
  }
  if (c.arch == "qwen2moe") {
    m.n_ff_shexp = get_int(f, a + "expert_shared_feed_forward_length", c.n_ff);
    m.shared_gate = true;
  }
  m.weights_scale = get_float(f, a + "expert_weights_scale", 0.0f);
  const int64_t gating = get_int(f, a + "expert_gating_func", 1);
  if (gating != 1 && gating != 2)
    SGL_THROW(Status::kUnsupported, "GGUF '{}': '{}expert_gating_func' {} is not supported (1 softmax, 2 sigmoid)",
              f.path(), a, gating);
  m.gating = static_cast<kernels::MoeGating>(gating);
  m.n_group = get_int(f, a + "expert_group_count", 0);
  m.n_group_used = get_int(f, a + "expert_group_used_count", 0);
}

// deepseek2 attention. Files with key_length_mla / value_length_mla hold the MLA layout
// (key_length = kv_lora + rope, one KV head, attn_k_b / attn_v_b); older ones hold key_length =
// nope + rope, value_length = v, n_head KV heads and a combined attn_kv_b. Both load to the
// same MlaConfig; the cache row is always the compressed one.
void mla_from_gguf(const gguf::GgufFile& f, ModelConfig& c) {
  const std::string a = c.arch + ".";
  MlaConfig& m = c.mla;
  m.kv_lora_rank = get_int(f, a + "attention.kv_lora_rank", std::nullopt);
  m.q_lora_rank = get_int(f, a + "attention.q_lora_rank", 0);
  m.qk_rope = c.n_rot;
  const int64_t key_length = get_int(f, a + "attention.key_length", std::nullopt);
  const int64_t value_length = get_int(f, a + "attention.value_length", std::nullopt);
  const gguf::Value* kmla = f.find(a + "attention.key_length_mla");
  const gguf::Value* vmla = f.find(a + "attention.value_length_mla");
  if ((kmla == nullptr) != (vmla == nullptr))
    SGL_THROW(Status::kParseError, "GGUF '{}': '{}attention.key_length_mla' and 'value_length_mla' must come together",
              f.path(), a);
  if (kmla) {
    const int64_t k = get_int(f, a + "attention.key_length_mla", std::nullopt);
    m.v_head_dim = get_int(f, a + "attention.value_length_mla", std::nullopt);
    if (key_length != m.kv_lora_rank + m.qk_rope || value_length != m.kv_lora_rank || c.n_head_kv != 1)
      SGL_THROW(Status::kParseError,
                "GGUF '{}': MLA layout needs '{}attention.key_length' = kv_lora_rank + rope = {} (got {}), "
                "'value_length' = kv_lora_rank = {} (got {}) and head_count_kv 1 (got {})",
                f.path(), a, m.kv_lora_rank + m.qk_rope, key_length, m.kv_lora_rank, value_length, c.n_head_kv);
    m.qk_nope = k - m.qk_rope;
  } else {
    if (c.n_head_kv != c.n_head)
      SGL_THROW(Status::kParseError, "GGUF '{}': legacy deepseek2 layout (no key_length_mla) needs head_count_kv = "
                "head_count ({}), got {}", f.path(), c.n_head, c.n_head_kv);
    m.qk_nope = key_length - m.qk_rope;
    m.v_head_dim = value_length;
    m.legacy_kv_b = true;
  }
  if (m.qk_nope <= 0)
    SGL_THROW(Status::kParseError, "GGUF '{}': MLA key length {} must be larger than rope.dimension_count {}", f.path(),
              m.qk_nope + m.qk_rope, m.qk_rope);
  c.head_dim = m.kv_lora_rank + m.qk_rope;
  c.n_head_kv = 1;
}

}  // namespace

ModelConfig config_from_gguf(const gguf::GgufFile& f) {
  ModelConfig c;
  auto arch = f.get_string("general.architecture");
  if (!arch) SGL_THROW(Status::kParseError, "GGUF '{}': key 'general.architecture' is missing", f.path());
  c.arch = *arch;
  if (!is_supported_arch(c.arch))
    SGL_THROW(Status::kUnsupported, "GGUF '{}': architecture '{}' is not supported (supported: llama, qwen2, qwen3, qwen2moe, qwen3moe, deepseek2)",
              f.path(), c.arch);
  c.name = f.get_string("general.name").value_or("");
  const std::string a = c.arch + ".";
  c.n_embd = get_int(f, a + "embedding_length", std::nullopt);
  c.n_layer = get_int(f, a + "block_count", std::nullopt);
  c.n_ff = get_int(f, a + "feed_forward_length", std::nullopt);
  c.n_head = get_int(f, a + "attention.head_count", std::nullopt);
  c.n_head_kv = get_int(f, a + "attention.head_count_kv", c.n_head);
  c.n_ctx_train = get_int(f, a + "context_length", 2048);
  if (c.n_head <= 0) SGL_THROW(Status::kParseError, "GGUF '{}': head count must be positive", f.path());
  c.head_dim = get_int(f, a + "attention.key_length", c.n_embd / c.n_head);
  c.n_rot = get_int(f, a + "rope.dimension_count", c.head_dim);
  c.rope_theta = get_float(f, a + "rope.freq_base", 10000.0f);
  c.rms_eps = get_float(f, a + "attention.layer_norm_rms_epsilon", 1e-5f);
  // llama.cpp: NORM (adjacent pairs) for llama and deepseek2, NEOX for the qwen family.
  c.rope_style = c.arch == "llama" || c.arch == "deepseek2" ? kernels::RopeStyle::kNorm : kernels::RopeStyle::kNeox;

  std::string scaling = f.get_string(a + "rope.scaling.type").value_or("none");
  float factor = get_float(f, a + "rope.scaling.factor", 0.0f);
  if (float lin = get_float(f, a + "rope.scale_linear", 0.0f); lin > 0 && factor == 0) {
    scaling = "linear";
    factor = lin;
  }
  if (scaling == "linear" && factor > 0 && factor != 1.0f) {
    c.rope_scaling.type = RopeScalingType::kLinear;
    c.rope_scaling.factor = factor;
  } else if (scaling == "yarn" && factor > 0) {
    RopeScaling& r = c.rope_scaling;
    r.type = RopeScalingType::kYarn;
    r.factor = factor;
    r.original_context = get_int(f, a + "rope.scaling.original_context_length", c.n_ctx_train);
    // The converter writes 0.1 * mscale_all_dim; llama.cpp divides it back out.
    r.yarn_log_mul = get_float(f, a + "rope.scaling.yarn_log_multiplier", 0.0f) / 0.1f;
    r.attn_factor = get_float(f, a + "rope.scaling.attn_factor", 1.0f);
    if (r.original_context <= 0)
      SGL_THROW(Status::kParseError, "GGUF '{}': '{}rope.scaling.original_context_length' must be positive", f.path(), a);
  } else if (scaling != "none" && scaling != "linear" && scaling != "yarn") {
    SGL_THROW(Status::kUnsupported, "GGUF '{}': rope scaling type '{}' is not supported (none, linear, yarn; llama3 "
              "via rope_freqs)", f.path(), scaling);
  }

  const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  if (!embd || embd->dims.size() != 2) SGL_THROW(Status::kParseError, "GGUF '{}': tensor 'token_embd.weight' is missing or not 2-D", f.path());
  c.n_vocab = embd->dims[1];
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = f.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  if (c.arch == "deepseek2") mla_from_gguf(f, c);
  moe_from_gguf(f, c);
  c.validate();
  return c;
}

std::shared_ptr<TensorStore> tensors_from_gguf(std::shared_ptr<const gguf::GgufFile> f) {
  auto store = std::make_shared<TensorStore>();
  for (const gguf::TensorInfo& t : f->tensors())
    store->add(TensorRef{t.name, t.dtype, t.dims, t.data, static_cast<size_t>(t.nbytes)});
  store->keep_alive(f);
  return store;
}

LoadedModel load_model(const std::string& path) { return load_model(path, LoadOptions{}); }

LoadedModel load_model(const std::string& path, const LoadOptions& opts) {
  // Parse first, so a bad name fails before a large model is mapped.
  const std::optional<kernels::DType> quant = parse_quantization(opts.quantization);
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) SGL_THROW(Status::kNotFound, "model path '{}' does not exist", path);
  LoadedModel m;
  if (fs::is_directory(path, ec)) {
    m.config = config_from_hf_dir(path);
    m.tensors = tensors_from_hf_dir(path, m.config);
    m.hf_dir = path;
  } else {
    auto f = std::make_shared<const gguf::GgufFile>(gguf::GgufFile::open(path));
    m.config = config_from_gguf(*f);
    m.tensors = tensors_from_gguf(f);
    m.gguf = std::move(f);
  }
  if (quant) m.tensors = quantize_store(std::move(m.tensors), *quant, opts.threads);
  return m;
}

}  // namespace sgl
