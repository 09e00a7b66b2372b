#include "support/golden_logits.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/kv/kv_pool.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/transformer.hpp"
#include "kernels/backend.hpp"

namespace sgl::test {
namespace {

using nlohmann::json;

constexpr int kPageSize = 16;
constexpr int kPages = 16;

std::vector<int32_t> ids(const json& j) { return j.get<std::vector<int32_t>>(); }

double max_diff(const float* got, const json& rows, int64_t n_vocab) {
  double worst = 0;
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t i = 0; i < n_vocab; ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(got[r * n_vocab + i]) - rows[r][i].get<double>()));
  return worst;
}

// One model on one backend with a KV pool whose pages are handed out in reverse, so the page
// table matters. Each sequence gets its own half of the pages.
struct Runner {
  std::shared_ptr<const LoadedModel> model;
  std::unique_ptr<kernels::Backend> backend;
  std::unique_ptr<Transformer> tf;
  std::unique_ptr<KvPool> pool;
  std::vector<int32_t> pages;

  Runner(const std::string& path, const std::string& device) {
    model = std::make_shared<LoadedModel>(load_model(path));
    backend = kernels::create_backend(device, kernels::BackendOptions{2, ""});
    tf = std::make_unique<Transformer>(model, *backend);
    const ModelConfig& c = model->config;
    pool = std::make_unique<KvPool>(kv_pool_config_for(c, kPageSize, kPages, kernels::DType::F32), *backend);
    REQUIRE(pool->alloc(kPages, pages));
    std::reverse(pages.begin(), pages.end());
  }
  std::span<const int32_t> seq_pages(int s) const { return std::span(pages).subspan(s * kPages / 2, kPages / 2); }
  int64_t n_vocab() const { return model->config.n_vocab; }

  std::vector<float> forward(const ForwardBatch& b) {
    std::vector<float> logits(b.logit_rows.size() * n_vocab());
    tf->forward(b, pool->layers(), logits.data());
    return logits;
  }
};

int32_t argmax(const float* v, int64_t n) { return static_cast<int32_t>(std::max_element(v, v + n) - v); }

}  // namespace

std::filesystem::path data_dir() { return SGL_TEST_DATA_DIR; }

void check_logits_golden(const std::filesystem::path& gguf, const std::filesystem::path& golden,
                         const std::string& device, double tol) {
  std::ifstream in(golden);
  REQUIRE_MESSAGE(in.good(), "cannot read " << golden);
  const json g = json::parse(in);
  const std::string name = gguf.stem().string();
  INFO(name << " on " << device);
  const auto a = ids(g["seq_a"]), bseq = ids(g["seq_b"]);
  REQUIRE(a.size() + ids(g["greedy_a_ids"]).size() <= static_cast<size_t>(kPages / 2 * kPageSize));
  REQUIRE(bseq.size() <= static_cast<size_t>(kPages / 2 * kPageSize));

  // Each sequence alone, as one prefill batch.
  Runner r(gguf.string(), device);
  const int64_t nv = r.n_vocab();
  REQUIRE(g["n_vocab"].get<int64_t>() == nv);
  ForwardBatch fa;
  fa.add_sequence(a, 0, r.seq_pages(0), kPageSize, ForwardBatch::Logits::kAll);
  auto la = r.forward(fa);
  const double da = max_diff(la.data(), g["logits_a"], nv);
  ForwardBatch fb;
  fb.add_sequence(bseq, 0, r.seq_pages(1), kPageSize, ForwardBatch::Logits::kAll);
  const double db = max_diff(r.forward(fb).data(), g["logits_b"], nv);
  MESSAGE(name << " [" << device << "] max |diff| seq_a " << da << ", seq_b " << db);
  CHECK(da <= tol);
  CHECK(db <= tol);

  // Both sequences in one batch: tokens of different sequences share the experts' passes.
  {
    Runner rb(gguf.string(), device);
    ForwardBatch both;
    both.add_sequence(a, 0, rb.seq_pages(0), kPageSize, ForwardBatch::Logits::kAll);
    both.add_sequence(bseq, 0, rb.seq_pages(1), kPageSize, ForwardBatch::Logits::kAll);
    auto l = rb.forward(both);
    const double dab = std::max(max_diff(l.data(), g["logits_a"], nv), max_diff(l.data() + a.size() * nv, g["logits_b"], nv));
    MESSAGE(name << " [" << device << "] max |diff| seq_a + seq_b in one batch " << dab);
    CHECK(dab <= tol);
  }

  // Greedy continuation of seq_a one token at a time through the KV cache.
  int32_t next = argmax(la.data() + (a.size() - 1) * nv, nv);
  std::vector<int32_t> got;
  int32_t past = static_cast<int32_t>(a.size());
  for (size_t i = 0; i < g["greedy_a_ids"].size(); ++i) {
    got.push_back(next);
    ForwardBatch d;
    const int32_t tok[1] = {next};
    d.add_sequence(tok, past++, r.seq_pages(0), kPageSize, ForwardBatch::Logits::kLast);
    next = argmax(r.forward(d).data(), nv);
  }
  CHECK(got == ids(g["greedy_a_ids"]));
}

}  // namespace sgl::test
