#include "core/model/model_quantizer.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/model/gguf_writer.hpp"
#include "core/model/model_loader.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"

namespace sgl {
namespace {

namespace fs = std::filesystem;
using gguf::Value;
using kernels::DType;

std::vector<uint8_t> bytes_of(const TensorRef& t) {
  const auto* p = static_cast<const uint8_t*>(t.data);
  return std::vector<uint8_t>(p, p + t.nbytes);
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) SGL_THROW(Status::kIoError, "cannot read '{}'", p.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The metadata llama.cpp's converter writes for our architectures.
void set_arch_metadata(gguf::GgufWriter& w, const ModelConfig& c) {
  const std::string a = c.arch + ".";
  auto u32 = [](int64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  w.set("general.architecture", Value::string(c.arch));
  if (!c.name.empty()) w.set("general.name", Value::string(c.name));
  w.set(a + "context_length", u32(c.n_ctx_train));
  w.set(a + "embedding_length", u32(c.n_embd));
  w.set(a + "block_count", u32(c.n_layer));
  w.set(a + "feed_forward_length", u32(c.n_ff));
  w.set(a + "attention.head_count", u32(c.n_head));
  w.set(a + "attention.head_count_kv", u32(c.n_head_kv));
  w.set(a + "attention.key_length", u32(c.head_dim));
  w.set(a + "attention.value_length", u32(c.head_dim));
  w.set(a + "rope.dimension_count", u32(c.n_rot));
  w.set(a + "rope.freq_base", Value::f32(c.rope_theta));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::f32(c.rms_eps));
  w.set(a + "vocab_size", u32(c.n_vocab));
  if (c.rope_scaling.type == RopeScalingType::kLinear) {
    w.set(a + "rope.scaling.type", Value::string("linear"));
    w.set(a + "rope.scaling.factor", Value::f32(c.rope_scaling.factor));
  }
  // llama3 scaling travels as the rope_freqs.weight tensor the HF loader already provides.
}

// HF llama q/k rows are in the rotate-half layout; llama.cpp (and our GGUF loader, which uses
// the pairwise "norm" rope for llama) wants row (head h, 2i + half) = HF row (h, half*hd/2 + i).
// Whole rows move, so this works on quantized rows as well.
std::vector<uint8_t> permute_rows_pairwise(const std::vector<uint8_t>& in, int64_t heads, int64_t head_dim,
                                           size_t row_bytes) {
  std::vector<uint8_t> out(in.size());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t half = 0; half < 2; ++half)
      for (int64_t i = 0; i < head_dim / 2; ++i)
        std::memcpy(&out[static_cast<size_t>(h * head_dim + 2 * i + half) * row_bytes],
                    &in[static_cast<size_t>(h * head_dim + half * head_dim / 2 + i) * row_bytes], row_bytes);
  return out;
}

void set_type_keys(gguf::GgufWriter& w, DType type) {
  w.set("general.file_type", Value::u32(gguf_file_type(type)));
  if (kernels::dtype_info(type).block_elems > 1) w.set("general.quantization_version", Value::u32(2));
}

}  // namespace

QuantizeReport quantize_model_file(const std::string& in, const std::string& out, DType type, int threads) {
  std::error_code ec;
  if (!fs::exists(in, ec)) SGL_THROW(Status::kNotFound, "input model '{}' does not exist", in);
  if (fs::exists(out, ec) && fs::equivalent(in, out, ec))
    SGL_THROW(Status::kInvalidArgument, "output '{}' is the input model; write to another file", out);
  if (fs::is_directory(out, ec)) SGL_THROW(Status::kInvalidArgument, "output '{}' is a directory, not a file", out);
  const fs::path parent = fs::absolute(fs::path(out), ec).parent_path();
  if (!fs::is_directory(parent, ec))
    SGL_THROW(Status::kNotFound, "output directory '{}' does not exist", parent.string());

  QuantizeReport rep;
  if (fs::is_directory(in, ec)) {
    const ModelConfig c = config_from_hf_dir(in);
    auto store = quantize_store(tensors_from_hf_dir(in, c), type, threads, &rep);
    gguf::GgufWriter w;
    set_arch_metadata(w, c);
    set_type_keys(w, type);
    const fs::path tj = fs::path(in) / "tokenizer.json", tc = fs::path(in) / "tokenizer_config.json";
    if (fs::exists(tj, ec)) {
      w.set("tokenizer.huggingface.json", Value::string(read_text(tj)));
      if (fs::exists(tc, ec)) w.set("tokenizer.huggingface.config_json", Value::string(read_text(tc)));
    } else {
      SGL_LOG_WARN("sgl-quantize: '{}' has no tokenizer.json; the output runs on token ids only", in);
    }
    for (const TensorRef& t : store->all()) {
      std::vector<uint8_t> b = bytes_of(t);
      const bool is_q = t.name.ends_with("attn_q.weight"), is_k = t.name.ends_with("attn_k.weight");
      if (c.arch == "llama" && (is_q || is_k))
        b = permute_rows_pairwise(b, is_q ? c.n_head : c.n_head_kv, c.head_dim, kernels::row_bytes(t.dtype, t.dims[0]));
      w.add_tensor(t.name, t.dtype, t.dims, std::move(b));
    }
    w.write(out);
    return rep;
  }

  auto f = std::make_shared<const gguf::GgufFile>(gguf::GgufFile::open(in));
  auto store = quantize_store(tensors_from_gguf(f), type, threads, &rep);
  gguf::GgufWriter w(f->alignment());
  for (const auto& [key, value] : f->metadata()) w.set(key, value);
  set_type_keys(w, type);
  for (const TensorRef& t : store->all()) w.add_tensor(t.name, t.dtype, t.dims, bytes_of(t));
  w.write(out);
  return rep;
}

}  // namespace sgl
