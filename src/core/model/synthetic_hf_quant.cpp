#include "core/model/synthetic_hf_quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/model/hf_json.hpp"
#include "core/model/safetensors.hpp"
#include "core/support/check.hpp"
#include "kernels/half.hpp"

namespace sgl {
namespace {

namespace fs = std::filesystem;
using safetensors::WriteTensor;

// AutoAWQ's WQLinear_GEMM pack order: nibble i of a packed word holds column 8c + kOrder[i].
constexpr int kAwqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};

struct Quantized {
  int64_t out = 0, in = 0, groups = 0;
  std::vector<uint8_t> q;      // [out][in] codes 0..15
  std::vector<uint8_t> z;      // [groups][out] zero points 0..15
  std::vector<uint16_t> s;     // [groups][out] f16 scales
  std::vector<int32_t> g_idx;  // [in]
};

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Min/max (asym) or absmax (sym) quantization per (group, output), as AutoAWQ / GPTQ's RTN do,
// with the codes computed against the f16-rounded scale so s16·(q - z) is the exact twin value.
Quantized quantize(const std::vector<float>& w, int64_t out, int64_t in, const HfQuantSpec& spec, uint64_t seed) {
  Quantized r;
  r.out = out;
  r.in = in;
  const int64_t gs = spec.group_size == -1 ? in : spec.group_size;
  r.groups = (in + gs - 1) / gs;
  r.g_idx.resize(static_cast<size_t>(in));
  for (int64_t k = 0; k < in; ++k) r.g_idx[k] = static_cast<int32_t>(k / gs);
  if (spec.act_order) {  // a random permutation decides which inputs share a group
    std::vector<int64_t> perm(static_cast<size_t>(in));
    for (int64_t k = 0; k < in; ++k) perm[k] = k;
    for (int64_t k = in - 1; k > 0; --k) std::swap(perm[k], perm[mix(seed + k) % static_cast<uint64_t>(k + 1)]);
    for (int64_t i = 0; i < in; ++i) r.g_idx[perm[i]] = static_cast<int32_t>(i / gs);
  }
  r.q.resize(static_cast<size_t>(out * in));
  r.z.resize(static_cast<size_t>(r.groups * out));
  r.s.resize(static_cast<size_t>(r.groups * out));
  for (int64_t n = 0; n < out; ++n) {
    for (int64_t g = 0; g < r.groups; ++g) {
      float lo = 0, hi = 0;  // GPTQ/AWQ ranges include 0
      for (int64_t k = 0; k < in; ++k)
        if (r.g_idx[k] == g) lo = std::min(lo, w[n * in + k]), hi = std::max(hi, w[n * in + k]);
      float scale;
      int zero;
      if (spec.sym) {
        const float amax = std::max(-lo, hi);
        scale = std::max(2 * amax / 15, 1e-5f);
      } else {
        scale = std::max((hi - lo) / 15, 1e-5f);
      }
      const uint16_t s16 = kernels::f32_to_f16(scale);
      const float sq = kernels::f16_to_f32(s16);
      zero = spec.sym ? 8 : std::clamp(static_cast<int>(std::lround(-lo / sq)), 0, 15);
      r.s[g * out + n] = s16;
      r.z[g * out + n] = static_cast<uint8_t>(zero);
      for (int64_t k = 0; k < in; ++k)
        if (r.g_idx[k] == g)
          r.q[n * in + k] = static_cast<uint8_t>(std::clamp(static_cast<int>(std::lround(w[n * in + k] / sq)) + zero, 0, 15));
    }
  }
  return r;
}

std::vector<float> dequantized(const Quantized& r) {
  std::vector<float> w(static_cast<size_t>(r.out * r.in));
  for (int64_t n = 0; n < r.out; ++n)
    for (int64_t k = 0; k < r.in; ++k) {
      const int64_t g = r.g_idx[k];
      w[n * r.in + k] = kernels::f16_to_f32(r.s[g * r.out + n]) * static_cast<float>(r.q[n * r.in + k] - r.z[g * r.out + n]);
    }
  return w;
}

std::vector<uint8_t> words_bytes(const std::vector<uint32_t>& w) {
  std::vector<uint8_t> b(w.size() * 4);
  std::memcpy(b.data(), w.data(), b.size());
  return b;
}

template <class T>
std::vector<uint8_t> raw_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Packs a [rows][out] matrix of 4-bit values along `out`, 8 per word, AWQ order or plain order.
std::vector<uint32_t> pack_along_out(const std::vector<uint8_t>& v, int64_t rows, int64_t out, bool awq_order) {
  std::vector<uint32_t> p(static_cast<size_t>(rows * (out / 8)), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < out / 8; ++c) {
      uint32_t word = 0;
      for (int i = 0; i < 8; ++i) word |= static_cast<uint32_t>(v[r * out + c * 8 + (awq_order ? kAwqOrder[i] : i)] & 15) << (4 * i);
      p[r * (out / 8) + c] = word;
    }
  return p;
}

void add_packed(std::vector<WriteTensor>& out, const std::string& module, const Quantized& r, const HfQuantSpec& spec) {
  const bool awq = spec.method == "awq";
  // Codes transposed to [in][out] (both formats store the input dimension outermost).
  std::vector<uint8_t> qt(static_cast<size_t>(r.in * r.out));
  for (int64_t n = 0; n < r.out; ++n)
    for (int64_t k = 0; k < r.in; ++k) qt[k * r.out + n] = r.q[n * r.in + k];
  if (awq) {
    out.push_back({module + ".qweight", safetensors::DType::kI32, {r.in, r.out / 8},
                   words_bytes(pack_along_out(qt, r.in, r.out, true))});
    out.push_back({module + ".qzeros", safetensors::DType::kI32, {r.groups, r.out / 8},
                   words_bytes(pack_along_out(r.z, r.groups, r.out, true))});
    out.push_back({module + ".scales", safetensors::DType::kF16, {r.groups, r.out}, raw_bytes(r.s)});
    return;
  }
  // GPTQ: qweight packs 8 consecutive input rows per word (row 8i + j in bits 4j..4j+3).
  std::vector<uint32_t> qw(static_cast<size_t>(r.in / 8 * r.out), 0);
  for (int64_t i = 0; i < r.in / 8; ++i)
    for (int j = 0; j < 8; ++j)
      for (int64_t n = 0; n < r.out; ++n) qw[i * r.out + n] |= static_cast<uint32_t>(qt[(i * 8 + j) * r.out + n]) << (4 * j);
  std::vector<uint8_t> zs = r.z;
  if (!spec.gptq_v2)
    for (uint8_t& z : zs) z = static_cast<uint8_t>((z - 1) & 15);  // v1 stores z - 1 (mod 16)
  out.push_back({module + ".qweight", safetensors::DType::kI32, {r.in / 8, r.out}, words_bytes(qw)});
  out.push_back({module + ".qzeros", safetensors::DType::kI32, {r.groups, r.out / 8},
                 words_bytes(pack_along_out(zs, r.groups, r.out, false))});
  out.push_back({module + ".scales", safetensors::DType::kF16, {r.groups, r.out}, raw_bytes(r.s)});
  out.push_back({module + ".g_idx", safetensors::DType::kI32, {r.in}, raw_bytes(r.g_idx)});
}

void copy_into(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) SGL_THROW(Status::kIoError, "cannot copy '{}' to '{}': {}", from.string(), to.string(), ec.message());
}

}  // namespace

