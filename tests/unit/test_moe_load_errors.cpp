// MoE GGUF files that are inconsistent are refused at load with an error naming the key or
// tensor: missing expert tensors, expert_used_count outside 1..expert_count, groups that do not
// divide the experts, a missing shared expert, MLA dimensions that disagree.
#include <doctest/doctest.h>

#include <functional>

#include "core/model/gguf_writer.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/synthetic_model.hpp"
#include "core/model/transformer.hpp"
#include "kernels/backend.hpp"
#include "sgl/error.hpp"
#include "support/test_support.hpp"

using namespace sgl;

namespace {

// A copy of `src` with metadata `set` applied and the tensors for which `drop` is true left out.
std::string rewrite(const std::string& src, const std::string& dst,
                    const std::vector<std::pair<std::string, gguf::Value>>& set,
                    const std::function<bool(const std::string&)>& drop = {}) {
  const gguf::GgufFile f = gguf::GgufFile::open(src);
  gguf::GgufWriter w;
  for (const auto& [k, v] : f.metadata()) {
    bool replaced = false;
    for (const auto& [sk, sv] : set) replaced |= sk == k;
    if (!replaced) w.set(k, v);
  }
  for (const auto& [k, v] : set) w.set(k, v);
  for (const gguf::TensorInfo& t : f.tensors()) {
    if (drop && drop(t.name)) continue;
    const auto* p = static_cast<const uint8_t*>(t.data);
    w.add_tensor(t.name, t.dtype, t.dims, std::vector<uint8_t>(p, p + t.nbytes));
  }
  w.write(dst);
  return dst;
}

// Loads the model and builds its forward pass (where tensors are resolved); returns the error.
std::string load_error(const std::string& path) {
  try {
    auto m = std::make_shared<LoadedModel>(load_model(path));
    auto be = kernels::create_backend("ref");
    Transformer tf(m, *be);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("MoE load errors name the key or tensor") {
  const auto dir = test::scratch_dir("moe_load_errors");
  const std::string q2 = (dir / "q2.gguf").string(), q3 = (dir / "q3.gguf").string();
  write_synthetic_gguf(synthetic_preset("tiny", "qwen2moe"), q2);
  write_synthetic_gguf(synthetic_preset("tiny", "qwen3moe"), q3);
  REQUIRE(load_error(q2).empty());
  REQUIRE(load_error(q3).empty());
  auto u32 = [](uint32_t v) { return gguf::Value::u32(v); };
  const std::string out = (dir / "bad.gguf").string();

  SUBCASE("missing routed expert tensor") {
    std::string e = load_error(rewrite(q3, out, {}, [](const std::string& n) { return n == "blk.1.ffn_up_exps.weight"; }));
    INFO(e);
    CHECK(contains(e, "blk.1.ffn_up_exps.weight"));
    CHECK(contains(e, "missing"));
  }
  SUBCASE("missing router") {
    std::string e = load_error(rewrite(q3, out, {}, [](const std::string& n) { return n == "blk.0.ffn_gate_inp.weight"; }));
    INFO(e);
    CHECK(contains(e, "blk.0.ffn_gate_inp.weight"));
  }
  SUBCASE("missing shared expert tensor") {
    std::string e = load_error(rewrite(q2, out, {}, [](const std::string& n) { return n == "blk.0.ffn_down_shexp.weight"; }));
    INFO(e);
    CHECK(contains(e, "blk.0.ffn_down_shexp.weight"));
    CHECK(contains(e, "shared expert"));
  }
  SUBCASE("expert tensor of the wrong expert count") {
    std::string e = load_error(rewrite(q3, out, {{"qwen3moe.expert_count", u32(4)}, {"qwen3moe.expert_used_count", u32(2)}}));
    INFO(e);
    CHECK(contains(e, "ffn_gate_inp.weight"));
    CHECK(contains(e, "shape"));
  }
  SUBCASE("expert_used_count above expert_count") {
    std::string e = load_error(rewrite(q3, out, {{"qwen3moe.expert_used_count", u32(9)}}));
    INFO(e);
    CHECK(contains(e, "expert_used_count"));
    CHECK(contains(e, "9"));
  }
  SUBCASE("expert_used_count zero") {
    std::string e = load_error(rewrite(q3, out, {{"qwen3moe.expert_used_count", u32(0)}}));
    INFO(e);
    CHECK(contains(e, "expert_used_count"));
  }
  SUBCASE("expert_used_count missing") {
    const gguf::GgufFile f = gguf::GgufFile::open(q3);
    gguf::GgufWriter w;
    for (const auto& [k, v] : f.metadata())
      if (k != "qwen3moe.expert_used_count") w.set(k, v);
    for (const gguf::TensorInfo& t : f.tensors()) {
      const auto* p = static_cast<const uint8_t*>(t.data);
      w.add_tensor(t.name, t.dtype, t.dims, std::vector<uint8_t>(p, p + t.nbytes));
    }
    w.write(out);
    std::string e = load_error(out);
    INFO(e);
    CHECK(contains(e, "expert_used_count"));
  }
  SUBCASE("expert groups that do not divide the experts") {
    std::string e = load_error(rewrite(q3, out, {{"qwen3moe.expert_group_count", u32(3)},
                                                 {"qwen3moe.expert_group_used_count", u32(1)}}));
    INFO(e);
    CHECK(contains(e, "expert_group_count"));
  }
  SUBCASE("unknown gating function") {
    std::string e = load_error(rewrite(q3, out, {{"qwen3moe.expert_gating_func", u32(3)}}));
    INFO(e);
    CHECK(contains(e, "expert_gating_func"));
  }
}

TEST_CASE("deepseek2 load errors name the key or tensor") {
  const auto dir = test::scratch_dir("deepseek2_load_errors");
  const std::string ds = (dir / "ds.gguf").string(), out = (dir / "bad.gguf").string();
  write_synthetic_gguf(synthetic_preset("tiny", "deepseek2"), ds);
  REQUIRE(load_error(ds).empty());
  auto u32 = [](uint32_t v) { return gguf::Value::u32(v); };
  auto dropping = [&](const std::string& name) {
    return load_error(rewrite(ds, out, {}, [&](const std::string& n) { return n == name; }));
  };

  SUBCASE("MLA key_length is not kv_lora_rank + rope") {
    std::string e = load_error(rewrite(ds, out, {{"deepseek2.attention.key_length", u32(60)}}));
    INFO(e);
    CHECK(contains(e, "key_length"));
    CHECK(contains(e, "kv_lora_rank + rope"));
  }
  SUBCASE("MLA value_length_mla without key_length_mla") {
    const gguf::GgufFile f = gguf::GgufFile::open(ds);
    gguf::GgufWriter w;
    for (const auto& [k, v] : f.metadata())
      if (k != "deepseek2.attention.key_length_mla") w.set(k, v);
    for (const gguf::TensorInfo& t : f.tensors()) {
      const auto* p = static_cast<const uint8_t*>(t.data);
      w.add_tensor(t.name, t.dtype, t.dims, std::vector<uint8_t>(p, p + t.nbytes));
    }
    w.write(out);
    std::string e = load_error(out);
    INFO(e);
    CHECK(contains(e, "key_length_mla"));
  }
  SUBCASE("key_length_mla not above the rope dims") {
    std::string e = load_error(rewrite(ds, out, {{"deepseek2.attention.key_length_mla", u32(16)}}));
    INFO(e);
    CHECK(contains(e, "rope.dimension_count"));
  }
  SUBCASE("k_b of the wrong shape for the MLA dims") {
    std::string e = load_error(rewrite(ds, out, {{"deepseek2.attention.key_length_mla", u32(40)}}));
    INFO(e);
    CHECK(contains(e, "attn_q_b.weight"));
  }
  SUBCASE("expert groups that do not divide the experts") {
    std::string e = load_error(rewrite(ds, out, {{"deepseek2.expert_group_count", u32(3)}}));
    INFO(e);
    CHECK(contains(e, "expert_group_count 3"));
    CHECK(contains(e, "divide"));
  }
  SUBCASE("as many used groups as groups") {
    std::string e = load_error(rewrite(ds, out, {{"deepseek2.expert_group_used_count", u32(4)}}));
    INFO(e);
    CHECK(contains(e, "expert_group_used_count"));
  }
  SUBCASE("missing shared expert tensor") {
    std::string e = dropping("blk.2.ffn_up_shexp.weight");
    INFO(e);
    CHECK(contains(e, "blk.2.ffn_up_shexp.weight"));
    CHECK(contains(e, "shared expert"));
  }
  SUBCASE("missing attn_k_b") {
    std::string e = dropping("blk.1.attn_k_b.weight");
    INFO(e);
    CHECK(contains(e, "blk.1.attn_k_b.weight"));
  }
  SUBCASE("missing dense FFN of a leading layer") {
    std::string e = dropping("blk.0.ffn_gate.weight");
    INFO(e);
    CHECK(contains(e, "blk.0.ffn_gate.weight"));
  }
  SUBCASE("leading dense layers beyond the model") {
    std::string e = load_error(rewrite(ds, out, {{"deepseek2.leading_dense_block_count", u32(7)}}));
    INFO(e);
    CHECK(contains(e, "leading_dense_block_count"));
  }
  SUBCASE("missing expert_shared_count") {
    const gguf::GgufFile f = gguf::GgufFile::open(ds);
    gguf::GgufWriter w;
    for (const auto& [k, v] : f.metadata())
      if (k != "deepseek2.expert_shared_count") w.set(k, v);
    for (const gguf::TensorInfo& t : f.tensors()) {
      const auto* p = static_cast<const uint8_t*>(t.data);
      w.add_tensor(t.name, t.dtype, t.dims, std::vector<uint8_t>(p, p + t.nbytes));
    }
    w.write(out);
    std::string e = load_error(out);
    INFO(e);
    CHECK(contains(e, "expert_shared_count"));
  }
}

TEST_CASE("small MoE presets: DeepSeek-V3-shaped deepseek2 and Qwen3-30B-A3B-shaped qwen3moe") {
  const ModelConfig ds = synthetic_config(synthetic_preset("small", "deepseek2"));
  CHECK(ds.is_mla());
  CHECK(ds.moe.n_expert == 64);
  CHECK(ds.moe.n_expert_used == 6);
  CHECK(ds.moe.n_shared == 2);
  CHECK(ds.moe.n_group == 8);
  CHECK(ds.moe.n_group_used == 4);
  CHECK(ds.moe.n_leading_dense == 1);
  CHECK(ds.moe.probs_bias);
  const ModelConfig q = synthetic_config(synthetic_preset("small", "qwen3moe"));
  CHECK(q.moe.n_expert == 64);
  CHECK(q.moe.n_expert_used == 8);
  // Total parameters about 1B: experts dominate.
  const int64_t experts = q.n_layer * q.moe.n_expert * 3 * q.n_embd * q.moe.n_ff_exp;
  CHECK(experts > 800'000'000);
  CHECK(experts < 1'100'000'000);
  CHECK_THROWS_AS(synthetic_preset("small", "llama"), Error);
}
