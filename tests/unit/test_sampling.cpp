// Sampling: the filters keep exactly the right token sets (crafted logits and a naive
// full-sort reference on random rows), seeded reproducibility, empirical frequencies against
// softmax, penalties against their definitions, grammar mask, greedy tie-break, min_new_tokens,
// logprobs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/sample/sampler.hpp"
#include "core/sample/sampler_chain.hpp"
#include "sgl/error.hpp"

using namespace sgl;
using Dist = std::vector<std::pair<int32_t, float>>;

namespace {

SamplingOptions opts(float temperature = 1.0f) {
  SamplingOptions o;
  o.temperature = temperature;
  return o;
}

Dist dist_of(std::vector<float> logits, const SamplingOptions& o, const uint32_t* allowed = nullptr) {
  SamplerState st(o);
  return candidate_distribution(logits.data(), static_cast<int64_t>(logits.size()), st, allowed);
}

std::vector<int32_t> ids_of(const Dist& d) {
  std::vector<int32_t> ids;
  for (auto& [t, p] : d) ids.push_back(t);
  return ids;
}

std::vector<float> log_of(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

// Naive reference: full softmax, full sort, top-k, renormalize, top-p, min-p, renormalize.
Dist reference_dist(const std::vector<float>& logits, const SamplingOptions& o) {
  const size_t n = logits.size();
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (o.top_k > 0 && static_cast<size_t>(o.top_k) < n) order.resize(o.top_k);
  double mx = logits[order[0]] / o.temperature, s = 0.0;
  std::vector<double> p;
  for (int32_t t : order) p.push_back(std::exp(logits[t] / o.temperature - mx)), s += p.back();
  for (double& x : p) x /= s;
  size_t keep = p.size();
  if (o.top_p < 1.0f) {
    double cum = 0.0;
    for (keep = 0; keep < p.size();) {
      cum += p[keep++];
      if (cum >= o.top_p) break;
    }
  }
  const double thr = o.min_p * p[0];
  Dist out;
  double kept = 0.0;
  for (size_t i = 0; i < keep; ++i)
    if (p[i] >= thr) kept += p[i];
  for (size_t i = 0; i < keep; ++i)
    if (p[i] >= thr) out.emplace_back(order[i], static_cast<float>(p[i] / kept));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("sampling: top-k keeps the k largest, renormalized") {
  auto o = opts();
  o.top_k = 2;
  auto d = dist_of({1, 5, 3, 4, 2}, o);
  REQUIRE(ids_of(d) == std::vector<int32_t>{1, 3});
  const double e = std::exp(-1.0);
  CHECK(d[0].second == doctest::Approx(1 / (1 + e)).epsilon(1e-6));
  CHECK(d[1].second == doctest::Approx(e / (1 + e)).epsilon(1e-6));
  // Ties at the boundary go to the lower id.
  o.top_k = 2;
  CHECK(ids_of(dist_of({3, 1, 3, 3}, o)) == std::vector<int32_t>{0, 2});
  o.top_k = 10;  // larger than the vocabulary: off
  CHECK(dist_of({1, 2, 3}, o).size() == 3);
}

TEST_CASE("sampling: top-p keeps the smallest prefix reaching the mass") {
  auto o = opts();
  auto logits = log_of({0.1, 0.5, 0.15, 0.25});
  o.top_p = 0.7f;  // 0.5 < 0.7 <= 0.75
  auto d = dist_of(logits, o);
  REQUIRE(ids_of(d) == std::vector<int32_t>{1, 3});
  CHECK(d[0].second == doctest::Approx(2.0 / 3).epsilon(1e-5));
  o.top_p = 0.8f;
  CHECK(ids_of(dist_of(logits, o)) == std::vector<int32_t>{1, 2, 3});
  o.top_p = 0.3f;  // the top token alone already exceeds it
  CHECK(ids_of(dist_of(logits, o)) == std::vector<int32_t>{1});
  // After top-k the mass is measured on the renormalized top-k distribution (0.5/0.75 = 0.67).
  o.top_k = 2;
  o.top_p = 0.6f;
  CHECK(ids_of(dist_of(logits, o)) == std::vector<int32_t>{1});
  o.top_p = 0.7f;
  CHECK(ids_of(dist_of(logits, o)) == std::vector<int32_t>{1, 3});
}

TEST_CASE("sampling: min-p is relative to the most likely token") {
  auto o = opts();
  auto logits = log_of({0.1, 0.5, 0.1, 0.3});
  o.min_p = 0.3f;  // threshold 0.15
  auto d = dist_of(logits, o);
  REQUIRE(ids_of(d) == std::vector<int32_t>{1, 3});
  CHECK(d[0].second == doctest::Approx(0.5 / 0.8).epsilon(1e-5));
  o.min_p = 0.19f;  // threshold 0.095: everything
  CHECK(dist_of(logits, o).size() == 4);
  o.min_p = 1.0f;
  CHECK(ids_of(dist_of(logits, o)) == std::vector<int32_t>{1});
}

TEST_CASE("sampling: filters on large random rows equal a full-sort reference") {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const float top_ps[] = {1.0f, 0.95f, 0.5f, 0.999f};
  const int top_ks[] = {-1, 1000, 40, 5000};
  const float min_ps[] = {0.0f, 0.01f, 0.0f, 0.001f};
  for (int trial = 0; trial < 16; ++trial) {
    std::vector<float> logits(5000);
    const float scale = trial % 2 ? 0.2f : 1.0f;  // flat rows make top-p sort deeply
    for (auto& l : logits) l = normal(rng) * scale;
    auto o = opts(trial % 3 ? 0.8f : 1.3f);
    o.top_p = top_ps[trial % 4];
    o.top_k = top_ks[(trial / 4) % 4];
    o.min_p = min_ps[(trial / 2) % 4];
    CAPTURE(trial);
    auto got = dist_of(logits, o);
    auto want = reference_dist(logits, o);
    REQUIRE(ids_of(got) == ids_of(want));
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].second == doctest::Approx(want[i].second).epsilon(1e-4));
  }
}

TEST_CASE("sampling: a fixed seed reproduces the tokens, other seeds differ") {
  std::vector<float> base(50);
  for (size_t i = 0; i < base.size(); ++i) base[i] = static_cast<float>(std::sin(i * 1.7));
  auto draw = [&](uint64_t seed, SamplerState* other) {
    auto o = opts(1.0f);
    o.seed = seed;
    SamplerState st(o);
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i) {
      auto l = base;
      out.push_back(sample_token(l.data(), 50, st).token);
      if (other) {  // another request in the same batch draws in between
        auto l2 = base;
        sample_token(l2.data(), 50, *other);
      }
    }
    return out;
  };
  auto o = opts();
  o.seed = 99;
  SamplerState noise(o);
  auto a = draw(1234, nullptr);
  auto b = draw(1234, &noise);
  auto c = draw(1235, nullptr);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::set<int32_t>(a.begin(), a.end()).size() > 5);
}