void validate_hf_quant_spec(const SyntheticSpec& s, const HfQuantSpec& q) {
  auto bad = [](const std::string& what) { SGL_THROW(Status::kInvalidArgument, "synthetic HF quant model: {}", what); };
  if (q.method != "awq" && q.method != "gptq") bad(fmt::format("method '{}' is not awq or gptq", q.method));
  if (!(q.group_size == -1 || q.group_size > 0)) bad(fmt::format("group size {} must be -1 or positive", q.group_size));
  if (q.method == "awq" && (q.sym || q.act_order || q.gptq_v2)) bad("sym, act-order and gptq_v2 are GPTQ options");
  const int64_t hd = s.head_dim ? s.head_dim : s.n_embd / s.n_head;
  for (int64_t d : {s.n_embd, s.n_ff, s.n_head * hd, s.n_head_kv * hd})
    if (d % 8 != 0) bad(fmt::format("layer width {} is not a multiple of 8 (the int32 packing)", d));
  for (int64_t d : {s.n_embd, s.n_ff, s.n_head * hd})  // input widths
    if (q.group_size > 0 && q.method == "awq" && d % q.group_size != 0)
      bad(fmt::format("AWQ needs input widths divisible by the group size {}, but one is {}", q.group_size, d));
}

void write_synthetic_hf_quant(const SyntheticSpec& s, const HfQuantSpec& q, const std::string& dir,
                              const std::string& twin_dir) {
  validate_hf_quant_spec(s, q);
  SyntheticSpec f32 = s;
  f32.weight_type = kernels::DType::F32;
  write_synthetic_hf(f32, twin_dir, kernels::DType::F32);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) SGL_THROW(Status::kIoError, "cannot create directory '{}': {}", dir, ec.message());

  const fs::path twin_st = fs::path(twin_dir) / "model.safetensors";
  std::vector<WriteTensor> packed, twin;
  {
    const safetensors::SafetensorsFile src = safetensors::SafetensorsFile::open(twin_st.string());
    for (const safetensors::TensorInfo& t : src.tensors()) {
      SGL_CHECK(t.dtype == safetensors::DType::kF32, "twin tensor '{}' is not F32", t.name);
      std::vector<float> v(static_cast<size_t>(t.n_elements()));
      std::memcpy(v.data(), t.data, v.size() * 4);
      const bool linear = t.shape.size() == 2 && t.name.rfind("model.layers.", 0) == 0 && t.name.ends_with("_proj.weight");
      if (linear) {
        const std::string module = t.name.substr(0, t.name.size() - std::strlen(".weight"));
        Quantized r = quantize(v, t.shape[0], t.shape[1], q, s.seed ^ std::hash<std::string>{}(module));
        add_packed(packed, module, r, q);
        v = dequantized(r);
      } else {
        // Unquantized tensors: F16 in the checkpoint (as real ones), the same values in the twin.
        std::vector<uint16_t> h(v.size());
        for (size_t i = 0; i < v.size(); ++i) h[i] = kernels::f32_to_f16(v[i]), v[i] = kernels::f16_to_f32(h[i]);
        packed.push_back({t.name, safetensors::DType::kF16, t.shape, raw_bytes(h)});
      }
      twin.push_back({t.name, safetensors::DType::kF32, t.shape, raw_bytes(v)});
    }
  }
  safetensors::write_file(twin_st.string(), safetensors::serialize(twin, {{"format", "pt"}}));
  safetensors::write_file((fs::path(dir) / "model.safetensors").string(), safetensors::serialize(packed, {{"format", "pt"}}));

  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    copy_into(fs::path(twin_dir) / f, fs::path(dir) / f);
  nlohmann::ordered_json j = hf::read_json_file((fs::path(twin_dir) / "config.json").string());
  j["torch_dtype"] = "float16";
  if (q.method == "awq") {
    j["quantization_config"] = {{"quant_method", "awq"}, {"bits", 4},           {"group_size", q.group_size},
                                {"zero_point", true},    {"version", "gemm"}, {"modules_to_not_convert", nullptr}};
  } else {
    j["quantization_config"] = {{"quant_method", "gptq"},
                                {"bits", 4},
                                {"group_size", q.group_size},
                                {"desc_act", q.act_order},
                                {"sym", q.sym},
                                {"static_groups", false},
                                {"true_sequential", true},
                                {"damp_percent", 0.01},
                                {"checkpoint_format", q.gptq_v2 ? "gptq_v2" : "gptq"}};
  }
  std::ofstream f(fs::path(dir) / "config.json", std::ios::binary | std::ios::trunc);
  f << j.dump(2) << "\n";
  f.close();
  if (!f) SGL_THROW(Status::kIoError, "cannot write '{}'", (fs::path(dir) / "config.json").string());
}

}  // namespace sgl
