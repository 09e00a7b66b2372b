// CacheAwarePolicy: SGLang's cache-aware routing over an ApproxTree of request text, with the
// fixes its users asked for.
//
// Balanced load (not imbalanced, below): the worker whose tree shares the longest prefix with the
// request gets it when the shared fraction exceeds --cache-threshold; otherwise (a miss) the
// least-loaded worker does. SGLang sends misses to the worker with the smallest tree, which
// piles new prompts on a worker that may already be the busiest.
//
// Imbalanced load, i.e. max - min > --balance-abs-threshold and max > --balance-rel-threshold *
// min: SGLang goes to the shortest queue and forgets affinity. Here prefix affinity is kept among
// the workers that are themselves not overloaded by that same test against the minimum, and a
// miss goes to the least loaded of them.
//
// Either way the request's text is inserted under the chosen worker. evict() trims each worker's
// share of the tree to --max-tree-size bytes, least recently used first.
#pragma once

#include <atomic>

#include "approx_tree.hpp"
#include "policy.hpp"

namespace sgl::router {

class CacheAwarePolicy final : public Policy {
 public:
  explicit CacheAwarePolicy(const PolicyConfig& config) : config_(config) {}
  const char* name() const override { return "cache_aware"; }
  size_t select(const std::vector<Candidate>& candidates, std::string_view text) override;
  void on_worker_removed(const std::string& url) override { tree_.remove_tenant(url); }
  size_t evict() override { return tree_.evict(config_.max_tree_size); }
  PolicyStats stats() const override;

  const ApproxTree& tree() const { return tree_; }

 private:
  bool overloaded(int64_t load, int64_t min_load) const;

  PolicyConfig config_;
  ApproxTree tree_;
  std::atomic<uint64_t> decisions_{0}, hits_{0}, matched_{0}, seen_{0}, imbalanced_{0};
};

}  // namespace sgl::router