TEST_CASE("sampling: empirical frequencies match softmax(logits / T)") {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, -1.0f, 0.5f};
  const float T = 0.7f;
  std::vector<double> p(logits.size());
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) s += p[i] = std::exp(logits[i] / T);
  for (auto& x : p) x /= s;
  auto o = opts(T);
  o.seed = 42;
  SamplerState st(o);
  const int n = 40000;
  std::vector<int> counts(logits.size());
  for (int i = 0; i < n; ++i) {
    auto l = logits;
    ++counts[sample_token(l.data(), static_cast<int64_t>(l.size()), st).token];
  }
  for (size_t i = 0; i < p.size(); ++i) {
    CAPTURE(i);
    // 5 standard deviations of a binomial proportion.
    const double tol = 5 * std::sqrt(p[i] * (1 - p[i]) / n);
    CHECK(std::abs(counts[i] / static_cast<double>(n) - p[i]) < tol);
  }
}

TEST_CASE("sampling: draws never leave the filtered set") {
  auto o = opts(1.5f);
  o.top_k = 3;
  o.top_p = 0.9f;
  o.seed = 5;
  SamplerState st(o);
  std::vector<float> logits = {0.0f, 4.0f, 3.9f, 3.8f, 3.7f, -2.0f};
  auto allowed_set = ids_of(dist_of(logits, o));
  std::map<int32_t, int> seen;
  for (int i = 0; i < 3000; ++i) {
    auto l = logits;
    ++seen[sample_token(l.data(), 6, st).token];
  }
  std::vector<int32_t> got;
  for (auto& [t, n] : seen) got.push_back(t);
  CHECK(got == allowed_set);
  CHECK(allowed_set == std::vector<int32_t>{1, 2, 3});
}

TEST_CASE("sampling: frequency and presence penalties over generated tokens") {
  auto o = opts();
  o.frequency_penalty = 0.5f;
  o.presence_penalty = 0.25f;
  SamplerState st(o, std::vector<int32_t>{0, 0, 0});  // prompt tokens do not count here
  for (int32_t t : {2, 2, 2, 3}) st.accept(t);
  std::vector<float> l = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  candidate_distribution(l.data(), 5, st);
  CHECK(l[0] == 1.0f);
  CHECK(l[1] == 1.0f);
  CHECK(l[2] == doctest::Approx(1.0 - 0.5 * 3 - 0.25));
  CHECK(l[3] == doctest::Approx(1.0 - 0.5 * 1 - 0.25));
  CHECK(l[4] == 1.0f);
  CHECK(st.n_generated() == 4);
}

