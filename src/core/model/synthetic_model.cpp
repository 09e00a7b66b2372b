#include "core/model/synthetic_model.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/model/gguf_writer.hpp"
#include "core/model/hf_names.hpp"
#include "core/model/safetensors.hpp"
#include "core/model/synthetic_tokenizer.hpp"
#include "core/model/tensor_layout.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"
#include "kernels/half.hpp"
#include "kernels/quant.hpp"

namespace sgl {
namespace {

using kernels::DType;

// splitmix64 + Box-Muller: the same numbers on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  float normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double r = std::sqrt(-2.0 * std::log(uniform())), th = 2.0 * M_PI * uniform();
    spare_ = static_cast<float>(r * std::sin(th));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(th));
  }

 private:
  uint64_t s_;
  bool has_spare_ = false;
  float spare_ = 0;
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// 1-D values rounded so F32, F16 and BF16 all hold them exactly: the HF file may store norms
// in a half type while GGUF keeps F32, and both must load to the same numbers.
float exact_in_halves(float v) {
  v = kernels::bf16_to_f32(kernels::f32_to_bf16(v));
  return std::fabs(v) < 1.0f / 16384 ? 0.0f : v;
}

bool is_quantized(DType t) { return kernels::dtype_info(t).block_elems > 1; }

bool is_writable(DType t) {
  switch (t) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0: case DType::Q4_1:
    case DType::Q5_0: case DType::Q5_1: case DType::Q2_K: case DType::Q3_K: case DType::Q4_K:
    case DType::Q5_K: case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

// Type of one matrix with rows of `cols` values: K-quants need whole 256-value super-blocks;
// like llama.cpp, a matrix whose rows are not falls back to Q8_0 (32-value blocks).
DType matrix_type(DType want, int64_t cols, const std::string& name, bool log) {
  if (kernels::dtype_info(want).block_elems == 256 && cols % 256 != 0) {
    if (log)
      SGL_LOG_INFO("synthetic model: {} has rows of {} values, not a multiple of 256; writing it as Q8_0 instead of {}",
                   name, cols, kernels::dtype_name(want));
    return DType::Q8_0;
  }
  return want;
}

// Values of one tensor in GGUF layout (dims[0] innermost). Scales are chosen so activations
// stay O(1) through the layers and the logits have a standard deviation of about 1.5.
std::vector<float> tensor_values(const SyntheticSpec& s, const ModelConfig& c, const TensorSpec& t) {
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  if (t.name == "rope_freqs.weight") return llama3_rope_factors(c);
  Rng rng(s.seed * 0x2545f4914f6cdd1dull ^ fnv1a(t.name));
  const std::string& nm = t.name;
  auto ends = [&](const char* suffix) {
    size_t k = std::strlen(suffix);
    return nm.size() >= k && nm.compare(nm.size() - k, k, suffix) == 0;
  };
  if (ends("ffn_gate_inp_shexp.weight")) {  // a gate vector: a spread sigmoid argument, not a norm
    for (float& x : v) x = exact_in_halves(static_cast<float>(rng.normal() / std::sqrt(static_cast<double>(n))));
    return v;
  }
  if (!t.is_matrix) {
    bool bias = ends(".bias");
    for (float& x : v) x = exact_in_halves(bias ? 0.1f * rng.normal() : 1.0f + 0.1f * rng.normal());
    return v;
  }
  const double fan_in = static_cast<double>(t.dims[0]);
  const double residual = 1.0 / std::sqrt(2.0 * static_cast<double>(c.n_layer));  // per-layer update size
  double sigma;
  if (nm == "output.weight" || (nm == "token_embd.weight" && c.tied_embeddings))
    sigma = 1.5 / std::sqrt(fan_in);
  else if (nm == "token_embd.weight")
    sigma = 1.0;
  else if (ends("attn_output.weight"))
    sigma = residual / std::sqrt(fan_in);
  else if (ends("ffn_down.weight") || ends("ffn_down_exps.weight") || ends("ffn_down_shexp.weight"))
    sigma = 1.5 * residual / std::sqrt(fan_in);
  else
    sigma = 1.0 / std::sqrt(fan_in);
  for (float& x : v) x = static_cast<float>(sigma * rng.normal());
  return v;
}

// Row-by-row conversion of a [rows, cols] matrix (cols innermost) to `t`.
std::vector<uint8_t> encode(const std::vector<float>& v, int64_t cols, DType t) {
  const int64_t rows = static_cast<int64_t>(v.size()) / cols;
  const size_t rb = kernels::row_bytes(t, cols);
  std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) kernels::quantize_row(t, v.data() + r * cols, out.data() + r * rb, cols);
  return out;
}

