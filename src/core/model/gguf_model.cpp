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

[[maybe_unused]] bool get_bool(const gguf::GgufFile& f, const std::string& key, bool fallback) {
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

}  // namespace

ModelConfig config_from_gguf(const gguf::GgufFile& f) {
  ModelConfig c;
  auto arch = f.get_string("general.architecture");
  if (!arch) SGL_THROW(Status::kParseError, "GGUF '{}': key 'general.architecture' is missing", f.path());
  c.arch = *arch;
  if (!is_supported_arch(c.arch))
    SGL_THROW(Status::kUnsupported, "GGUF '{}': architecture '{}' is not supported (supported: llama, qwen2, qwen3, qwen2moe, qwen3moe)",
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
  c.rope_style = c.arch == "llama" ? kernels::RopeStyle::kNorm : kernels::RopeStyle::kNeox;

  std::string scaling = f.get_string(a + "rope.scaling.type").value_or("none");
  float factor = get_float(f, a + "rope.scaling.factor", 0.0f);
  if (float lin = get_float(f, a + "rope.scale_linear", 0.0f); lin > 0 && factor == 0) {
    scaling = "linear";
    factor = lin;
  }
  if (scaling == "linear" && factor > 0 && factor != 1.0f) {
    c.rope_scaling.type = RopeScalingType::kLinear;
    c.rope_scaling.factor = factor;
  } else if (scaling != "none" && scaling != "linear") {
    SGL_THROW(Status::kUnsupported, "GGUF '{}': rope scaling type '{}' is not supported (none, linear; llama3 via "
              "rope_freqs)", f.path(), scaling);
  }

  const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  if (!embd || embd->dims.size() != 2) SGL_THROW(Status::kParseError, "GGUF '{}': tensor 'token_embd.weight' is missing or not 2-D", f.path());
  c.n_vocab = embd->dims[1];
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = f.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
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
