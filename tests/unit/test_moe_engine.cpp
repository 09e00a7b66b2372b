// MoE and MLA models through the whole engine: the in-repository goldens' greedy continuations
// come out the same alone, batched with 7 other requests, with the prefix served from the radix
// cache and with chunked prefill; the deepseek2 KV pool holds one compressed row per token.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/kv/kv_pool.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/synthetic_model.hpp"
#include "sgl/engine.hpp"
#include "support/golden_logits.hpp"
#include "support/model_logits.hpp"
#include "support/test_support.hpp"

using namespace sgl;

namespace {

Request greedy(std::vector<int32_t> ids, int n) {
  Request r;
  r.input_ids = std::move(ids);
  r.sampling.temperature = 0.0f;
  r.sampling.max_new_tokens = n;
  r.sampling.ignore_eos = true;
  return r;
}

EngineConfig config(const std::string& model, const std::string& kv = "f32") {
  EngineConfig c;
  c.model_path = model;
  c.device = "cpu";
  c.threads = 2;
  c.max_total_tokens = 2048;
  c.kv_cache_dtype = kv;
  return c;
}

}  // namespace

TEST_CASE("MoE/MLA greedy through the engine: alone, batched with 7 others, from the radix cache, chunked") {
  const auto dir = test::data_dir() / "moe";
  for (const char* name : {"tiny-mixtral", "tiny-qwen2moe", "tiny-qwen3moe", "tiny-deepseek2", "tiny-deepseek2-lite"}) {
    INFO(name);
    const nlohmann::json g = nlohmann::json::parse(std::ifstream(dir / (std::string(name) + ".json")));
    const auto prompt = g["seq_a"].get<std::vector<int32_t>>();
    const auto want = g["greedy_a_ids"].get<std::vector<int32_t>>();
    const int n = static_cast<int>(want.size());
    const std::string path = (dir / (std::string(name) + ".gguf")).string();

    Engine eng(config(path));
    Result alone = eng.generate(greedy(prompt, n));
    REQUIRE(alone.ok());
    CHECK(alone.output_ids == want);

    // Again, now with the prompt in the radix cache, alongside 7 other requests.
    std::mt19937 rng(3);
    std::uniform_int_distribution<int32_t> tok(3, 511);
    std::vector<RequestHandle> others;
    for (int i = 0; i < 7; ++i) {
      std::vector<int32_t> p(static_cast<size_t>(5 + 3 * i));
      for (auto& t : p) t = tok(rng);
      others.push_back(eng.submit(greedy(std::move(p), 24)));
    }
    Result cached = eng.submit(greedy(prompt, n)).result();
    for (auto& h : others) CHECK(h.result().ok());
    CHECK(cached.output_ids == want);
    CHECK(cached.cached_tokens == static_cast<int64_t>(prompt.size()) - 1);

    EngineConfig cc = config(path);
    cc.chunked_prefill_size = 8;
    cc.disable_radix_cache = true;
    Engine chunked(cc);
    CHECK(chunked.generate(greedy(prompt, n)).output_ids == want);
  }
}

TEST_CASE("deepseek2 KV pool: one kv_lora + rope row per token and layer, f16 and q8_0 caches") {
  const auto path = (test::data_dir() / "moe" / "tiny-deepseek2.gguf").string();
  const LoadedModel m = load_model(path);
  const ModelConfig& c = m.config;
  REQUIRE(c.is_mla());
  const KvPoolConfig kc = kv_pool_config_for(c, 16, 4, kernels::DType::F32);
  CHECK(kc.v_is_k);
  CHECK(kc.n_kv_heads == 1);
  CHECK(kc.head_dim == c.mla.kv_lora_rank + c.mla.qk_rope);
  // 3 layers x (48 + 16) floats, against 3 x 4 heads x (32 + 16) for decompressed K and V.
  CHECK(KvPool::bytes_per_token(kc) == 3u * 64u * 4u);
  const size_t naive = 3u * 4u * (32u + 16u) * 4u;
  CHECK(naive / KvPool::bytes_per_token(kc) == 3);
  auto be = kernels::create_backend("ref");
  KvPool pool(kc, *be);
  for (const auto& l : pool.layers()) CHECK(l.v == l.k);

  // The compressed row in lower-precision caches: close to the F32-cache logits.
  const nlohmann::json g = nlohmann::json::parse(std::ifstream(test::data_dir() / "moe" / "tiny-deepseek2.json"));
  const auto prompt = g["seq_b"].get<std::vector<int32_t>>();
  const auto f32 = test::prefill_decode_logits(path, "cpu", prompt, {4, kernels::DType::F32, 16, true});
  for (kernels::DType kv : {kernels::DType::F16, kernels::DType::Q8_0}) {
    const auto low = test::prefill_decode_logits(path, "cpu", prompt, {4, kv, 16, true});
    REQUIRE(low.size() == f32.size());
    // Per position: the largest logit difference. Routing is discrete, so a cache rounding that
    // flips one token's expert choice moves that row a lot; most rows must stay close.
    const size_t nv = 512, rows = low.size() / nv;
    std::vector<double> row_diff(rows, 0.0);
    for (size_t i = 0; i < low.size(); ++i)
      row_diff[i / nv] = std::max(row_diff[i / nv], static_cast<double>(std::fabs(low[i] - f32[i])));
    std::vector<double> sorted = row_diff;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[rows / 2], worst = sorted.back();
    MESSAGE("deepseek2 KV " << kernels::dtype_name(kv) << " vs f32: per-row max |diff| median " << median << ", worst "
                            << worst);
    CHECK(median < (kv == kernels::DType::F16 ? 0.01 : 0.1));
    CHECK(worst > 0);  // the cache really is in that type
  }
}

TEST_CASE("deepseek2 with DeepSeek's MLA row width (kv_lora 512 + rope 64): cpu matches ref") {
  SyntheticSpec s = synthetic_preset("tiny", "deepseek2");
  s.n_layer = 2;
  s.kv_lora_rank = 512;
  s.qk_rope = 64;
  s.qk_nope = 32;
  const auto path = (test::scratch_dir("deepseek2_wide") / "wide.gguf").string();
  write_synthetic_gguf(s, path);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 20; ++i) prompt.push_back(3 + (i * 37) % 500);
  for (kernels::DType kv : {kernels::DType::F32, kernels::DType::Q8_0}) {
    const auto cpu = test::prefill_decode_logits(path, "cpu", prompt, {3, kv, 16, true});
    const auto ref = test::prefill_decode_logits(path, "ref", prompt, {3, kv, 16, true});
    REQUIRE(cpu.size() == ref.size());
    double worst = 0;
    for (size_t i = 0; i < cpu.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(cpu[i] - ref[i])));
    MESSAGE("576-wide MLA row, KV " << kernels::dtype_name(kv) << ": cpu vs ref max |diff| " << worst);
    CHECK(worst < 1e-3);
  }
}