std::vector<float> decode(const std::vector<uint8_t>& bytes, int64_t n, int64_t cols, DType t) {
  std::vector<float> out(static_cast<size_t>(n));
  const size_t rb = kernels::row_bytes(t, cols);
  for (int64_t r = 0; r < n / cols; ++r) kernels::dequantize_row(t, bytes.data() + r * rb, out.data() + r * cols, cols);
  return out;
}

int32_t gguf_file_type(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 11;   // MOSTLY_Q3_K_S: every matrix in the one type
    case DType::Q4_K: return 14;   // MOSTLY_Q4_K_S
    case DType::Q5_K: return 16;   // MOSTLY_Q5_K_S
    case DType::Q6_K: return 18;
    case DType::BF16: return 32;
    default: return 0;
  }
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) SGL_THROW(Status::kIoError, "cannot write '{}'", p.string());
}

// deepseek2 metadata as llama.cpp's converter writes it (replacing the generic head keys).
void write_deepseek2_keys(gguf::GgufWriter& w, const SyntheticSpec& s, const ModelConfig& c) {
  using gguf::Value;
  auto u32 = [](int64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  const std::string a = "deepseek2.";
  const MlaConfig& m = c.mla;
  if (m.legacy_kv_b) {
    w.set(a + "attention.head_count_kv", u32(c.n_head));
    w.set(a + "attention.key_length", u32(m.qk_nope + m.qk_rope));
    w.set(a + "attention.value_length", u32(m.v_head_dim));
  } else {
    w.set(a + "attention.head_count_kv", u32(1));
    w.set(a + "attention.key_length", u32(m.kv_lora_rank + m.qk_rope));
    w.set(a + "attention.value_length", u32(m.kv_lora_rank));
    w.set(a + "attention.key_length_mla", u32(m.qk_nope + m.qk_rope));
    w.set(a + "attention.value_length_mla", u32(m.v_head_dim));
  }
  w.set(a + "attention.q_lora_rank", u32(m.q_lora_rank));
  w.set(a + "attention.kv_lora_rank", u32(m.kv_lora_rank));
  w.set(a + "leading_dense_block_count", u32(c.moe.n_leading_dense));
  w.set(a + "expert_shared_count", u32(c.moe.n_shared));
  w.set(a + "expert_weights_scale", Value::f32(c.moe.weights_scale));
  w.set(a + "expert_weights_norm", Value::boolean(c.moe.norm_weights));
  w.set(a + "expert_gating_func", u32(static_cast<int>(c.moe.gating)));
  if (c.moe.n_group > 1) {
    w.set(a + "expert_group_count", u32(c.moe.n_group));
    w.set(a + "expert_group_used_count", u32(c.moe.n_group_used));
  }
  if (s.yarn_factor > 0) {
    w.set(a + "rope.scaling.type", Value::string("yarn"));
    w.set(a + "rope.scaling.factor", Value::f32(s.yarn_factor));
    w.set(a + "rope.scaling.original_context_length", u32(s.yarn_original_context));
    w.set(a + "rope.scaling.yarn_log_multiplier", Value::f32(0.1f * s.yarn_mscale_all_dim));
  }
}

}  // namespace

