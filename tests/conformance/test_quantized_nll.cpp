// Perplexity-style check of online quantization on a real model: the mean negative
// log-likelihood (nats per token) of stories260K over a fixed English text, for F32 weights vs
// the same model quantized at load time to Q8_0, Q4_0 and (where this build supports it) Q4_K.
//
// stories260K: n_embd 64, n_ff 172, 5 layers, vocab 512. Rows of 64 (every matrix but ffn_down)
// fit 32-blocks but not 256-blocks; ffn_down's rows of 172 fit neither, so in every quantized
// model the 5 ffn_down matrices stay F32, and with Q4_K the other matrices fall back (Q5_0 if
// supported, else Q8_0): the "Q4_K" figure is then really the fallback type's. The test prints
// the counts and NLLs.
//
// Measured (cpu backend, 208 tokens): F32 1.0626 nats; Q8_0 1.0596 (-0.0030: the cpu backend
// also rounds activations to 8 bits for quantized matmuls); Q4_0 1.0970 (+0.0344); "Q4_K"
// 1.0994 (+0.0368: 31 matrices fell back to Q5_0, token_embd is Q8_0, 5 kept F32). The ref
// backend gives -0.0016 / +0.0331 / +0.0347. (Q5_0 has half Q4_0's weight error but, on this
// 260K-parameter model, the same NLL gap: which weights move matters more than how far.)
// Bounds are ~3x those gaps (the quantizers are deterministic; gaps move only when kernels or
// rounding change): Q8_0 0.01 nats, Q4_0 0.1 nats, Q4_K 0.1 nats.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>

#include "core/kv/kv_pool.hpp"
#include "core/model/transformer.hpp"
#include "core/model/weight_quantizer.hpp"
#include "sgl/tokenizer.hpp"
#include "support/test_support.hpp"

using namespace sgl;
using kernels::DType;

namespace {

// A TinyStories-style passage (the domain stories260K was trained on), written for this test.
constexpr const char* kText =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
    "red ball. One day, she saw a big dog near the tree. The dog was sad because it had lost its bone. "
    "Lily wanted to help the dog. She looked under the bench and behind the flowers. At last she found the "
    "bone in the sand. The dog was very happy and wagged its tail. Lily smiled and said, \"You are my friend "
    "now.\" They played together all day, and when the sun went down, Lily went home to tell her mom about "
    "her new friend.";

struct Nll {
  double mean = 0;
  int tokens = 0;
};

Nll mean_nll(const std::string& path, const std::string& quant, const std::vector<int32_t>& ids, QuantizeReport* rep) {
  LoadedModel lm = load_model(path);
  if (quant != "none") lm.tensors = quantize_store(lm.tensors, *parse_quantization(quant), 2, rep);
  auto model = std::make_shared<LoadedModel>(std::move(lm));
  auto backend = kernels::create_backend("cpu", kernels::BackendOptions{2, ""});
  Transformer tf(model, *backend);
  const ModelConfig& c = model->config;
  const int page = 16;
  const int64_t n_pages = (static_cast<int64_t>(ids.size()) + page - 1) / page;
  KvPool pool(KvPoolConfig{static_cast<int>(c.n_layer), static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), page,
                           n_pages, DType::F32},
              *backend);
  std::vector<int32_t> pages;
  REQUIRE(pool.alloc(n_pages, pages));
  ForwardBatch b;
  b.add_sequence(ids, 0, pages, page, ForwardBatch::Logits::kAll);
  std::vector<float> logits(b.logit_rows.size() * c.n_vocab);
  tf.forward(b, pool.layers(), logits.data());
  Nll r;
  double sum = 0;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    const float* l = logits.data() + i * c.n_vocab;
    double mx = l[0];
    for (int64_t v = 1; v < c.n_vocab; ++v) mx = std::max(mx, static_cast<double>(l[v]));
    double z = 0;
    for (int64_t v = 0; v < c.n_vocab; ++v) z += std::exp(l[v] - mx);
    sum += mx + std::log(z) - l[ids[i + 1]];
    ++r.tokens;
  }
  r.mean = sum / r.tokens;
  return r;
}

}  // namespace

TEST_CASE("stories260K mean NLL with online-quantized weights stays close to F32") {
  auto shared = test::require_shared("stories260K quantized NLL");
  if (!shared) return;
  const std::string path = (*shared / "models/stories260K.gguf").string();
  Tokenizer tok = Tokenizer::from_gguf_file(path);
  std::vector<int32_t> ids = tok.encode(kText, /*add_special=*/false);
  ids.insert(ids.begin(), tok.bos_id());
  REQUIRE(ids.size() > 100);

  const Nll f32 = mean_nll(path, "none", ids, nullptr);
  MESSAGE(fmt::format("stories260K F32: mean NLL {:.4f} nats over {} tokens", f32.mean, f32.tokens));
  CHECK(f32.mean > 0.3);
  CHECK(f32.mean < 3.0);  // the model knows this kind of text (uniform would be ln 512 = 6.2)

  struct Case {
    const char* quant;
    double bound;  // |NLL - F32 NLL| in nats
  };
  std::vector<Case> cases = {{"q8_0", 0.01}, {"q4_0", 0.1}};
  if (kernels::dtype_info(DType::Q4_K).supported) cases.push_back({"q4_k", 0.1});
  for (const Case& c : cases) {
    QuantizeReport rep;
    const Nll q = mean_nll(path, c.quant, ids, &rep);
    MESSAGE(fmt::format("stories260K {}: mean NLL {:.4f} (F32 {:.4f}, diff {:+.4f}); {} converted, {} fell back, "
                        "{} kept",
                        c.quant, q.mean, f32.mean, q.mean - f32.mean, rep.quantized, rep.fallbacks, rep.kept));
    CHECK(q.tokens == f32.tokens);
    CHECK(rep.kept == 5);  // the ffn_down matrices (rows of 172)
    CHECK(std::fabs(q.mean - f32.mean) <= c.bound);
    CHECK(q.mean != f32.mean);  // the weights really changed
  }
}
