// KV cache element types: f32, f16 (the default, "auto"), bf16 and q8_0 are reachable from
// EngineConfig::kv_cache_dtype and give logits close to an f32 cache, on both backends.
//
// Bounds, relative to the spread (standard deviation, ~1.5) of the f32-cache logits of a
// "tiny"-sized model with head_dim 32 (q8_0 blocks run along head_dim), prefill of 9 tokens then
// 3 decode steps (which read the stored K/V back):
//  - f16 keeps 11 significant bits (relative rounding <= 2^-11 = 0.05%): rms 0.1%, max 0.5%
//    (seen on both backends: rms 0.011%, max 0.07%).
//  - bf16 keeps 8 (<= 2^-8 = 0.4%): rms 1%, max 4% (seen: rms 0.10%, max 0.45%).
//  - q8_0: int8 per 32 elements with one f16 scale (rms rounding ~amax/127/sqrt(12), ~0.3% of a
//    block's amax): rms 2%, max 8% (seen: rms 0.30%, max 1.5%; cpu and ref agree).
// Attention accuracy with a q8_0 cache is thus about 3x bf16's error, ~30x below Q4_0 weights'.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "engine_test_util.hpp"
#include "support/model_logits.hpp"

using namespace sgl;
using kernels::DType;

namespace {

std::string head32_model_path() {
  static std::string path = [] {
    SyntheticSpec s = synthetic_preset("tiny");
    s.n_head = 2;
    s.n_head_kv = 1;  // head_dim 64 / 2 = 32
    s.n_ctx = 512;
    s.seed = 9;
    std::string p = (test::scratch_dir("kv_cache_dtype") / "head32.gguf").string();
    write_synthetic_gguf(s, p);
    return p;
  }();
  return path;
}

}  // namespace

TEST_CASE("f16, bf16 and q8_0 KV caches give logits close to an f32 cache") {
  const std::vector<int32_t> prompt = {1, 17, 300, 42, 5, 99, 260, 7, 311, 64, 2, 128};
  for (const char* device : {"ref", "cpu"}) {
    const auto base = test::prefill_decode_logits(head32_model_path(), device, prompt, {.kv_dtype = DType::F32, .kv_pages = 4});
    double mean = 0, var = 0;
    for (float v : base) mean += v;
    mean /= static_cast<double>(base.size());
    for (float v : base) var += (v - mean) * (v - mean);
    const double spread = std::sqrt(var / static_cast<double>(base.size()));
    REQUIRE(spread > 0.5);
    struct Tol {
      DType kv;
      double rms, max;
    };
    for (const Tol& tol : {Tol{DType::F16, 1e-3, 5e-3}, Tol{DType::BF16, 1e-2, 4e-2}, Tol{DType::Q8_0, 2e-2, 8e-2}}) {
      const DType kv = tol.kv;
      const auto got = test::prefill_decode_logits(head32_model_path(), device, prompt, {.kv_dtype = kv, .kv_pages = 4});
      REQUIRE(got.size() == base.size());
      double worst = 0, sq = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        double e = std::fabs(static_cast<double>(got[i]) - base[i]);
        worst = std::max(worst, e);
        sq += e * e;
      }
      const double rms = std::sqrt(sq / static_cast<double>(got.size()));
      MESSAGE(fmt::format("{} KV {}: rms {:.2e}, max {:.2e} (spread {:.3f})", device, kernels::dtype_name(kv), rms,
                          worst, spread));
      CHECK(rms <= tol.rms * spread);
      CHECK(worst <= tol.max * spread);
      CHECK(rms > 0);  // the cache really stored the narrower type
    }
  }
}

TEST_CASE("EngineConfig::kv_cache_dtype reaches the engine for every accepted value") {
  std::mt19937 rng(3);
  const auto prompt = test::random_prompt(rng, 9);
  std::map<std::string, std::vector<float>> lp;
  for (const char* kv : {"auto", "f16", "bf16", "f32", "q8_0"}) {
    EngineConfig c = test::tiny_config();
    c.model_path = head32_model_path();
    c.kv_cache_dtype = kv;
    c.max_total_tokens = 64;
    Engine eng(c);
    Request r = test::greedy_request(prompt, 5);
    r.sampling.return_logprob = true;
    Result res = eng.generate(r);
    INFO(kv);
    REQUIRE(res.output_logprobs.size() == 5);
    for (const TokenLogprob& t : res.output_logprobs) lp[kv].push_back(t.logprob);
  }
  // "auto" is f16; the narrower caches change the numbers a little, not the greedy path here.
  CHECK(lp["auto"] == lp["f16"]);
  CHECK(lp["bf16"] != lp["f32"]);
  CHECK(lp["f16"] != lp["f32"]);
  CHECK(lp["q8_0"] != lp["f32"]);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(std::fabs(lp["bf16"][i] - lp["f32"][i]) < 0.05);
    CHECK(std::fabs(lp["f16"][i] - lp["f32"][i]) < 0.01);
    CHECK(std::fabs(lp["q8_0"][i] - lp["f32"][i]) < 0.1);
  }
}

TEST_CASE("a q8_0 KV cache needs head_dim to be a multiple of 32") {
  EngineConfig c = test::tiny_config();  // head_dim 16
  c.kv_cache_dtype = "q8_0";
  c.max_total_tokens = 64;
  try {
    Engine eng(c);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Status::kUnsupported);
    CHECK(std::string(e.what()).find("multiple of 32 (got 16)") != std::string::npos);
  }
  c.kv_cache_dtype = "q4_0";
  try {
    c.validate();
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("auto, f16, bf16, f32, q8_0") != std::string::npos);
  }
}
