// A synthetic model's GGUF file and HF directory give the same logits through the forward pass
// (the HF form keeps llama q/k in the rotate-half layout and is run with NEOX rope, the GGUF
// form has them permuted to pairs and runs with NORM rope), and the logits are spread enough
// (standard deviation around 1-2) for greedy decoding to be a meaningful test.
#include <doctest/doctest.h>

#include <cmath>

#include "core/kv/kv_pool.hpp"
#include "core/model/synthetic_model.hpp"
#include "core/model/transformer.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using kernels::DType;

namespace {

std::vector<float> all_logits(const std::string& path, const std::vector<int32_t>& tokens) {
  auto model = std::make_shared<const LoadedModel>(load_model(path));
  auto backend = kernels::create_backend("ref");
  Transformer tf(model, *backend);
  const ModelConfig& c = model->config;
  KvPoolConfig kc{static_cast<int>(c.n_layer), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), 8, 8,
                  DType::F32};
  KvPool pool(kc, *backend);
  std::vector<int32_t> pages;
  REQUIRE(pool.alloc(8, pages));
  ForwardBatch b;
  b.add_sequence(tokens, 0, pages, pool.page_size(), ForwardBatch::Logits::kAll);
  std::vector<float> logits(b.logit_rows.size() * c.n_vocab);
  tf.forward(b, pool.layers(), logits.data());
  return logits;
}

void check_same_logits(const SyntheticSpec& s, const std::string& tag) {
  INFO(tag);
  auto dir = test::scratch_dir("synth-logits-" + tag);
  write_synthetic_gguf(s, (dir / "m.gguf").string());
  write_synthetic_hf(s, (dir / "hf").string());
  const std::vector<int32_t> tokens = {1, 300, 17, 450, 299, 5, 260, 261, 42, 300, 7};
  std::vector<float> g = all_logits((dir / "m.gguf").string(), tokens);
  std::vector<float> h = all_logits((dir / "hf").string(), tokens);
  REQUIRE(g.size() == h.size());
  double worst = 0, sum = 0, sum2 = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(g[i]) - h[i]));
    sum += g[i];
    sum2 += static_cast<double>(g[i]) * g[i];
  }
  const double mean = sum / g.size(), sd = std::sqrt(sum2 / g.size() - mean * mean);
  MESSAGE(tag << ": max |GGUF - HF| = " << worst << ", logit std = " << sd);
  CHECK(worst < 1e-3);
  CHECK(sd > 0.5);
  CHECK(sd < 4.0);
}

}  // namespace

TEST_CASE("synthetic GGUF and HF forms give the same logits") {
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    SyntheticSpec s = synthetic_preset("tiny", arch);
    check_same_logits(s, arch);
  }
  SyntheticSpec q = synthetic_preset("tiny", "llama");
  q.weight_type = DType::Q8_0;
  check_same_logits(q, "llama-q8_0");
  SyntheticSpec r = synthetic_preset("tiny", "llama");
  r.llama3_rope = true;
  r.tied_embeddings = true;
  r.n_head_kv = 1;
  check_same_logits(r, "llama-llama3-tied-mqa");
}
