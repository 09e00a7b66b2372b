#include "support/model_logits.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <span>

#include "core/kv/kv_pool.hpp"
#include "core/model/model_loader.hpp"
#include "core/model/transformer.hpp"
#include "kernels/backend.hpp"

namespace sgl::test {

std::vector<float> prefill_decode_logits(const std::string& path, const std::string& device,
                                         const std::vector<int32_t>& prompt, const LogitsRun& run) {
  constexpr int kPageSize = 4;
  REQUIRE(prompt.size() > run.decode_tokens);
  auto model = std::make_shared<LoadedModel>(load_model(path));
  auto backend = kernels::create_backend(device, kernels::BackendOptions{2, ""});
  Transformer tf(model, *backend);
  const ModelConfig& c = model->config;
  KvPool pool(kv_pool_config_for(c, kPageSize, run.kv_pages, run.kv_dtype), *backend);
  std::vector<int32_t> pages;
  REQUIRE(pool.alloc(run.kv_pages, pages));
  if (run.reverse_pages) std::reverse(pages.begin(), pages.end());

  const size_t split = prompt.size() - run.decode_tokens;
  ForwardBatch b;
  b.add_sequence(std::span(prompt).first(split), 0, pages, kPageSize, ForwardBatch::Logits::kAll);
  std::vector<float> out(b.logit_rows.size() * c.n_vocab);
  tf.forward(b, pool.layers(), out.data());
  for (size_t i = split; i < prompt.size(); ++i) {
    ForwardBatch d;
    d.add_sequence(std::span(prompt).subspan(i, 1), static_cast<int32_t>(i), pages, kPageSize,
                   ForwardBatch::Logits::kLast);
    std::vector<float> l(c.n_vocab);
    tf.forward(d, pool.layers(), l.data());
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

}  // namespace sgl::test
