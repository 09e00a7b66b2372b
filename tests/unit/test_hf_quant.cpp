// AWQ / GPTQ checkpoints: synthetic directories in the formats' real packed layouts
// (synthetic_hf_quant.cpp, packers written from the format definitions) load with no flag,
// repack to Q4_1 (or F16 for act-order), and give the logits of their dequantized F32 twins.
//
// Tolerances, relative to the spread (standard deviation) of the twin's logits:
//  - ref backend: the only difference is the loader's f16 rounding of Q4_1's m = -s·z (relative
//    2^-11 of s·z, ~5e-3 of a quantization step): max 1%, rms 0.2% of the spread (seen: max
//    0.37%, rms 0.07%; exactly 0 for symmetric GPTQ, where m = -8s is exact).
//  - cpu backend: in addition the integer kernels round activations to int8 blocks, as for
//    Q4_0 in test_forward_cpu_vs_ref.cpp: max 8%, rms 1.5% of the spread (seen: max 2.6-3.3%,
//    rms ~0.7%).
//  - act-order GPTQ and group size 16 load as F16 (blocks of 32 would span groups): only the
//    f16 rounding of the weights differs, on both backends (seen: max 0.09%).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/model/hf_json.hpp"
#include "core/model/hf_quant.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/safetensors.hpp"
#include "core/model/synthetic_hf_quant.hpp"
#include "kernels/half.hpp"
#include "kernels/quant.hpp"
#include "sgl/error.hpp"
#include "support/model_logits.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using kernels::DType;
namespace fs = std::filesystem;

namespace {

SyntheticSpec small_spec(const std::string& arch = "llama") {
  SyntheticSpec s = synthetic_preset("tiny", arch);
  s.n_embd = 128;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 256;
  s.n_layer = 1;  // one layer is enough to exercise every projection; keeps the ASan run short
  return s;
}

struct Diff {
  double max_rel, rms_rel;
};

Diff compare(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double mean = 0, var = 0, max = 0, se = 0;
  for (float v : want) mean += v;
  mean /= static_cast<double>(want.size());
  for (float v : want) var += (v - mean) * (v - mean);
  const double spread = std::sqrt(var / static_cast<double>(want.size()));
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    max = std::max(max, std::isfinite(d) ? d : 1e30);
    se += d * d;
  }
  return {max / spread, std::sqrt(se / static_cast<double>(got.size())) / spread};
}

struct Variant {
  const char* name;
  const char* arch;
  HfQuantSpec q;
  DType expect;  // what blk.0.ffn_down.weight loads as
};

template <class F>
void expect_error(F&& f, Status code, const std::string& part) {
  try {
    f();
    FAIL("expected an error containing: " << part);
  } catch (const Error& e) {
    CHECK(e.code() == code);
    CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
  }
}

void rewrite_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = hf::read_json_file((dir / "config.json").string());
  edit(j);
  std::ofstream(dir / "config.json") << j.dump(2);
}

// Rewrites model.safetensors through `edit` on the list of tensors.
void rewrite_tensors(const fs::path& dir, const std::function<void(std::vector<safetensors::WriteTensor>&)>& edit) {
  const std::string p = (dir / "model.safetensors").string();
  std::vector<safetensors::WriteTensor> ts;
  {
    auto f = safetensors::SafetensorsFile::open(p);
    for (const auto& t : f.tensors())
      ts.push_back({t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes())});
  }
  edit(ts);
  safetensors::write_file(p, safetensors::serialize(ts));
}

}  // namespace