TEST_CASE("sampling: repetition penalty over prompt and output, by sign") {
  auto o = opts();
  o.repetition_penalty = 2.0f;
  SamplerState st(o, std::vector<int32_t>{1, 1, 2});
  st.accept(3);
  st.accept(99);  // outside this row: ignored
  std::vector<float> l = {3.0f, 2.0f, -1.0f, 0.5f, 4.0f};
  candidate_distribution(l.data(), 5, st);
  CHECK(l[0] == 3.0f);   // never seen
  CHECK(l[1] == 1.0f);   // prompt, positive: divided once although it appeared twice
  CHECK(l[2] == -2.0f);  // prompt, negative: multiplied
  CHECK(l[3] == 0.25f);  // output
  CHECK(l[4] == 4.0f);
}

TEST_CASE("sampling: grammar mask is respected by greedy and by sampling") {
  std::vector<float> logits(64, 0.0f);
  logits[10] = 9.0f;  // the best token is not allowed
  logits[3] = 1.0f;
  logits[40] = 0.5f;
  std::vector<uint32_t> allowed(2, 0u);
  allowed[3 / 32] |= 1u << 3;
  allowed[40 / 32] |= 1u << (40 % 32);
  auto g = opts(0.0f);
  {
    auto l = logits;
    SamplerState st(g);
    CHECK(sample_token(l.data(), 64, st, allowed.data()).token == 3);
  }
  auto o = opts(1.0f);
  auto d = dist_of(logits, o, allowed.data());
  REQUIRE(ids_of(d) == std::vector<int32_t>{3, 40});
  CHECK(d[0].second == doctest::Approx(std::exp(1.0) / (std::exp(1.0) + std::exp(0.5))).epsilon(1e-5));
  SamplerState st(o);
  for (int i = 0; i < 200; ++i) {
    auto l = logits;
    int32_t t = sample_token(l.data(), 64, st, allowed.data()).token;
    CHECK((t == 3 || t == 40));
  }
  // Nothing allowed: a clear error, not a garbage token.
  std::vector<uint32_t> none(2, 0u);
  auto l = logits;
  try {
    sample_token(l.data(), 64, st, none.data());
    FAIL("expected a throw");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == Status::kInvalidArgument);
    CHECK(std::string(e.what()).find("no token can be sampled") != std::string::npos);
  }
}

TEST_CASE("sampling: greedy ties go to the lowest id; temperature 0 and top_k 1 are greedy") {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  SamplerState a(opts(0.0f));
  auto l = logits;
  CHECK(sample_token(l.data(), 4, a).token == 1);
  auto o = opts(1.0f);
  o.top_k = 1;
  SamplerState b(o);
  for (int i = 0; i < 20; ++i) {
    l = logits;
    CHECK(sample_token(l.data(), 4, b).token == 1);
  }
}

TEST_CASE("sampling: min_new_tokens masks EOS until enough tokens were generated") {
  auto o = opts(0.0f);
  o.min_new_tokens = 2;
  o.eos_ids = {0, 4};
  SamplerState st(o);
  const std::vector<float> logits = {9.0f, 1.0f, 2.0f, 0.0f, 8.0f};
  std::vector<int32_t> out;
  for (int i = 0; i < 3; ++i) {
    auto l = logits;
    int32_t t = sample_token(l.data(), 5, st).token;
    out.push_back(t);
    st.accept(t);
  }
  CHECK(out == std::vector<int32_t>{2, 2, 0});
}

TEST_CASE("sampling: logprobs are log_softmax of the processed logits / T") {
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, 2.0f};
  for (float T : {0.0f, 0.5f}) {
    CAPTURE(T);
    auto o = opts(T);
    o.return_logprob = true;
    o.top_logprobs_num = 3;
    o.top_k = 3;  // filters do not change the reported logprobs
    SamplerState st(o);
    auto l = logits;
    auto r = sample_token(l.data(), 4, st);
    const double t = T == 0.0f ? 1.0 : T;
    double s = 0;
    for (float x : logits) s += std::exp(x / t);
    auto lp = [&](int i) { return logits[i] / t - std::log(s); };
    CHECK(r.logprob == doctest::Approx(lp(r.token)).epsilon(1e-5));
    REQUIRE(r.top_logprobs.size() == 3);
    CHECK(r.top_logprobs[0].first == 1);
    CHECK(r.top_logprobs[1].first == 3);
    CHECK(r.top_logprobs[2].first == 2);
    CHECK(r.top_logprobs[2].second == doctest::Approx(lp(2)).epsilon(1e-5));
  }
}

TEST_CASE("sampling: the chains are data with SGLang's order") {
  std::vector<std::string> names;
  for (const auto& s : sampling_chain()) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"penalties", "min_tokens", "grammar", "temperature", "top_k", "softmax",
                                          "top_p", "min_p", "dist"});
  CHECK(std::string(greedy_chain().back().name) == "argmax");
}
