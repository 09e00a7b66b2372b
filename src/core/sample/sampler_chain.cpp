#include "core/sample/sampler_chain.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/support/check.hpp"

namespace sgl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Candidate order: higher value first, lower id on ties (deterministic everywhere).
bool before(const Candidate& a, const Candidate& b) {
  return a.value > b.value || (a.value == b.value && a.id < b.id);
}

[[noreturn]] void nothing_allowed(int64_t n_vocab) {
  SGL_THROW(Status::kInvalidArgument,
            "no token can be sampled: all {} logits are masked (grammar / min_new_tokens) or NaN", n_vocab);
}

// Gathers the tokens still possible (logit > -inf; NaN never passes) into the candidate list.
void ensure_candidates(SampleContext& c) {
  if (c.have_candidates) return;
  auto& cand = *c.cand;
  cand.clear();
  cand.reserve(static_cast<size_t>(c.n_vocab));
  for (int64_t i = 0; i < c.n_vocab; ++i)
    if (c.logits[i] > kNegInf) cand.push_back({static_cast<int32_t>(i), c.logits[i]});
  if (cand.empty()) nothing_allowed(c.n_vocab);
  c.have_candidates = true;
  c.n_sorted = 0;
}

double total(const std::vector<Candidate>& cand) {
  double s = 0.0;
  for (const auto& x : cand) s += x.value;
  return s;
}

constexpr SamplerStage kGreedy[] = {
    {"penalties", stage_penalties},
    {"min_tokens", stage_min_tokens},
    {"grammar", stage_grammar},
    {"argmax", stage_argmax},
};

constexpr SamplerStage kSampling[] = {
    {"penalties", stage_penalties}, {"min_tokens", stage_min_tokens}, {"grammar", stage_grammar},
    {"temperature", stage_temperature}, {"top_k", stage_top_k}, {"softmax", stage_softmax},
    {"top_p", stage_top_p}, {"min_p", stage_min_p}, {"dist", stage_dist},
};

}  // namespace

std::span<const SamplerStage> greedy_chain() { return kGreedy; }
std::span<const SamplerStage> sampling_chain() { return kSampling; }

void run_chain(std::span<const SamplerStage> chain, SampleContext& ctx) {
  for (const auto& s : chain) s.apply(ctx);
}

void stage_penalties(SampleContext& c) {
  const auto& o = c.st->options();
  const int64_t V = c.n_vocab;
  // SGLang: logits -= frequency_penalty * count + presence_penalty * (count > 0), generated
  // tokens only.
  if (o.frequency_penalty != 0.0f || o.presence_penalty != 0.0f) {
    for (const auto& [tok, n] : c.st->output_counts()) {
      if (tok < 0 || tok >= V || n <= 0) continue;
      c.logits[tok] -= o.frequency_penalty * static_cast<float>(n) + o.presence_penalty;
    }
  }
  // Repetition (CTRL / HF / SGLang): once per distinct token of prompt and output, divide a
  // positive logit by the penalty and multiply a negative one, so > 1 always discourages.
  if (o.repetition_penalty != 1.0f) {
    const float rp = o.repetition_penalty;
    for (int32_t tok : c.st->seen_tokens()) {
      if (tok < 0 || tok >= V) continue;
      float& l = c.logits[tok];
      l = l > 0.0f ? l / rp : l * rp;
    }
  }
}

void stage_min_tokens(SampleContext& c) {
  const auto& o = c.st->options();
  if (c.st->n_generated() >= o.min_new_tokens) return;
  for (int32_t e : o.eos_ids)
    if (e >= 0 && e < c.n_vocab) c.logits[e] = kNegInf;
}

void stage_grammar(SampleContext& c) {
  if (!c.allowed) return;
  for (int64_t i = 0; i < c.n_vocab; ++i)
    if (!((c.allowed[i >> 5] >> (i & 31)) & 1u)) c.logits[i] = kNegInf;
}

void stage_temperature(SampleContext& c) {
  const float t = c.st->options().temperature;
  if (t == 1.0f) return;
  // In place on the row, so that logprobs (computed from the row afterwards) see it too.
  for (int64_t i = 0; i < c.n_vocab; ++i) c.logits[i] /= t;
}