TEST_CASE("AWQ and GPTQ directories give the logits of their dequantized F32 twins (ref and cpu)") {
  const fs::path dir = test::scratch_dir("hf_quant");
  const std::vector<int32_t> prompt = {1, 17, 300, 42, 5, 99};
  auto gptq = [](int64_t gs, bool sym, bool act, bool v2) {
    HfQuantSpec q;
    q.method = "gptq";
    q.group_size = gs;
    q.sym = sym;
    q.act_order = act;
    q.gptq_v2 = v2;
    return q;
  };
  auto awq = [](int64_t gs) {
    HfQuantSpec q;
    q.group_size = gs;
    return q;
  };
  const Variant variants[] = {
      {"awq-g32", "llama", awq(32), DType::Q4_1},
      {"awq-g64-qwen2", "qwen2", awq(64), DType::Q4_1},
      {"awq-g128", "llama", awq(128), DType::Q4_1},
      {"awq-whole", "qwen3", awq(-1), DType::Q4_1},
      {"gptq-sym-g128", "llama", gptq(128, true, false, false), DType::Q4_1},
      {"gptq-asym-g64", "llama", gptq(64, false, false, false), DType::Q4_1},
      {"gptq-asym-g32-v2", "qwen2", gptq(32, false, false, true), DType::Q4_1},
      {"gptq-sym-whole", "llama", gptq(-1, true, false, false), DType::Q4_1},
      {"gptq-actorder-g32", "llama", gptq(32, false, true, false), DType::F16},
      {"gptq-g16", "llama", gptq(16, false, false, false), DType::F16},
  };
  for (const Variant& v : variants) {
    const std::string variant = v.name;
    CAPTURE(variant);
    const fs::path qd = dir / v.name, td = dir / (std::string(v.name) + "-twin");
    SyntheticSpec s = small_spec(v.arch);
    write_synthetic_hf_quant(s, v.q, qd.string(), td.string());
    LoadedModel m = load_model(qd.string());
    for (const char* t : {"blk.0.attn_q.weight", "blk.0.ffn_down.weight", "blk.0.attn_output.weight"}) {
      const TensorRef* r = m.tensors->find(t);
      REQUIRE(r);
      CHECK(r->dtype == v.expect);
    }
    CHECK(m.tensors->find("token_embd.weight")->dtype == DType::F16);
    for (const std::string device : {"ref", "cpu"}) {
      CAPTURE(device);
      const Diff d = compare(test::prefill_decode_logits(qd.string(), device, prompt, {.decode_tokens = 2}),
                             test::prefill_decode_logits(td.string(), device, prompt, {.decode_tokens = 2}));
      MESSAGE(fmt::format("{} {}: max {:.2e} rms {:.2e} of the spread", v.name, device, d.max_rel, d.rms_rel));
      if (device == "ref") {
        CHECK(d.max_rel < 0.01);
        CHECK(d.rms_rel < 0.002);
      } else {
        CHECK(d.max_rel < 0.08);
        CHECK(d.rms_rel < 0.015);
      }
    }
  }
}

TEST_CASE("AWQ / GPTQ loading rejects bad configs and tensors with clear errors") {
  const fs::path dir = test::scratch_dir("hf_quant_bad");
  HfQuantSpec g;
  g.method = "gptq";
  g.group_size = 64;
  const fs::path base = dir / "gptq", twin = dir / "twin";
  write_synthetic_hf_quant(small_spec(), g, base.string(), twin.string());
  int n = 0;
  auto fresh = [&] {
    const fs::path d = dir / fmt::format("case{}", n++);
    fs::remove_all(d);
    fs::copy(base, d, fs::copy_options::recursive);
    return d;
  };
  auto load = [](const fs::path& d) { return [d] { (void)load_model(d.string()); }; };

  fs::path d = fresh();
  rewrite_config(d, [](auto& j) { j["quantization_config"]["bits"] = 8; });
  expect_error(load(d), Status::kUnsupported, "bits 8");

  d = fresh();
  rewrite_config(d, [](auto& j) { j["quantization_config"]["quant_method"] = "bitsandbytes"; });
  expect_error(load(d), Status::kUnsupported, "'bitsandbytes' is not supported");

  d = fresh();
  rewrite_config(d, [](auto& j) { j["quantization_config"]["checkpoint_format"] = "marlin"; });
  expect_error(load(d), Status::kUnsupported, "checkpoint_format 'marlin'");

  d = fresh();
  rewrite_config(d, [](auto& j) { j["quantization_config"]["group_size"] = 0; });
  expect_error(load(d), Status::kParseError, "group_size");

  d = fresh();
  rewrite_config(d, [](auto& j) { j["quantization_config"] = {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 64}, {"version", "gemv"}}; });
  expect_error(load(d), Status::kUnsupported, "AWQ version 'gemv'");

  d = fresh();  // packed tensors, but config.json says nothing about quantization
  rewrite_config(d, [](auto& j) { j.erase("quantization_config"); });
  expect_error(load(d), Status::kParseError, "no quantization_config");

  d = fresh();
  rewrite_tensors(d, [](auto& ts) {
    std::erase_if(ts, [](const auto& t) { return t.name == "model.layers.0.mlp.up_proj.qzeros"; });
  });
  expect_error(load(d), Status::kParseError, "qzeros is missing");

  d = fresh();  // scales with a wrong number of groups
  rewrite_tensors(d, [](auto& ts) {
    for (auto& t : ts)
      if (t.name == "model.layers.0.mlp.down_proj.scales") {
        t.shape[0] -= 1;
        t.data.resize(static_cast<size_t>(t.shape[0] * t.shape[1]) * 2);
      }
  });
  expect_error(load(d), Status::kParseError, "scales has shape [3, 128] but [4, 128] expected");

  d = fresh();  // qweight stored as F32
  rewrite_tensors(d, [](auto& ts) {
    for (auto& t : ts)
      if (t.name == "model.layers.0.self_attn.q_proj.qweight") t.dtype = safetensors::DType::kF32;
  });
  expect_error(load(d), Status::kParseError, "qweight has dtype F32 (I32 expected)");

  d = fresh();  // g_idx naming a group that does not exist
  rewrite_tensors(d, [](auto& ts) {
    for (auto& t : ts)
      if (t.name == "model.layers.0.self_attn.k_proj.g_idx") t.data[4 * 5] = 9;
  });
  expect_error(load(d), Status::kParseError, "g_idx[5] = 9 is outside 0..1");
}

