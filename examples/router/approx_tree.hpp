// ApproxTree: SGLang's "approximate" radix tree for the cache-aware router. It indexes request
// TEXT (bytes here, not tokens: the router never tokenizes) and records, per node, which workers
// ("tenants") were sent text through that node and when. It only approximates each worker's
// real KV cache: the worker may have evicted what the tree still holds, which costs one cache
// miss, never a wrong answer. Thread-safe: one mutex around every operation (a router makes one
// match + one insert per request, far below what the lock can sustain).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sgl::router {

class ApproxTree {
 public:
  ApproxTree();
  ~ApproxTree();
  ApproxTree(const ApproxTree&) = delete;
  ApproxTree& operator=(const ApproxTree&) = delete;

  // Records that `tenant` was sent `text`: every node on its path is stamped as most recently
  // used by the tenant; new text becomes new nodes.
  void insert(std::string_view text, const std::string& tenant);

  // For every tenant present on `text`'s path, how many leading bytes of `text` it shares
  // (a partial match into an edge counts up to the last shared byte). Touches the matched
  // nodes' timestamps for those tenants, so text that keeps being routed stays cached.
  std::unordered_map<std::string, size_t> match(std::string_view text);

  // Drops `tenant` from every node (its worker left); nodes no tenant holds are freed.
  void remove_tenant(const std::string& tenant);

  // Evicts each tenant's least recently used leaves until it holds at most `max_bytes` bytes of
  // text. Returns the number of bytes evicted over all tenants.
  size_t evict(size_t max_bytes);

  // Bytes of text attributed to `tenant` (the sum of the edge lengths of the nodes it holds).
  size_t tenant_size(const std::string& tenant) const;
  // Bytes of text stored in the tree (each edge counted once however many tenants hold it).
  size_t total_bytes() const;
  size_t node_count() const;

 private:
  struct Node;
  uint32_t tenant_id(const std::string& tenant);  // interns; callers hold mu_
  void prune(Node* n);                            // frees n and empty ancestors if unheld

  mutable std::mutex mu_;
  std::unique_ptr<Node> root_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
  std::vector<size_t> sizes_;  // bytes held per tenant id
  uint64_t clock_ = 0;         // logical time: deterministic LRU order, no wall clock needed
  size_t bytes_ = 0, nodes_ = 0;
};

}  // namespace sgl::router
