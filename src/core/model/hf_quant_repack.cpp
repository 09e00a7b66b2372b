// Load-time repacking of AWQ / GPTQ Linear layers into Q4_1 (see hf_quant.hpp for the layouts).
// A group's w = s·(q - z) is Q4_1's d·q + m with d = s and m = -s·z, so the 4-bit codes carry
// over unchanged; only m is rounded (to f16, a relative 2^-11 of s·z).
#include <cstring>

#include "core/model/hf_quant.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"
#include "kernels/half.hpp"
#include "kernels/quant_q4_1.hpp"

namespace sgl::hf {
namespace {

using safetensors::DType;
using safetensors::TensorInfo;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

struct Ctx {
  const std::string& module;
  const std::string& file;
  const char* method;

  [[noreturn]] void bad(const std::string& what) const {
    SGL_THROW(Status::kParseError, "'{}': {} layer '{}': {}", file, method, module, what);
  }
  void expect(const TensorInfo* t, const char* suffix, std::vector<int64_t> shape, std::initializer_list<DType> dtypes) const {
    bool ok = false;
    for (DType d : dtypes) ok = ok || t->dtype == d;
    if (!ok) {
      std::string want;
      for (DType d : dtypes) want += (want.empty() ? "" : " or ") + std::string(safetensors::dtype_name(d));
      bad(fmt::format("{} has dtype {} ({} expected)", suffix, safetensors::dtype_name(t->dtype), want));
    }
    if (t->shape != shape)
      bad(fmt::format("{} has shape {} but {} expected", suffix, shape_str(t->shape), shape_str(shape)));
  }
};

// Readers of packed int32 words and scales; safetensors only promises byte alignment.
uint32_t word(const TensorInfo* t, int64_t i) {
  uint32_t w;
  std::memcpy(&w, t->data + i * 4, 4);
  return w;
}

float scale_at(const TensorInfo* t, int64_t i) {
  if (t->dtype == DType::kF32) {
    float f;
    std::memcpy(&f, t->data + i * 4, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, t->data + i * 2, 2);
  return t->dtype == DType::kF16 ? kernels::f16_to_f32(h) : kernels::bf16_to_f32(h);
}

constexpr int kAwqShift[8] = {0, 4, 1, 5, 2, 6, 3, 7};  // column 8c + j sits in nibble kAwqShift[j]

}  // namespace

RepackedWeight repack_quantized_linear(const QuantConfig& q, const QuantTensors& t, const std::string& module,
                                       const std::string& file) {
  const bool awq = q.method == QuantMethod::kAwq;
  Ctx ctx{module, file, quant_method_name(q.method)};
  SGL_CHECK(q.method != QuantMethod::kNone && q.bits == 4, "repack_quantized_linear needs a 4-bit AWQ/GPTQ config");
  if (!t.qweight) ctx.bad("qweight is missing");
  if (!t.qzeros) ctx.bad("qzeros is missing");
  if (!t.scales) ctx.bad("scales is missing");
  if (awq && t.g_idx) ctx.bad("AWQ layers have no g_idx, but one is present");
  if (t.qweight->shape.size() != 2) ctx.bad(fmt::format("qweight has shape {} (2-D expected)", shape_str(t.qweight->shape)));

  // Dimensions from qweight, then every other tensor checked against them.
  const int64_t in = awq ? t.qweight->shape[0] : t.qweight->shape[0] * 8;
  const int64_t out = awq ? t.qweight->shape[1] * 8 : t.qweight->shape[1];
  if (in <= 0 || out <= 0) ctx.bad(fmt::format("qweight has shape {}", shape_str(t.qweight->shape)));
  const int64_t gs = q.group_size == -1 ? in : q.group_size;
  const int64_t groups = (in + gs - 1) / gs;
  ctx.expect(t.qweight, "qweight", awq ? std::vector<int64_t>{in, out / 8} : std::vector<int64_t>{in / 8, out},
             {DType::kI32});
  ctx.expect(t.qzeros, "qzeros", {groups, out / 8}, {DType::kI32});
  ctx.expect(t.scales, "scales", {groups, out}, {DType::kF16, DType::kBF16, DType::kF32});
  if (awq && in % gs != 0) ctx.bad(fmt::format("input size {} is not a multiple of group_size {}", in, gs));

  // Group of each input row, and whether every 32-row block lies within one group.
  std::vector<int32_t> group(static_cast<size_t>(in));
  bool trivial = true;
  if (t.g_idx) {
    ctx.expect(t.g_idx, "g_idx", {in}, {DType::kI32});
    for (int64_t k = 0; k < in; ++k) {
      const auto g = static_cast<int32_t>(word(t.g_idx, k));
      if (g < 0 || g >= groups) ctx.bad(fmt::format("g_idx[{}] = {} is outside 0..{}", k, g, groups - 1));
      group[k] = g;
      trivial = trivial && g == k / gs;
    }
  } else {
    for (int64_t k = 0; k < in; ++k) group[k] = static_cast<int32_t>(k / gs);
  }
  bool blockwise = in % kernels::kQK4_1 == 0;
  for (int64_t k = 0; blockwise && k < in; ++k) blockwise = group[k] == group[k - k % kernels::kQK4_1];

  auto code = [&](int64_t k, int64_t n) -> int {
    if (awq) return static_cast<int>(word(t.qweight, k * (out / 8) + n / 8) >> (4 * kAwqShift[n % 8])) & 15;
    return static_cast<int>(word(t.qweight, (k / 8) * out + n) >> (4 * (k % 8))) & 15;
  };
  auto zero = [&](int64_t g, int64_t n) -> int {
    const uint32_t w = word(t.qzeros, g * (out / 8) + n / 8);
    const int z = static_cast<int>(w >> (4 * (awq ? kAwqShift[n % 8] : static_cast<int>(n % 8)))) & 15;
    return q.zero_minus_one ? (z + 1) & 15 : z;
  };

  RepackedWeight r;
  r.dims = {in, out};
  if (!blockwise) {
    SGL_LOG_INFO("'{}': {} layer '{}' has groups that do not align to 32-value blocks ({}); dequantizing it to F16",
                 file, ctx.method, module, trivial ? "group_size not a multiple of 32" : "act-order g_idx");
    r.dtype = kernels::DType::F16;
    r.bytes.resize(static_cast<size_t>(in * out) * 2);
    auto* dst = reinterpret_cast<uint16_t*>(r.bytes.data());
    for (int64_t n = 0; n < out; ++n)
      for (int64_t k = 0; k < in; ++k) {
        const int g = group[k];
        const float s = scale_at(t.scales, g * out + n);
        dst[n * in + k] = kernels::f32_to_f16(s * static_cast<float>(code(k, n) - zero(g, n)));
      }
    return r;
  }

  r.dtype = kernels::DType::Q4_1;
  const int64_t nb = in / kernels::kQK4_1;
  r.bytes.resize(static_cast<size_t>(out * nb) * sizeof(kernels::BlockQ4_1));
  auto* blocks = reinterpret_cast<kernels::BlockQ4_1*>(r.bytes.data());
  for (int64_t n = 0; n < out; ++n) {
    for (int64_t b = 0; b < nb; ++b) {
      kernels::BlockQ4_1& blk = blocks[n * nb + b];
      const int64_t k0 = b * kernels::kQK4_1;
      const int g = group[k0];
      const float s = scale_at(t.scales, g * out + n);
      const uint16_t d = kernels::f32_to_f16(s);
      blk.d = d;
      blk.m = kernels::f32_to_f16(-kernels::f16_to_f32(d) * static_cast<float>(zero(g, n)));
      for (int j = 0; j < kernels::kQK4_1 / 2; ++j)
        blk.qs[j] = static_cast<uint8_t>(code(k0 + j, n) | (code(k0 + j + 16, n) << 4));
    }
  }
  return r;
}

}  // namespace sgl::hf
