#include "cache_aware_policy.hpp"

#include <algorithm>

namespace sgl::router {

bool CacheAwarePolicy::overloaded(int64_t load, int64_t min_load) const {
  return load - min_load > config_.balance_abs_threshold &&
         static_cast<double>(load) > config_.balance_rel_threshold * static_cast<double>(min_load);
}

size_t CacheAwarePolicy::select(const std::vector<Candidate>& c, std::string_view text) {
  ++decisions_;
  seen_ += text.size();
  int64_t lo = c[0].load, hi = c[0].load;
  for (const auto& w : c) {
    lo = std::min(lo, w.load);
    hi = std::max(hi, w.load);
  }
  bool imbalanced = overloaded(hi, lo);
  if (imbalanced) ++imbalanced_;

  // The workers allowed to win: all when balanced, the not-overloaded ones otherwise (never
  // empty: the least-loaded worker is never overloaded against itself).
  std::vector<size_t> eligible;
  for (size_t i = 0; i < c.size(); ++i)
    if (!imbalanced || !overloaded(c[i].load, lo)) eligible.push_back(i);

  size_t chosen = eligible[0];
  for (size_t i : eligible)
    if (c[i].load < c[chosen].load) chosen = i;  // the miss answer: least loaded

  if (!text.empty()) {
    auto matched = tree_.match(text);
    size_t best = SIZE_MAX, best_len = 0;
    for (size_t i : eligible) {
      auto it = matched.find(c[i].url);
      if (it == matched.end()) continue;
      if (it->second > best_len || (it->second == best_len && best != SIZE_MAX && c[i].load < c[best].load)) {
        best = i;
        best_len = it->second;
      }
    }
    if (best != SIZE_MAX &&
        static_cast<double>(best_len) / static_cast<double>(text.size()) > config_.cache_threshold) {
      chosen = best;
      ++hits_;
      matched_ += best_len;
    } else if (auto it = matched.find(c[chosen].url); it != matched.end()) {
      matched_ += it->second;
    }
    tree_.insert(text, c[chosen].url);
  }
  return chosen;
}

PolicyStats CacheAwarePolicy::stats() const {
  PolicyStats s;
  s.decisions = decisions_.load();
  s.cache_hits = hits_.load();
  s.matched_bytes = matched_.load();
  s.request_bytes = seen_.load();
  s.imbalanced = imbalanced_.load();
  s.tree_bytes = tree_.total_bytes();
  s.tree_nodes = tree_.node_count();
  return s;
}

}  // namespace sgl::router