SyntheticSpec synthetic_preset(const std::string& preset, const std::string& arch_in) {
  SyntheticSpec s;
  // Mixtral is a llama GGUF with experts; every other name is the GGUF architecture.
  const bool mixtral = arch_in == "mixtral";
  const std::string arch = mixtral ? "llama" : arch_in;
  s.arch = arch;
  if (preset == "tiny") {
    // defaults
  } else if (preset == "110m") {
    s.n_vocab = 32000, s.n_embd = 768, s.n_layer = 12, s.n_head = 12, s.n_head_kv = 12, s.n_ff = 2048;
  } else if (preset == "1b") {
    s.n_vocab = 32000, s.n_embd = 2048, s.n_layer = 16, s.n_head = 32, s.n_head_kv = 8, s.n_ff = 5632;
  } else if (preset == "small" && (arch == "deepseek2" || arch == "qwen3moe")) {
    s.n_vocab = 32000, s.n_embd = 1024, s.n_ctx = 4096;
  } else {
    SGL_THROW(Status::kInvalidArgument,
              "unknown synthetic model preset '{}' (tiny, 110m, 1b; small for deepseek2 and qwen3moe)", preset);
  }
  if (preset == "small" && arch == "deepseek2") {
    // DeepSeek-V3's shape scaled down: MLA, 64 routed experts (6 used) in 8 groups (4 kept),
    // 2 shared, one leading dense layer, sigmoid + bias routing x2.5, YaRN. About 0.45B total.
    s.n_layer = 8, s.n_head = 16, s.n_head_kv = 1, s.n_ff = 2816;
    s.q_lora_rank = 384, s.kv_lora_rank = 256, s.qk_nope = 64, s.qk_rope = 32, s.v_head_dim = 64;
    s.n_expert = 64, s.n_expert_used = 6, s.n_ff_exp = 256, s.n_shared = 2, s.n_leading_dense = 1;
    s.n_group = 8, s.n_group_used = 4;
    s.sigmoid_gating = true, s.probs_bias = true, s.norm_weights = true, s.weights_scale = 2.5f;
    s.yarn_factor = 4.0f, s.yarn_original_context = 1024;
    s.name = "sgl-synthetic-deepseek2-small";
    validate_synthetic_spec(s);
    return s;
  }
  if (preset == "small" && arch == "qwen3moe") {
    // Qwen3-30B-A3B's shape scaled to about 1B total: 64 experts of 384, 8 used, GQA 16/4,
    // head_dim 64, every layer MoE.
    s.n_layer = 12, s.n_head = 16, s.n_head_kv = 4, s.head_dim = 64, s.n_ff = 3072;
    s.n_expert = 64, s.n_expert_used = 8, s.n_ff_exp = 384;
    s.rope_theta = 1000000.0f, s.rms_eps = 1e-6f;
    s.name = "sgl-synthetic-qwen3moe-small";
    validate_synthetic_spec(s);
    return s;
  }
  if (arch == "deepseek2") {
    // DeepSeek-V3-like routing and attention, scaled down.
    s.n_layer = preset == "tiny" ? 3 : s.n_layer;
    s.n_head_kv = 1;
    s.n_expert = 8, s.n_expert_used = 2, s.n_ff_exp = preset == "tiny" ? 32 : s.n_ff / 4;
    s.n_shared = 1, s.n_leading_dense = 1, s.n_group = 4, s.n_group_used = 2;
    s.sigmoid_gating = true, s.probs_bias = true, s.norm_weights = true, s.weights_scale = 2.5f;
    s.q_lora_rank = preset == "tiny" ? 32 : s.n_embd / 2;
    s.kv_lora_rank = preset == "tiny" ? 48 : 4 * (s.n_embd / s.n_head);
    s.qk_nope = s.qk_rope = s.v_head_dim = preset == "tiny" ? 16 : s.n_embd / s.n_head;
    s.yarn_factor = 4.0f;
    s.yarn_original_context = s.n_ctx / 4;
  }
  if (mixtral || arch == "qwen2moe" || arch == "qwen3moe") {
    s.n_expert = 8;
    s.n_expert_used = 2;
    s.n_ff_exp = mixtral ? s.n_ff : (preset == "tiny" ? 32 : s.n_ff / 4);
    if (arch == "qwen2moe") s.n_ff_shexp = 2 * s.n_ff_exp;
  }
  s.name = "sgl-synthetic-" + arch_in + "-" + preset;
  validate_synthetic_spec(s);
  return s;
}

