#include "core/sample/sampler_chain.hpp"

#include <algorithm>
#include <bit>
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
  for (const auto& [tok, b] : o.logit_bias)
    if (tok >= 0 && tok < V) c.logits[tok] += b;
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

// True if the grammar mask allows some token that is not an end token.
bool grammar_allows_non_eos(const SampleContext& c) {
  const auto& eos = c.st->options().eos_ids;
  const int64_t words = (c.n_vocab + 31) / 32;
  for (int64_t w = 0; w < words; ++w) {
    uint32_t bits = c.allowed[w];
    if (w == words - 1 && c.n_vocab % 32) bits &= (uint32_t{1} << (c.n_vocab % 32)) - 1;
    if (!bits) continue;
    for (int32_t e : eos)
      if (e >= 0 && e / 32 == w) bits &= ~(uint32_t{1} << (e % 32));
    if (bits) return true;
  }
  return false;
}

void stage_min_tokens(SampleContext& c) {
  const auto& o = c.st->options();
  if (c.st->n_generated() >= o.min_new_tokens) return;
  // A grammar that is complete allows only EOS: the grammar wins over min_new_tokens (the
  // request stops cleanly instead of having no token left to sample).
  if (c.allowed && !grammar_allows_non_eos(c)) return;
  for (int32_t e : o.eos_ids)
    if (e >= 0 && e < c.n_vocab) c.logits[e] = kNegInf;
}

void stage_grammar(SampleContext& c) {
  if (!c.allowed) return;
  // By 32-token words: grammar masks are mostly all-allowed or all-forbidden runs.
  for (int64_t base = 0; base < c.n_vocab; base += 32) {
    const uint32_t bits = c.allowed[base >> 5];
    const int64_t end = std::min<int64_t>(base + 32, c.n_vocab);
    if (bits == ~uint32_t{0}) continue;
    if (bits == 0) {
      std::fill(c.logits + base, c.logits + end, kNegInf);
      continue;
    }
    for (int64_t i = base; i < end; ++i)
      if (!((bits >> (i - base)) & 1u)) c.logits[i] = kNegInf;
  }
}

void stage_temperature(SampleContext& c) {
  const float t = c.st->options().temperature;
  if (t == 1.0f) return;
  // In place on the row, so that logprobs (computed from the row afterwards) see it too.
  for (int64_t i = 0; i < c.n_vocab; ++i) c.logits[i] /= t;
}

void stage_top_k(SampleContext& c) {
  const int k = c.st->options().top_k;
  if (k <= 0 || k >= c.n_vocab) return;
  auto& cand = *c.cand;
  if (!c.have_candidates && static_cast<int64_t>(k) * 8 <= c.n_vocab) {
    // Small k: one pass over the row with a heap of the k best so far (worst on top). On a
    // typical row only ~k*ln(V/k) entries ever enter the heap, so this is a plain scan.
    cand.clear();
    for (int64_t i = 0; i < c.n_vocab; ++i) {
      const float l = c.logits[i];
      if (!(l > kNegInf)) continue;
      const Candidate x{static_cast<int32_t>(i), l};
      if (cand.size() < static_cast<size_t>(k)) {
        cand.push_back(x);
        std::push_heap(cand.begin(), cand.end(), before);
      } else if (before(x, cand.front())) {
        std::pop_heap(cand.begin(), cand.end(), before);
        cand.back() = x;
        std::push_heap(cand.begin(), cand.end(), before);
      }
    }
    if (cand.empty()) nothing_allowed(c.n_vocab);
    c.have_candidates = true;
  } else {
    ensure_candidates(c);
    if (static_cast<size_t>(k) >= cand.size()) return;
    std::nth_element(cand.begin(), cand.begin() + k, cand.end(), before);
    cand.resize(static_cast<size_t>(k));
  }
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

namespace {

// Keeps the sorted-order prefix of cand whose mass first reaches target, sorting only as far as
// needed: the sorted prefix grows geometrically (nth_element, then sort the new block).
void top_p_by_sorting(SampleContext& c, double target) {
  auto& cand = *c.cand;
  const size_t n = cand.size();
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

// Same set without sorting: probabilities are in (0, 1] after softmax (max = 1), and for
// positive floats the bit pattern grows with the value, so (bits(1) - bits(p)) >> 16 is a
// bucket index that never decreases as p decreases (128 buckets per power of two). Whole buckets
// before the one where the mass crosses target are kept, that one bucket is sorted, the rest
// dropped: the same tokens as a full sort, for O(V) work.
constexpr uint32_t kOneBits = 0x3F800000u;  // bits of 1.0f
constexpr int kShift = 16;
constexpr size_t kBuckets = (kOneBits >> kShift) + 1;

void top_p_by_buckets(SampleContext& c, double target) {
  thread_local std::vector<double> mass;
  mass.assign(kBuckets, 0.0);
  auto& cand = *c.cand;
  auto bucket = [](float p) -> uint32_t {
    const uint32_t bits = std::bit_cast<uint32_t>(p);
    return (kOneBits - (bits < kOneBits ? bits : kOneBits)) >> kShift;
  };
  for (const auto& x : cand) mass[bucket(x.value)] += x.value;
  double cum = 0.0;
  size_t b = 0;
  for (; b < kBuckets; ++b) {
    if (cum + mass[b] >= target) break;
    cum += mass[b];
  }
  if (b == kBuckets) return;  // rounding never reached target: keep everything
  // [0, mid): buckets before b (kept whole); [mid, end): bucket b; the rest goes.
  auto mid = std::partition(cand.begin(), cand.end(), [&](const Candidate& x) { return bucket(x.value) < b; });
  auto end = std::partition(mid, cand.end(), [&](const Candidate& x) { return bucket(x.value) == b; });
  std::sort(mid, end, before);
  auto it = mid;
  while (it != end) {
    cum += it->value;
    ++it;
    if (cum >= target) break;
  }
  cand.erase(it, cand.end());
  c.n_sorted = 0;
  c.mass = total(cand);
}

}  // namespace

void stage_top_p(SampleContext& c) {
  const float top_p = c.st->options().top_p;
  if (top_p >= 1.0f) return;
  SGL_CHECK(c.probs, "top_p needs probabilities: run softmax first");
  const double target = static_cast<double>(top_p) * c.mass;
  // Already sorted (after top-k) or short: walk the sorted order. Long unsorted lists: buckets.
  if (c.n_sorted == c.cand->size() || c.cand->size() <= 4096)
    top_p_by_sorting(c, target);
  else
    top_p_by_buckets(c, target);
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
