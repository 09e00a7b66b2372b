// RadixCache: SGLang's RadixAttention prefix tree over token ids, paged. Each node holds a run
// of tokens (a multiple of page_size) and the KV pages that store them; a path from the root
// spells a cached prefix. Running requests lock the node their prefix ends at (and thereby every
// ancestor) so it is never evicted; unlocked leaves are evicted least recently used first when
// the pool needs room. The tree owns every page it holds and frees them back to the KvPool.
//
// Not thread-safe: the scheduler thread owns the tree, like the pool.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/kv/kv_pool.hpp"

namespace sgl {

class RadixCache {
 public:
  using NodeId = int32_t;  // 0 = root
  static constexpr NodeId kRoot = 0;

  explicit RadixCache(KvPool& pool, bool disabled = false);
  ~RadixCache();
  RadixCache(const RadixCache&) = delete;
  RadixCache& operator=(const RadixCache&) = delete;

  struct Match {
    std::vector<int32_t> pages;  // KV pages of the matched prefix, in order
    int64_t n_tokens = 0;        // pages.size() * page_size
    NodeId node = kRoot;         // the node that ends exactly at the matched prefix
  };
  // Longest cached prefix of `tokens`, whole pages only (n_tokens % page_size == 0), splitting
  // a node when the match ends inside it. Touches LRU times along the path. Disabled: empty.
  // The returned node id stays valid only until the next evict/flush unless it is locked, so
  // lock it before anything can evict.
  Match match_prefix(std::span<const int32_t> tokens);

  // Reference counts on node and all its ancestors: a locked node is never evicted. Locking the
  // root is a no-op. unlock must pair with an earlier lock of the same node id; splits keep
  // counts consistent (the id a lock holder references always ends at the same token).
  void lock(NodeId node);
  void unlock(NodeId node);

  struct InsertResult {
    NodeId node = kRoot;            // the node that ends at the last inserted token
    int64_t n_already_cached = 0;   // leading tokens that were already in the tree
    // The tree's page ids for all tokens.size()/page_size pages after the insert. Where a
    // given page was a duplicate it was freed and the tree's own page is listed instead, so a
    // caller that keeps using this prefix must switch to these ids. Empty when disabled.
    std::vector<int32_t> pages;
  };
  // Inserts tokens (size a multiple of page_size) with their pages (tokens.size()/page_size
  // ids). Takes ownership of ALL given pages: pages for positions already in the tree under a
  // different page id are freed back to the pool (duplicates); pages already in the tree with
  // the same id are left alone; the rest are adopted by new nodes. Disabled: frees every page.
  InsertResult insert(std::span<const int32_t> tokens, std::span<const int32_t> pages);

  // Frees at least n_pages pages (when that many are evictable) from unlocked leaves in LRU
  // order; a parent becomes a leaf when its children go. Whole nodes are evicted, so this may
  // free a few more than asked. Returns the pages freed.
  int64_t evict(int64_t n_pages);

  int64_t evictable_pages() const { return evictable_pages_; }  // pages in unlocked nodes
  int64_t cached_pages() const { return evictable_pages_ + protected_pages_; }  // held by the tree
  int64_t protected_pages() const { return protected_pages_; }  // pages in locked nodes

  // Drops every node and frees their pages; requires no locks (returns false and does nothing
  // otherwise).
  bool flush();

  struct Stats {
    int64_t hit_tokens = 0, lookup_tokens = 0, inserted_tokens = 0, evicted_tokens = 0;
  };
  const Stats& stats() const { return stats_; }
  bool disabled() const { return disabled_; }
  int page_size() const { return page_size_; }
  // Live nodes including the root (for tests and stats).
  int64_t node_count() const { return static_cast<int64_t>(nodes_.size() - free_ids_.size()); }
  // Lock count of a node (0 for the root); for tests and assertions.
  int32_t lock_count(NodeId node) const;

 private:
  struct Node {
    std::vector<int32_t> key;    // tokens, a multiple of page_size
    std::vector<int32_t> pages;  // key.size() / page_size
    NodeId parent = -1;
    // Children keyed by a hash of their first page of tokens; a multimap because different
    // pages may share a hash, so lookups compare the tokens.
    std::unordered_multimap<uint64_t, NodeId> children;
    int32_t lock_ref = 0;
    uint64_t last_access = 0;
    bool live = false;
  };

  uint64_t page_hash(const int32_t* page) const;
  NodeId find_child(const Node& n, const int32_t* page) const;
  void erase_child(Node& n, NodeId child);
  NodeId new_node();
  void release_node(NodeId id);
  // Splits `id` after `n_tokens` (page aligned, 0 < n_tokens < key.size()); returns the new
  // prefix parent. `id` keeps its identity as the suffix child.
  NodeId split(NodeId id, int64_t n_tokens);
  int64_t common_prefix(const Node& n, const int32_t* tokens, int64_t n_tokens) const;
  void adopt_pages(std::span<const int32_t> pages);

  KvPool& pool_;
  bool disabled_;
  int page_size_;
  std::vector<Node> nodes_;       // slab; ids are indices, nodes_[0] is the root
  std::vector<NodeId> free_ids_;  // released slots for reuse
  std::vector<uint8_t> in_tree_;  // per pool page: held by the tree (catches double ownership)
  uint64_t clock_ = 0;            // logical LRU clock, bumped per operation
  int64_t evictable_pages_ = 0;
  int64_t protected_pages_ = 0;
  Stats stats_;
};

}  // namespace sgl