void validate_synthetic_spec(const SyntheticSpec& s) {
  auto bad = [](const std::string& what) { SGL_THROW(Status::kInvalidArgument, "synthetic model: {}", what); };
  if (!is_supported_arch(s.arch))
    bad(fmt::format("architecture '{}' is not one of llama, mixtral, qwen2, qwen3, qwen2moe, qwen3moe, deepseek2", s.arch));
  const bool deepseek = s.arch == "deepseek2";
  const bool moe_arch = s.arch == "qwen2moe" || s.arch == "qwen3moe" || deepseek;
  if (moe_arch && s.n_expert <= 0) bad(fmt::format("architecture {} needs experts (n_expert > 0)", s.arch));
  if (deepseek) {
    if (s.kv_lora_rank <= 0 || s.qk_nope <= 0 || s.qk_rope <= 0 || s.qk_rope % 2 != 0 || s.v_head_dim <= 0 ||
        s.q_lora_rank < 0)
      bad("deepseek2 needs kv_lora_rank, qk_nope, v_head_dim > 0, an even qk_rope > 0 and q_lora_rank >= 0");
    if (s.n_leading_dense < 0 || s.n_leading_dense >= s.n_layer)
      bad(fmt::format("leading dense layers {} must be in 0..{}", s.n_leading_dense, s.n_layer - 1));
    if (s.n_shared < 0 || s.n_ff_shexp != 0) bad("deepseek2 shared experts are n_shared x n_ff_exp (n_ff_shexp 0)");
    if (s.yarn_factor < 0 || (s.yarn_factor > 0 && s.yarn_original_context <= 0))
      bad("YaRN needs factor > 0 and a positive original context");
  } else if (s.kv_lora_rank || s.legacy_kv_b || s.n_shared || s.n_leading_dense || s.yarn_factor > 0) {
    bad("MLA, shared-expert count, leading dense layers and YaRN are deepseek2 settings");
  }
  if (s.n_expert > 0) {
    if (s.arch != "llama" && !moe_arch) bad(fmt::format("architecture {} has no MoE variant", s.arch));
    if (s.n_expert > 256 || s.n_expert_used <= 0 || s.n_expert_used > s.n_expert)
      bad(fmt::format("{} experts used of {} (need 0 < used <= experts <= 256)", s.n_expert_used, s.n_expert));
    if (s.arch == "llama" && s.n_ff_exp != s.n_ff)
      bad(fmt::format("Mixtral experts are feed_forward_length wide ({}), not {}", s.n_ff, s.n_ff_exp));
    if (s.n_ff_exp <= 0 || s.n_ff_exp > 262144) bad(fmt::format("expert ff length {} must be in 1..262144", s.n_ff_exp));
    if (!deepseek && (s.arch == "qwen2moe") != (s.n_ff_shexp > 0))
      bad("a shared expert (n_ff_shexp > 0) is written for qwen2moe and only there");
  } else if (s.fused_gate_up) {
    bad("fused_gate_up needs experts");
  }
  if (s.n_vocab < synthetic_vocab_min() || s.n_vocab > 1'000'000)
    bad(fmt::format("vocabulary size {} must be in {}..1000000 (the embedded tokenizer needs that many)", s.n_vocab,
                    synthetic_vocab_min()));
  if (s.n_embd <= 0 || s.n_embd > 65536) bad(fmt::format("embedding length {} must be in 1..65536", s.n_embd));
  if (s.n_ff <= 0 || s.n_ff > 262144) bad(fmt::format("feed-forward length {} must be in 1..262144", s.n_ff));
  if (s.n_layer <= 0 || s.n_layer > 256) bad(fmt::format("layer count {} must be in 1..256", s.n_layer));
  if (s.n_head <= 0 || s.n_head_kv <= 0 || s.n_head % s.n_head_kv != 0)
    bad(fmt::format("head counts {}/{} must be positive and the KV count must divide the head count", s.n_head,
                    s.n_head_kv));
  if (s.head_dim == 0 && s.n_embd % s.n_head != 0)
    bad(fmt::format("embedding length {} is not divisible by {} heads (set head_dim)", s.n_embd, s.n_head));
  const int64_t hd = s.head_dim ? s.head_dim : s.n_embd / s.n_head;
  if (hd <= 0 || hd % 2 != 0 || hd > 1024) bad(fmt::format("head_dim {} must be even, 2..1024", hd));
  if (s.n_ctx <= 0) bad(fmt::format("context length {} must be positive", s.n_ctx));
  const auto& info = kernels::dtype_info(s.weight_type);
  if (!is_writable(s.weight_type))
    bad(fmt::format("weight type {} is not one of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K", info.name));
  // K-quant matrices with other row lengths fall back to Q8_0 (matrix_type), which needs 32.
  const int64_t need = std::min<int64_t>(info.block_elems, 32);
  for (int64_t row : {s.n_embd, s.n_ff, s.n_head * hd, s.n_expert > 0 ? s.n_ff_exp : s.n_ff,
                      s.n_ff_shexp > 0 ? s.n_ff_shexp : s.n_ff, deepseek ? s.kv_lora_rank : s.n_ff,
                      deepseek ? s.qk_nope : s.n_ff, deepseek && s.q_lora_rank ? s.q_lora_rank : s.n_ff,
                      deepseek ? s.n_head * s.v_head_dim : s.n_ff})
    if (row % need != 0)
      bad(fmt::format("{} weights need row lengths divisible by {}, but one is {}", info.name, need, row));
  if (s.llama3_rope && (s.arch != "llama" || !(s.llama3_factor > 0) ||
                        !(s.llama3_high_freq_factor > s.llama3_low_freq_factor) || s.llama3_low_freq_factor <= 0 ||
                        s.llama3_original_context <= 0))
    bad("llama3 rope scaling needs arch llama, factor > 0 and 0 < low_freq_factor < high_freq_factor");
}

