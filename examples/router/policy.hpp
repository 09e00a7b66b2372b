// Routing policies: which healthy worker gets a request. The router passes the candidates (the
// healthy workers whose circuit breaker admits a request) with their current in-flight load and
// the request's text; a policy returns an index into that list. Implementations are
// thread-safe (HTTP handler threads call select() concurrently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sgl::router {

struct Candidate {
  std::string url;   // the worker's key (url, or url@rank with --dp-aware)
  int64_t load = 0;  // requests the router has in flight on it
};

struct PolicyConfig {
  std::string name = "cache_aware";  // cache_aware | round_robin | random | power_of_two
  double cache_threshold = 0.3;
  int64_t balance_abs_threshold = 64;
  double balance_rel_threshold = 1.5;
  size_t max_tree_size = size_t{1} << 26;
  uint64_t seed = 0;  // 0: from std::random_device
};

// Counters a policy reports for /metrics (only cache_aware fills the cache fields).
struct PolicyStats {
  uint64_t decisions = 0;
  uint64_t cache_hits = 0;      // requests routed to the worker with the longest match
  uint64_t matched_bytes = 0;   // bytes of request text found in the chosen worker's tree
  uint64_t request_bytes = 0;   // bytes of request text seen
  uint64_t imbalanced = 0;      // decisions taken in the imbalanced (load-first) mode
  size_t tree_bytes = 0;
  size_t tree_nodes = 0;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual const char* name() const = 0;
  // `candidates` is non-empty. Returns an index into it.
  virtual size_t select(const std::vector<Candidate>& candidates, std::string_view text) = 0;
  // The worker left the registry: forget what the policy knows about it.
  virtual void on_worker_removed(const std::string& /*url*/) {}
  // Periodic maintenance (cache_aware: LRU eviction to --max-tree-size). Returns bytes evicted.
  virtual size_t evict() { return 0; }
  virtual PolicyStats stats() const = 0;
};

// Throws sgl::Error(kInvalidArgument) for an unknown policy name.
std::unique_ptr<Policy> make_policy(const PolicyConfig& config);

// Index of the least-loaded candidate (the first one on ties, so choices are stable).
size_t least_loaded(const std::vector<Candidate>& candidates);

}  // namespace sgl::router
