// Shared by the engine/scheduler tests: a tiny synthetic model on disk, engine configs, and a
// direct greedy reference computed with the Transformer alone (no scheduler, no cache).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/kv/kv_pool.hpp"
#include "core/model/synthetic_model.hpp"
#include "core/model/transformer.hpp"
#include "sgl/engine.hpp"
#include "support/test_support.hpp"

namespace sgl::test {

inline std::string tiny_model_path() {
  static std::string path = [] {
    auto dir = scratch_dir("engine_model");
    SyntheticSpec s = synthetic_preset("tiny");
    s.n_ctx = 512;
    std::string p = (dir / "tiny.gguf").string();
    write_synthetic_gguf(s, p);
    return p;
  }();
  return path;
}

// The ref backend's matmul gives every row the same result whatever the batch size, which
// bitwise batch-invariance checks need. SGL_ENGINE_TEST_DEVICE=cpu runs the same checks on the
// optimized backend.
inline EngineConfig tiny_config() {
  EngineConfig c;
  c.model_path = tiny_model_path();
  const char* dev = std::getenv("SGL_ENGINE_TEST_DEVICE");
  c.device = dev && *dev ? dev : "ref";
  c.threads = 1;
  c.max_total_tokens = 4096;
  c.kv_cache_dtype = "f32";
  c.random_seed = 7;
  return c;
}

inline std::vector<int32_t> random_prompt(std::mt19937& rng, int len, int32_t vocab = 512) {
  std::uniform_int_distribution<int32_t> d(3, vocab - 1);
  std::vector<int32_t> v(static_cast<size_t>(len));
  for (auto& t : v) t = d(rng);
  return v;
}

inline Request greedy_request(std::vector<int32_t> ids, int max_new) {
  Request r;
  r.input_ids = std::move(ids);
  r.sampling.temperature = 0.0f;
  r.sampling.max_new_tokens = max_new;
  r.sampling.ignore_eos = true;
  return r;
}

// Greedy continuation computed by feeding the Transformer directly, one token at a time.
inline std::vector<int32_t> direct_greedy(const std::string& model_path, const std::string& device,
                                          const std::vector<int32_t>& prompt, int n) {
  auto model = std::make_shared<LoadedModel>(load_model(model_path));
  auto backend = kernels::create_backend(device, {1, ""});
  Transformer tf(model, *backend);
  const ModelConfig& c = model->config;
  KvPoolConfig kc{static_cast<int>(c.n_layer), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), 1,
                  static_cast<int64_t>(prompt.size()) + n + 1, kernels::DType::F32};
  KvPool pool(kc, *backend);
  std::vector<int32_t> pages;
  pool.alloc(kc.n_pages, pages);
  std::vector<float> logits(static_cast<size_t>(c.n_vocab));
  std::vector<int32_t> out;
  std::vector<int32_t> feed = prompt;
  int32_t past = 0;
  for (int i = 0; i < n; ++i) {
    ForwardBatch b;
    b.add_sequence(feed, past, pages, 1, ForwardBatch::Logits::kLast);
    tf.forward(b, pool.layers(), logits.data());
    past += static_cast<int32_t>(feed.size());
    int32_t t = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(t);
    feed = {t};
  }
  return out;
}

}  // namespace sgl::test