ModelConfig synthetic_config(const SyntheticSpec& s) {
  validate_synthetic_spec(s);
  ModelConfig c;
  c.arch = s.arch;
  c.name = s.name;
  c.n_vocab = s.n_vocab;
  c.n_embd = s.n_embd;
  c.n_layer = s.n_layer;
  c.n_head = s.n_head;
  c.n_head_kv = s.n_head_kv;
  c.head_dim = s.head_dim ? s.head_dim : s.n_embd / s.n_head;
  c.n_rot = c.head_dim;
  c.n_ff = s.n_ff;
  c.n_ctx_train = s.n_ctx;
  c.rope_theta = s.rope_theta;
  c.rope_style = s.arch == "llama" || s.arch == "deepseek2" ? kernels::RopeStyle::kNorm : kernels::RopeStyle::kNeox;
  c.rms_eps = s.rms_eps;
  c.tied_embeddings = s.tied_embeddings;
  c.qkv_bias = s.arch == "qwen2" || s.arch == "qwen2moe";
  c.qk_norm = s.arch == "qwen3" || s.arch == "qwen3moe";
  if (s.n_expert > 0) {
    c.moe.n_expert = s.n_expert;
    c.moe.n_expert_used = s.n_expert_used;
    c.moe.n_ff_exp = s.n_ff_exp;
    c.moe.n_ff_shexp = s.n_ff_shexp;
    c.moe.shared_gate = s.arch == "qwen2moe";
    c.moe.norm_weights = s.arch != "qwen2moe";  // llama.cpp: Mixtral and qwen3moe renormalise, qwen2moe not
  }
  if (s.arch == "deepseek2") {
    c.head_dim = s.kv_lora_rank + s.qk_rope;
    c.n_head_kv = 1;
    c.n_rot = s.qk_rope;
    c.mla = MlaConfig{s.q_lora_rank, s.kv_lora_rank, s.qk_nope, s.qk_rope, s.v_head_dim, s.legacy_kv_b};
    c.moe.n_shared = s.n_shared;
    c.moe.n_ff_shexp = s.n_shared * s.n_ff_exp;
    c.moe.n_leading_dense = s.n_leading_dense;
    c.moe.n_group = s.n_group;
    c.moe.n_group_used = s.n_group_used;
    c.moe.gating = s.sigmoid_gating ? kernels::MoeGating::kSigmoid : kernels::MoeGating::kSoftmax;
    c.moe.probs_bias = s.probs_bias;
    c.moe.norm_weights = s.norm_weights;
    c.moe.weights_scale = s.weights_scale;
    if (s.yarn_factor > 0) {
      c.rope_scaling.type = RopeScalingType::kYarn;
      c.rope_scaling.factor = s.yarn_factor;
      c.rope_scaling.original_context = s.yarn_original_context;
      // What the loader gets back from the GGUF's 0.1 * mscale_all_dim.
      c.rope_scaling.yarn_log_mul = (0.1f * s.yarn_mscale_all_dim) / 0.1f;
    }
  }
  if (s.llama3_rope) {
    c.rope_scaling.type = RopeScalingType::kLlama3;
    c.rope_scaling.factor = s.llama3_factor;
    c.rope_scaling.low_freq_factor = s.llama3_low_freq_factor;
    c.rope_scaling.high_freq_factor = s.llama3_high_freq_factor;
    c.rope_scaling.original_context = s.llama3_original_context;
  }
  c.validate();
  return c;
}

