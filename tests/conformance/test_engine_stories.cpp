// stories260K through the Engine: the four reference greedy continuations (64 tokens, from
// prompt_ids, not stopped at EOS/BOS as the llama.cpp reference was run) come out token for
// token, whether each prompt runs alone or all run batched together, with the cache on or off.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sgl/engine.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using nlohmann::json;

namespace {

Request reference_request(const json& c) {
  Request r;
  r.input_ids = c["prompt_ids"].get<std::vector<int32_t>>();
  r.sampling.temperature = 0.0f;
  r.sampling.max_new_tokens = static_cast<int>(c["generated_ids"].size());
  r.sampling.ignore_eos = true;  // the reference generated n_predict tokens without stopping
  return r;
}

}  // namespace

TEST_CASE("stories260K greedy continuations through the Engine match the reference") {
  auto shared = test::require_shared("stories260K through the Engine");
  if (!shared) return;
  json cases = json::parse(std::ifstream(*shared / "conformance/stories260K_greedy.json"));
  REQUIRE(cases.size() >= 1);
  for (const char* device : {"cpu", "ref"}) {
    for (bool radix : {true, false}) {
      EngineConfig cfg;
      cfg.model_path = (*shared / "models/stories260K.gguf").string();
      cfg.device = device;
      cfg.threads = 2;
      cfg.max_total_tokens = 2048;
      cfg.kv_cache_dtype = "f32";
      cfg.disable_radix_cache = !radix;
      Engine eng(cfg);
      INFO("device " << std::string(device) << ", radix " << radix);
      // Alone, one after the other.
      int alone = 0;
      for (const json& c : cases) {
        Result r = eng.generate(reference_request(c));
        CHECK(r.output_ids == c["generated_ids"].get<std::vector<int32_t>>());
        alone += r.output_ids == c["generated_ids"].get<std::vector<int32_t>>();
      }
      // All at once, batched.
      std::vector<RequestHandle> hs;
      for (const json& c : cases) hs.push_back(eng.submit(reference_request(c)));
      int batched = 0;
      for (size_t i = 0; i < hs.size(); ++i) {
        Result r = hs[i].result();
        CHECK(r.output_ids == cases[i]["generated_ids"].get<std::vector<int32_t>>());
        batched += r.output_ids == cases[i]["generated_ids"].get<std::vector<int32_t>>();
      }
      MESSAGE("stories260K via Engine [" << std::string(device) << ", radix " << (radix ? "on" : "off") << "]: alone " << alone << "/"
                                         << cases.size() << ", batched " << batched << "/" << cases.size());
      CHECK(eng.flush_cache());
      CHECK(eng.stats().kv_pages_used == 0);
    }
  }
}
