// Forward-pass conformance against llama.cpp: the four architecture goldens (logits at every
// position of two sequences, and a greedy continuation) and stories260K's greedy continuations.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/kv/kv_pool.hpp"
#include "core/model/transformer.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using nlohmann::json;

namespace {

struct Runner {
  std::shared_ptr<const LoadedModel> model;
  std::unique_ptr<kernels::Backend> backend;
  std::unique_ptr<Transformer> tf;
  std::unique_ptr<KvPool> pool;
  std::vector<int32_t> pages;

  Runner(const std::string& path, const std::string& device, kernels::DType kv_dtype) {
    model = std::make_shared<LoadedModel>(load_model(path));
    backend = kernels::create_backend(device);
    tf = std::make_unique<Transformer>(model, *backend);
    const ModelConfig& c = model->config;
    KvPoolConfig kc{static_cast<int>(c.n_layer), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), 16, 16,
                    kv_dtype};
    pool = std::make_unique<KvPool>(kc, *backend);
    REQUIRE(pool->alloc(16, pages));
    // Use the pages in a scrambled order so the page table matters.
    std::reverse(pages.begin(), pages.end());
  }

  // Runs `tokens` after `past` positions; returns logits for every new token or the last.
  std::vector<float> run(const std::vector<int32_t>& tokens, int32_t past, bool all) {
    ForwardBatch b;
    b.add_sequence(tokens, past, pages, pool->page_size(),
                   all ? ForwardBatch::Logits::kAll : ForwardBatch::Logits::kLast);
    std::vector<float> logits(b.logit_rows.size() * model->config.n_vocab);
    tf->forward(b, pool->layers(), logits.data());
    return logits;
  }
};

int32_t argmax(const float* v, int64_t n) { return static_cast<int32_t>(std::max_element(v, v + n) - v); }

std::vector<int32_t> ids(const json& j) { return j.get<std::vector<int32_t>>(); }

double max_diff(const std::vector<float>& got, const json& rows, int64_t n_vocab) {
  double worst = 0;
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t i = 0; i < n_vocab; ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(got[r * n_vocab + i]) - rows[r][i].get<double>()));
  return worst;
}

void check_arch(const std::filesystem::path& shared, const std::string& name, const std::string& device) {
  json g = json::parse(std::ifstream(shared / "conformance/arch" / (name + ".json")));
  Runner r((shared / "models/synthetic" / (name + ".gguf")).string(), device, kernels::DType::F32);
  const int64_t nv = r.model->config.n_vocab;
  INFO(name << " on " << device);

  auto la = r.run(ids(g["seq_a"]), 0, true);
  double da = max_diff(la, g["logits_a"], nv);
  MESSAGE(name << " [" << device << "] seq_a max |diff| = " << da);
  CHECK(da <= 1e-3);

  Runner rb((shared / "models/synthetic" / (name + ".gguf")).string(), device, kernels::DType::F32);
  auto lb = rb.run(ids(g["seq_b"]), 0, true);
  double db = max_diff(lb, g["logits_b"], nv);
  MESSAGE(name << " [" << device << "] seq_b max |diff| = " << db);
  CHECK(db <= 1e-3);

  // Greedy continuation one token at a time through the KV cache.
  auto seq = ids(g["seq_a"]);
  int32_t next = argmax(la.data() + (seq.size() - 1) * nv, nv);
  std::vector<int32_t> got;
  for (size_t i = 0; i < g["greedy_a_ids"].size(); ++i) {
    got.push_back(next);
    auto l = r.run({next}, static_cast<int32_t>(seq.size()), false);
    seq.push_back(next);
    next = argmax(l.data(), nv);
  }
  CHECK(got == ids(g["greedy_a_ids"]));
}

}  // namespace

TEST_CASE("architecture goldens: llama GQA, llama3 rope factors, qwen2, qwen3") {
  auto shared = test::require_shared("architecture goldens");
  if (!shared) return;
  for (const char* name : {"tiny-llama-gqa", "tiny-llama3-ropescale", "tiny-qwen2", "tiny-qwen3"}) {
    check_arch(*shared, name, "cpu");
    check_arch(*shared, name, "ref");
  }
}

TEST_CASE("stories260K reproduces the reference greedy continuations token for token") {
  auto shared = test::require_shared("stories260K greedy");
  if (!shared) return;
  json cases = json::parse(std::ifstream(*shared / "conformance/stories260K_greedy.json"));
  for (kernels::DType kv : {kernels::DType::F32, kernels::DType::F16}) {
    int passed = 0;
    for (const json& c : cases) {
      Runner r((*shared / "models/stories260K.gguf").string(), "cpu", kv);
      const int64_t nv = r.model->config.n_vocab;
      auto prompt = ids(c["prompt_ids"]);
      auto logits = r.run(prompt, 0, false);
      std::vector<int32_t> got;
      int32_t past = static_cast<int32_t>(prompt.size());
      for (size_t i = 0; i < c["generated_ids"].size(); ++i) {
        int32_t t = argmax(logits.data(), nv);
        got.push_back(t);
        logits = r.run({t}, past++, false);
      }
      INFO("prompt: " << c["prompt"].get<std::string>() << " kv " << kernels::dtype_name(kv));
      CHECK(got == ids(c["generated_ids"]));
      passed += got == ids(c["generated_ids"]);
    }
    MESSAGE("stories260K greedy (KV " << kernels::dtype_name(kv) << "): " << passed << "/" << cases.size() << " match");
  }
}