void write_synthetic_gguf(const SyntheticSpec& s, const std::string& path) {
  const ModelConfig c = synthetic_config(s);
  const SpmVocab vocab = build_synthetic_vocab(s.n_vocab);
  gguf::GgufWriter w;
  using gguf::Value;
  const std::string a = s.arch + ".";
  w.set("general.architecture", Value::string(s.arch));
  w.set("general.name", Value::string(s.name));
  w.set("general.file_type", Value::u32(static_cast<uint32_t>(gguf_file_type(s.weight_type))));
  if (is_quantized(s.weight_type)) w.set("general.quantization_version", Value::u32(2));
  w.set(a + "context_length", Value::u32(static_cast<uint32_t>(c.n_ctx_train)));
  w.set(a + "embedding_length", Value::u32(static_cast<uint32_t>(c.n_embd)));
  w.set(a + "block_count", Value::u32(static_cast<uint32_t>(c.n_layer)));
  w.set(a + "feed_forward_length", Value::u32(static_cast<uint32_t>(c.n_ff)));
  w.set(a + "attention.head_count", Value::u32(static_cast<uint32_t>(c.n_head)));
  w.set(a + "attention.head_count_kv", Value::u32(static_cast<uint32_t>(c.n_head_kv)));
  w.set(a + "attention.key_length", Value::u32(static_cast<uint32_t>(c.head_dim)));
  w.set(a + "attention.value_length", Value::u32(static_cast<uint32_t>(c.head_dim)));
  w.set(a + "rope.dimension_count", Value::u32(static_cast<uint32_t>(c.n_rot)));
  w.set(a + "rope.freq_base", Value::f32(c.rope_theta));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::f32(c.rms_eps));
  w.set(a + "vocab_size", Value::u32(static_cast<uint32_t>(c.n_vocab)));
  if (c.moe.n_expert > 0) {
    w.set(a + "expert_count", Value::u32(static_cast<uint32_t>(c.moe.n_expert)));
    w.set(a + "expert_used_count", Value::u32(static_cast<uint32_t>(c.moe.n_expert_used)));
    if (s.arch != "llama") w.set(a + "expert_feed_forward_length", Value::u32(static_cast<uint32_t>(c.moe.n_ff_exp)));
    if (c.moe.n_ff_shexp > 0 && s.arch == "qwen2moe")
      w.set(a + "expert_shared_feed_forward_length", Value::u32(static_cast<uint32_t>(c.moe.n_ff_shexp)));
  }
  if (c.is_mla()) write_deepseek2_keys(w, s, c);
  w.set("tokenizer.ggml.model", Value::string("llama"));
  w.set("tokenizer.ggml.tokens", Value::string_array(vocab.pieces));
  w.set("tokenizer.ggml.scores", Value::f32_array(vocab.scores));
  w.set("tokenizer.ggml.token_type", Value::i32_array(vocab.types));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(static_cast<uint32_t>(vocab.bos_id)));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(static_cast<uint32_t>(vocab.eos_id)));
  w.set("tokenizer.ggml.unknown_token_id", Value::u32(static_cast<uint32_t>(vocab.unk_id)));
  w.set("tokenizer.ggml.add_bos_token", Value::boolean(true));
  w.set("tokenizer.ggml.add_eos_token", Value::boolean(false));
  w.set("tokenizer.chat_template", Value::string(synthetic_chat_template()));

  for (const TensorSpec& t : expected_tensors(c)) {
    if (s.fused_gate_up && t.name.ends_with("ffn_up_exps.weight")) continue;  // inside ffn_gate_up_exps
    std::vector<float> v = tensor_values(s, c, t);
    const DType dt = t.is_matrix ? matrix_type(s.weight_type, t.dims[0], t.name, true) : DType::F32;
    if (s.fused_gate_up && t.name.ends_with("ffn_gate_exps.weight")) {
      // Same values as the split form: expert e's slab is its gate rows, then its up rows.
      TensorSpec up = t;
      up.name.replace(up.name.size() - std::strlen("ffn_gate_exps.weight"), 13, "ffn_up_exps");
      const std::vector<float> u = tensor_values(s, c, up);
      const size_t slab = static_cast<size_t>(t.dims[0] * t.dims[1]);
      std::vector<float> fused;
      for (int64_t e = 0; e < t.dims[2]; ++e) {
        fused.insert(fused.end(), v.begin() + e * slab, v.begin() + (e + 1) * slab);
        fused.insert(fused.end(), u.begin() + e * slab, u.begin() + (e + 1) * slab);
      }
      std::string name = t.name;
      name.replace(name.size() - std::strlen("ffn_gate_exps.weight"), 13, "ffn_gate_up_exps");
      w.add_tensor(name, dt, {t.dims[0], 2 * t.dims[1], t.dims[2]}, encode(fused, t.dims[0], dt));
      continue;
    }
    w.add_tensor(t.name, dt, t.dims, encode(v, t.dims[0], dt));
  }
  w.write(path);
}

void write_synthetic_hf(const SyntheticSpec& s, const std::string& dir) {
  DType hf = is_quantized(s.weight_type) ? DType::F32 : s.weight_type;
  write_synthetic_hf(s, dir, hf);
}