namespace {

// One quantized Linear as literal words, for hand-checked layouts.
struct Literal {
  std::vector<uint8_t> qw, qz, sc, gi;
  safetensors::TensorInfo qweight, qzeros, scales, g_idx;
};

std::vector<uint8_t> words(std::vector<uint32_t> w) {
  std::vector<uint8_t> b(w.size() * 4);
  std::memcpy(b.data(), w.data(), b.size());
  return b;
}

void set(safetensors::TensorInfo& t, const std::string& name, safetensors::DType dt, std::vector<int64_t> shape,
         const std::vector<uint8_t>& bytes) {
  t.name = name;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.begin = 0;
  t.end = bytes.size();
  t.data = bytes.data();
}

std::vector<float> dequant(const hf::RepackedWeight& w) {
  std::vector<float> out(static_cast<size_t>(w.dims[0] * w.dims[1]));
  const size_t rb = kernels::row_bytes(w.dtype, w.dims[0]);
  for (int64_t r = 0; r < w.dims[1]; ++r)
    kernels::dequantize_row(w.dtype, w.bytes.data() + r * rb, out.data() + r * w.dims[0], w.dims[0]);
  return out;
}

}  // namespace

TEST_CASE("AWQ / GPTQ unpacking of hand-made words") {
  const uint16_t one = kernels::f32_to_f16(1.0f), half = kernels::f32_to_f16(0.5f);
  SUBCASE("AWQ: word 0x76543210 puts code i in column order[i], order = 0,2,4,6,1,3,5,7") {
    // in = 32 rows, out = 8 columns, one group; every row's word is 0x76543210, zeros all 1,
    // scale 0.5 for column 0 and 1 elsewhere: column n holds code pos(n) = 0,4,1,5,2,6,3,7.
    Literal l;
    l.qw = words(std::vector<uint32_t>(32, 0x76543210u));
    l.qz = words({0x11111111u});
    std::vector<uint16_t> s(8, one);
    s[0] = half;
    l.sc.resize(16);
    std::memcpy(l.sc.data(), s.data(), 16);
    set(l.qweight, "x.qweight", safetensors::DType::kI32, {32, 1}, l.qw);
    set(l.qzeros, "x.qzeros", safetensors::DType::kI32, {1, 1}, l.qz);
    set(l.scales, "x.scales", safetensors::DType::kF16, {1, 8}, l.sc);
    hf::QuantConfig q;
    q.method = hf::QuantMethod::kAwq;
    q.bits = 4;
    q.group_size = 32;
    const hf::RepackedWeight w = hf::repack_quantized_linear(q, {&l.qweight, &l.qzeros, &l.scales, nullptr}, "x", "f");
    CHECK(w.dtype == DType::Q4_1);
    CHECK(w.dims == std::vector<int64_t>{32, 8});
    const std::vector<float> v = dequant(w);
    const int code[8] = {0, 4, 1, 5, 2, 6, 3, 7};
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 32; ++k) CHECK(v[n * 32 + k] == (n == 0 ? 0.5f : 1.0f) * static_cast<float>(code[n] - 1));
  }
  SUBCASE("GPTQ: qweight packs 8 input rows per word; v1 zeros are stored minus one, mod 16") {
    // in = 32, out = 8, group 32. Word [r][n] = 0x76543210: input row 8r + j has code j.
    // qzeros 0xFFFFFFFF: v1 reads z = (15 + 1) & 15 = 0, v2 reads z = 15.
    Literal l;
    l.qw = words(std::vector<uint32_t>(4 * 8, 0x76543210u));
    l.qz = words({0xFFFFFFFFu});
    std::vector<uint16_t> s(8, one);
    l.sc.resize(16);
    std::memcpy(l.sc.data(), s.data(), 16);
    l.gi = words(std::vector<uint32_t>(32, 0));
    set(l.qweight, "x.qweight", safetensors::DType::kI32, {4, 8}, l.qw);
    set(l.qzeros, "x.qzeros", safetensors::DType::kI32, {1, 1}, l.qz);
    set(l.scales, "x.scales", safetensors::DType::kF16, {1, 8}, l.sc);
    set(l.g_idx, "x.g_idx", safetensors::DType::kI32, {32}, l.gi);
    for (bool v1 : {true, false}) {
      CAPTURE(v1);
      hf::QuantConfig q;
      q.method = hf::QuantMethod::kGptq;
      q.bits = 4;
      q.group_size = 32;
      q.zero_minus_one = v1;
      const hf::RepackedWeight w =
          hf::repack_quantized_linear(q, {&l.qweight, &l.qzeros, &l.scales, &l.g_idx}, "x", "f");
      CHECK(w.dtype == DType::Q4_1);
      const std::vector<float> v = dequant(w);
      for (int n = 0; n < 8; ++n)
        for (int k = 0; k < 32; ++k) CHECK(v[n * 32 + k] == static_cast<float>(k % 8 - (v1 ? 0 : 15)));
    }
  }
}
