#include "core/sample/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "core/sample/sampler_chain.hpp"
#include "core/support/check.hpp"

namespace sgl {
namespace {

constexpr float kGreedyTemperature = 1e-6f;  // SGLang's _SAMPLING_EPS

// Scratch for the candidate list: one per thread, so that a 150k vocabulary does not allocate
// per token or per request.
std::vector<Candidate>& scratch() {
  thread_local std::vector<Candidate> v;
  return v;
}
std::vector<Candidate>& scratch_logprobs() {
  thread_local std::vector<Candidate> v;
  return v;
}

// log_softmax of the processed row for the chosen token and the top n (see SampleResult).
void fill_logprobs(const float* logits, int64_t n_vocab, int n_top, SampleResult& r) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n_vocab; ++i) mx = std::max(mx, logits[i]);  // NaN never wins
  double s = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i)
    if (logits[i] > -std::numeric_limits<float>::infinity()) s += std::exp(static_cast<double>(logits[i]) - mx);
  const double lse = mx + std::log(s);
  auto lp = [&](int64_t i) {
    const float l = logits[i];
    return l > -std::numeric_limits<float>::infinity() ? static_cast<float>(l - lse)
                                                       : -std::numeric_limits<float>::infinity();
  };
  r.logprob = lp(r.token);
  if (n_top <= 0) return;
  auto& all = scratch_logprobs();
  all.clear();
  all.reserve(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i)
    if (!std::isnan(logits[i])) all.push_back({static_cast<int32_t>(i), logits[i]});
  const size_t n = std::min(all.size(), static_cast<size_t>(n_top));
  auto order = [](const Candidate& a, const Candidate& b) {
    return a.value > b.value || (a.value == b.value && a.id < b.id);
  };
  std::partial_sort(all.begin(), all.begin() + n, all.end(), order);
  r.top_logprobs.reserve(n);
  for (size_t i = 0; i < n; ++i) r.top_logprobs.emplace_back(all[i].id, lp(all[i].id));
}

}  // namespace

SamplerState::SamplerState(const SamplingOptions& o, std::span<const int32_t> prompt) : opts_(o), rng_(o.seed) {
  if (opts_.repetition_penalty != 1.0f) seen_.insert(prompt.begin(), prompt.end());
}

void SamplerState::accept(int32_t token) {
  ++n_generated_;
  ++output_counts_[token];
  if (opts_.repetition_penalty != 1.0f) seen_.insert(token);
}

bool SamplerState::greedy() const { return opts_.temperature <= kGreedyTemperature || opts_.top_k == 1; }

SampleResult sample_token(float* logits, int64_t n_vocab, SamplerState& st, const uint32_t* allowed) {
  SGL_CHECK(logits != nullptr && n_vocab > 0, "sample_token needs a logits row (n_vocab {})", n_vocab);
  SampleContext c;
  c.logits = logits;
  c.n_vocab = n_vocab;
  c.st = &st;
  c.rng = &st;
  c.allowed = allowed;
  c.cand = &scratch();
  run_chain(st.greedy() ? greedy_chain() : sampling_chain(), c);
  SGL_CHECK(c.picked >= 0 && c.picked < n_vocab, "sampler chain picked token {} of {}", c.picked, n_vocab);
  SampleResult r;
  r.token = c.picked;
  const auto& o = st.options();
  if (o.return_logprob || o.top_logprobs_num > 0) fill_logprobs(logits, n_vocab, o.top_logprobs_num, r);
  return r;
}

std::vector<std::pair<int32_t, float>> candidate_distribution(float* logits, int64_t n_vocab, const SamplerState& st,
                                                              const uint32_t* allowed) {
  SGL_CHECK(logits != nullptr && n_vocab > 0, "candidate_distribution needs a logits row (n_vocab {})", n_vocab);
  SampleContext c;
  c.logits = logits;
  c.n_vocab = n_vocab;
  c.st = &st;
  c.allowed = allowed;
  c.cand = &scratch();
  std::vector<std::pair<int32_t, float>> out;
  if (st.greedy()) {
    run_chain(greedy_chain(), c);
    out.emplace_back(c.picked, 1.0f);
    return out;
  }
  auto chain = sampling_chain();
  SGL_CHECK(std::string_view(chain.back().name) == "dist", "the sampling chain must end with dist");
  run_chain(chain.first(chain.size() - 1), c);
  for (const auto& x : *c.cand)
    if (x.value > 0.0f) out.emplace_back(x.id, static_cast<float>(x.value / c.mass));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sgl