void write_synthetic_hf(const SyntheticSpec& s, const std::string& dir, DType hf_dtype) {
  const ModelConfig c = synthetic_config(s);
  // HF DeepSeek checkpoints hold the combined kv_b_proj: the legacy GGUF layout's tensors.
  if (c.is_mla() && !c.mla.legacy_kv_b)
    SGL_THROW(Status::kUnsupported, "synthetic HF model: deepseek2 needs legacy_kv_b (HF stores kv_b_proj whole)");
  const bool mixtral = s.arch == "llama" && c.moe.n_expert > 0;
  const hf::HfFamily family = mixtral ? hf::HfFamily::kMixtral
                              : c.is_mla() ? hf::HfFamily::kDeepseek
                                           : hf::HfFamily::kDefault;
  safetensors::DType st;
  switch (hf_dtype) {
    case DType::F32: st = safetensors::DType::kF32; break;
    case DType::F16: st = safetensors::DType::kF16; break;
    case DType::BF16: st = safetensors::DType::kBF16; break;
    default:
      SGL_THROW(Status::kInvalidArgument, "synthetic HF model: dtype {} is not one of F32, F16, BF16",
                kernels::dtype_name(hf_dtype));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) SGL_THROW(Status::kIoError, "cannot create directory '{}': {}", dir, ec.message());

  std::vector<safetensors::WriteTensor> out;
  for (const TensorSpec& t : expected_tensors(c)) {
    if (t.dims.size() == 3) {
      // Routed experts: HF stores one [rows, cols] Linear per expert, holding the GGUF values.
      std::vector<float> v = tensor_values(s, c, t);
      const DType dt = matrix_type(s.weight_type, t.dims[0], t.name, false);
      v = decode(encode(v, t.dims[0], dt), static_cast<int64_t>(v.size()), t.dims[0], dt);
      const size_t slab = static_cast<size_t>(t.dims[0] * t.dims[1]);
      const std::string base = t.name.substr(0, t.name.size() - std::strlen("weight"));
      for (int64_t e = 0; e < t.dims[2]; ++e) {
        std::optional<std::string> name = hf::hf_name(base + std::to_string(e) + ".weight", family);
        SGL_CHECK(name.has_value(), "no HF name for expert tensor {}", t.name);
        std::vector<float> ev(v.begin() + static_cast<std::ptrdiff_t>(e * slab),
                              v.begin() + static_cast<std::ptrdiff_t>((e + 1) * slab));
        out.push_back({*name, st, {t.dims[1], t.dims[0]}, encode(ev, static_cast<int64_t>(slab), hf_dtype)});
      }
      continue;
    }
    std::optional<std::string> name = hf::hf_name(t.name, family);
    if (!name) continue;  // rope_freqs: HF computes it from config.json's rope_scaling
    std::vector<float> v = tensor_values(s, c, t);
    if (t.is_matrix) {
      // The values the GGUF file holds, so both forms compute the same thing.
      const DType dt = matrix_type(s.weight_type, t.dims[0], t.name, false);
      v = decode(encode(v, t.dims[0], dt), static_cast<int64_t>(v.size()), t.dims[0], dt);
      // llama.cpp's converter permutes HF q/k rows (rotate-half layout) into pairwise order:
      // GGUF row (head h, 2i + half) = HF row (head h, half * head_dim/2 + i). Undo that here.
      const bool is_q = t.name.ends_with("attn_q.weight"), is_k = t.name.ends_with("attn_k.weight");
      if (s.arch == "llama" && (is_q || is_k)) {
        const int64_t cols = t.dims[0], hd = c.head_dim, heads = is_q ? c.n_head : c.n_head_kv;
        std::vector<float> p(v.size());
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t half = 0; half < 2; ++half)
            for (int64_t i = 0; i < hd / 2; ++i)
              std::memcpy(&p[static_cast<size_t>((h * hd + half * hd / 2 + i) * cols)],
                          &v[static_cast<size_t>((h * hd + 2 * i + half) * cols)], static_cast<size_t>(cols) * 4);
        v = std::move(p);
      }
    }
    std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());  // GGUF {in, out} = HF [out, in]
    if (t.name.ends_with("ffn_gate_inp_shexp.weight")) shape = {1, t.dims[0]};  // HF: a Linear(hidden, 1)
    out.push_back({*name, st, shape, encode(v, static_cast<int64_t>(v.size()), hf_dtype)});
  }
  namespace fs = std::filesystem;
  safetensors::write_file((fs::path(dir) / "model.safetensors").string(), safetensors::serialize(out, {{"format", "pt"}}));

  const char* hf_arch = mixtral                 ? "MixtralForCausalLM"
                        : s.arch == "llama"      ? "LlamaForCausalLM"
                        : s.arch == "qwen2"      ? "Qwen2ForCausalLM"
                        : s.arch == "qwen2moe"   ? "Qwen2MoeForCausalLM"
                        : s.arch == "qwen3moe"   ? "Qwen3MoeForCausalLM"
                        : s.arch == "deepseek2"  ? "DeepseekV3ForCausalLM"
                                                 : "Qwen3ForCausalLM";
  const char* model_type = mixtral                 ? "mixtral"
                           : s.arch == "qwen2moe"  ? "qwen2_moe"
                           : s.arch == "qwen3moe"  ? "qwen3_moe"
                           : s.arch == "deepseek2" ? "deepseek_v3"
                                                   : s.arch.c_str();
  nlohmann::ordered_json j;
  j["architectures"] = {hf_arch};
  j["model_type"] = model_type;
  j["_name_or_path"] = s.name;
  j["vocab_size"] = c.n_vocab;
  j["hidden_size"] = c.n_embd;
  j["intermediate_size"] = c.n_ff;
  j["num_hidden_layers"] = c.n_layer;
  j["num_attention_heads"] = c.n_head;
  j["num_key_value_heads"] = c.is_mla() ? c.n_head : c.n_head_kv;  // DeepSeek: MHA before absorption
  if (!c.is_mla()) j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.n_ctx_train;
  j["rope_theta"] = c.rope_theta;
  j["rms_norm_eps"] = c.rms_eps;
  j["tie_word_embeddings"] = c.tied_embeddings;
  j["hidden_act"] = "silu";
  if (mixtral) {
    j["num_local_experts"] = c.moe.n_expert;
    j["num_experts_per_tok"] = c.moe.n_expert_used;
    j["sliding_window"] = nullptr;
  } else if (c.is_mla()) {
    const MlaConfig& m = c.mla;
    j["q_lora_rank"] = m.q_lora_rank > 0 ? nlohmann::ordered_json(m.q_lora_rank) : nlohmann::ordered_json(nullptr);
    j["kv_lora_rank"] = m.kv_lora_rank;
    j["qk_nope_head_dim"] = m.qk_nope;
    j["qk_rope_head_dim"] = m.qk_rope;
    j["v_head_dim"] = m.v_head_dim;
    j["n_routed_experts"] = c.moe.n_expert;
    j["num_experts_per_tok"] = c.moe.n_expert_used;
    j["moe_intermediate_size"] = c.moe.n_ff_exp;
    j["n_shared_experts"] = c.moe.n_shared;
    j["first_k_dense_replace"] = c.moe.n_leading_dense;
    j["moe_layer_freq"] = 1;
    j["n_group"] = c.moe.n_group > 1 ? c.moe.n_group : 1;
    j["topk_group"] = c.moe.n_group > 1 ? c.moe.n_group_used : 1;
    j["topk_method"] = c.moe.probs_bias ? "noaux_tc" : "greedy";
    j["scoring_func"] = c.moe.gating == kernels::MoeGating::kSigmoid ? "sigmoid" : "softmax";
    j["norm_topk_prob"] = c.moe.norm_weights;
    j["routed_scaling_factor"] = c.moe.weights_scale > 0 ? c.moe.weights_scale : 1.0f;
  } else if (c.moe.n_expert > 0) {
    j["num_experts"] = c.moe.n_expert;
    j["num_experts_per_tok"] = c.moe.n_expert_used;
    j["moe_intermediate_size"] = c.moe.n_ff_exp;
    if (c.moe.n_ff_shexp > 0) j["shared_expert_intermediate_size"] = c.moe.n_ff_shexp;
    j["norm_topk_prob"] = c.moe.norm_weights;
    j["decoder_sparse_step"] = 1;
    j["mlp_only_layers"] = nlohmann::ordered_json::array();
  }
  if (s.arch == "llama") j["attention_bias"] = false;
  j["bos_token_id"] = 1;
  j["eos_token_id"] = 2;
  j["torch_dtype"] = hf_dtype == DType::F32 ? "float32" : hf_dtype == DType::F16 ? "float16" : "bfloat16";
  if (s.yarn_factor > 0)
    j["rope_scaling"] = {{"type", "yarn"},
                         {"factor", s.yarn_factor},
                         {"original_max_position_embeddings", s.yarn_original_context},
                         {"beta_fast", 32},
                         {"beta_slow", 1},
                         {"mscale", s.yarn_mscale_all_dim},
                         {"mscale_all_dim", s.yarn_mscale_all_dim}};
  else if (s.llama3_rope)
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", s.llama3_factor},
                         {"low_freq_factor", s.llama3_low_freq_factor},
                         {"high_freq_factor", s.llama3_high_freq_factor},
                         {"original_max_position_embeddings", s.llama3_original_context}};
  else
    j["rope_scaling"] = nullptr;
  write_text(fs::path(dir) / "config.json", j.dump(2) + "\n");
  write_text(fs::path(dir) / "generation_config.json",
             nlohmann::ordered_json{{"bos_token_id", 1}, {"eos_token_id", 2}}.dump(2) + "\n");
  const SpmVocab vocab = build_synthetic_vocab(s.n_vocab);
  write_text(fs::path(dir) / "tokenizer.json", synthetic_tokenizer_json(vocab) + "\n");
  write_text(fs::path(dir) / "tokenizer_config.json", synthetic_tokenizer_config_json(vocab, c.n_ctx_train) + "\n");
}

}  // namespace sgl