void stage_top_k(SampleContext& c) {
  ensure_candidates(c);
  const int k = c.st->options().top_k;
  auto& cand = *c.cand;
  if (k <= 0 || static_cast<size_t>(k) >= cand.size()) return;
  std::nth_element(cand.begin(), cand.begin() + k, cand.end(), before);
  cand.resize(static_cast<size_t>(k));
  std::sort(cand.begin(), cand.end(), before);
  c.n_sorted = cand.size();
}

void stage_softmax(SampleContext& c) {
  ensure_candidates(c);
  auto& cand = *c.cand;
  float mx = kNegInf;
  if (c.n_sorted > 0) {
    mx = cand[0].value;
  } else {
    for (const auto& x : cand) mx = std::max(mx, x.value);
  }
  double s = 0.0;
  for (auto& x : cand) {
    x.value = std::exp(x.value - mx);
    s += x.value;
  }
  c.mass = s;
  c.probs = true;
}

void stage_top_p(SampleContext& c) {
  const float top_p = c.st->options().top_p;
  if (top_p >= 1.0f) return;
  SGL_CHECK(c.probs, "top_p needs probabilities: run softmax first");
  auto& cand = *c.cand;
  const size_t n = cand.size();
  const double target = static_cast<double>(top_p) * c.mass;
  // Sort only as far as needed: grow the sorted prefix geometrically (nth_element then sort the
  // new block) until the kept mass reaches top_p. Peaked distributions touch a few hundred
  // entries; only a very flat one sorts most of the vocabulary.
  double cum = 0.0;
  size_t i = 0;
  while (i < n) {
    if (i == c.n_sorted) {
      const size_t end = std::min(n, std::max<size_t>(64, c.n_sorted * 4));
      if (end < n) std::nth_element(cand.begin() + c.n_sorted, cand.begin() + end, cand.end(), before);
      std::sort(cand.begin() + c.n_sorted, cand.begin() + end, before);
      c.n_sorted = end;
    }
    cum += cand[i].value;
    ++i;
    if (cum >= target) break;
  }
  cand.resize(i);
  c.n_sorted = std::min(c.n_sorted, i);
  c.mass = cum;
}

void stage_min_p(SampleContext& c) {
  const float min_p = c.st->options().min_p;
  if (min_p <= 0.0f) return;
  SGL_CHECK(c.probs, "min_p needs probabilities: run softmax first");
  auto& cand = *c.cand;
  float pmax = 0.0f;
  if (c.n_sorted > 0) {
    pmax = cand[0].value;
  } else {
    for (const auto& x : cand) pmax = std::max(pmax, x.value);
  }
  const float threshold = min_p * pmax;
  size_t kept_sorted = 0;
  for (size_t i = 0; i < c.n_sorted && cand[i].value >= threshold; ++i) ++kept_sorted;
  std::erase_if(cand, [&](const Candidate& x) { return x.value < threshold; });
  c.n_sorted = kept_sorted;  // the sorted prefix loses only its tail
  c.mass = total(cand);
}

void stage_dist(SampleContext& c) {
  SGL_CHECK(c.probs, "dist needs probabilities: run softmax first");
  SGL_CHECK(c.rng != nullptr, "dist needs the request's generator");
  const auto& cand = *c.cand;
  const double u = c.rng->next_uniform() * c.mass;
  double cum = 0.0;
  for (const auto& x : cand) {
    cum += x.value;
    if (u < cum) {
      c.picked = x.id;
      return;
    }
  }
  // Rounding left u at the very top: take the last token that has any probability.
  for (auto it = cand.rbegin(); it != cand.rend(); ++it) {
    if (it->value > 0.0f) {
      c.picked = it->id;
      return;
    }
  }
  c.picked = cand.back().id;
}

void stage_argmax(SampleContext& c) {
  int64_t best = -1;
  float bv = kNegInf;
  for (int64_t i = 0; i < c.n_vocab; ++i) {
    if (c.logits[i] > bv) {  // strict: ties keep the lowest id; NaN never wins
      bv = c.logits[i];
      best = i;
    }
  }
  if (best < 0) nothing_allowed(c.n_vocab);
  c.picked = static_cast<int32_t>(best);
}

}  // namespace sgl
