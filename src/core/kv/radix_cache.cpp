#include "core/kv/radix_cache.hpp"

#include <algorithm>
#include <queue>
#include <tuple>

#include "core/support/check.hpp"

namespace sgl {

RadixCache::RadixCache(KvPool& pool, bool disabled)
    : pool_(pool), disabled_(disabled), page_size_(pool.page_size()) {
  nodes_.emplace_back();
  nodes_[kRoot].live = true;
  in_tree_.assign(static_cast<size_t>(pool.total_pages()), 0);
}

RadixCache::~RadixCache() {
  // Pages still held go back to the pool so a pool that outlives the tree stays consistent.
  for (auto& n : nodes_)
    if (n.live && !n.pages.empty()) pool_.free(n.pages);
}

uint64_t RadixCache::page_hash(const int32_t* page) const {
  // splitmix64-style mixing of each token; exactness comes from comparing tokens on lookup.
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < page_size_; ++i) {
    uint64_t x = h ^ static_cast<uint32_t>(page[i]);
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    h = x ^ (x >> 31);
  }
  return h;
}

RadixCache::NodeId RadixCache::find_child(const Node& n, const int32_t* page) const {
  auto [lo, hi] = n.children.equal_range(page_hash(page));
  for (auto it = lo; it != hi; ++it) {
    const Node& c = nodes_[it->second];
    if (std::equal(page, page + page_size_, c.key.begin())) return it->second;
  }
  return -1;
}

void RadixCache::erase_child(Node& n, NodeId child) {
  auto [lo, hi] = n.children.equal_range(page_hash(nodes_[child].key.data()));
  for (auto it = lo; it != hi; ++it) {
    if (it->second == child) {
      n.children.erase(it);
      return;
    }
  }
  SGL_CHECK(false, "radix node {} is not a child of its parent", child);
}

RadixCache::NodeId RadixCache::new_node() {
  NodeId id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<NodeId>(nodes_.size());
    nodes_.emplace_back();
  }
  nodes_[id] = Node{};
  nodes_[id].live = true;
  return id;
}

void RadixCache::release_node(NodeId id) {
  nodes_[id] = Node{};  // drops key/page/children storage
  free_ids_.push_back(id);
}

int64_t RadixCache::common_prefix(const Node& n, const int32_t* tokens, int64_t n_tokens) const {
  const int64_t limit = std::min<int64_t>(n_tokens, static_cast<int64_t>(n.key.size()));
  int64_t i = 0;
  while (i < limit && n.key[i] == tokens[i]) ++i;
  return i - i % page_size_;  // whole pages only
}

RadixCache::NodeId RadixCache::split(NodeId id, int64_t n_tokens) {
  SGL_DCHECK(n_tokens > 0 && n_tokens % page_size_ == 0 &&
                 n_tokens < static_cast<int64_t>(nodes_[id].key.size()),
             "bad split of radix node {} at {}", id, n_tokens);
  const NodeId mid = new_node();  // may reallocate nodes_: take references after
  Node& child = nodes_[id];
  Node& m = nodes_[mid];
  Node& parent = nodes_[child.parent];
  const int64_t n_pages = n_tokens / page_size_;
  // The new node takes the prefix and the child's place under the parent (same first page, so
  // the same hash key); the child keeps its id, so locks held on it still end at the same token,
  // and the prefix inherits its lock count because every lock through it went through the child.
  m.key.assign(child.key.begin(), child.key.begin() + n_tokens);
  m.pages.assign(child.pages.begin(), child.pages.begin() + n_pages);
  m.parent = child.parent;
  m.lock_ref = child.lock_ref;
  m.last_access = child.last_access;
  erase_child(parent, id);
  parent.children.emplace(page_hash(m.key.data()), mid);
  child.key.erase(child.key.begin(), child.key.begin() + n_tokens);
  child.pages.erase(child.pages.begin(), child.pages.begin() + n_pages);
  child.parent = mid;
  m.children.emplace(page_hash(child.key.data()), id);
  return mid;
}

RadixCache::Match RadixCache::match_prefix(std::span<const int32_t> tokens) {
  Match out;
  stats_.lookup_tokens += static_cast<int64_t>(tokens.size());
  if (disabled_) return out;
  const uint64_t now = ++clock_;
  const int64_t total = static_cast<int64_t>(tokens.size()) / page_size_ * page_size_;
  NodeId cur = kRoot;
  nodes_[kRoot].last_access = now;
  int64_t pos = 0;
  while (pos < total) {
    const NodeId child = find_child(nodes_[cur], tokens.data() + pos);
    if (child < 0) break;
    const int64_t common = common_prefix(nodes_[child], tokens.data() + pos, total - pos);
    NodeId reached = child;
    if (common < static_cast<int64_t>(nodes_[child].key.size())) reached = split(child, common);
    Node& r = nodes_[reached];
    r.last_access = now;
    out.pages.insert(out.pages.end(), r.pages.begin(), r.pages.end());
    pos += common;
    cur = reached;
    if (reached != child) break;  // the match ended inside the old node
  }
  out.n_tokens = pos;
  out.node = cur;
  stats_.hit_tokens += pos;
  return out;
}

void RadixCache::lock(NodeId node) {
  SGL_CHECK(node >= 0 && node < static_cast<NodeId>(nodes_.size()) && nodes_[node].live,
            "locking radix node {} that does not exist", node);
  for (NodeId n = node; n != kRoot; n = nodes_[n].parent) {
    Node& x = nodes_[n];
    if (x.lock_ref++ == 0) {
      const int64_t p = static_cast<int64_t>(x.pages.size());
      evictable_pages_ -= p;
      protected_pages_ += p;
    }
  }
}

void RadixCache::unlock(NodeId node) {
  SGL_CHECK(node >= 0 && node < static_cast<NodeId>(nodes_.size()) && nodes_[node].live,
            "unlocking radix node {} that does not exist", node);
  for (NodeId n = node; n != kRoot; n = nodes_[n].parent) {
    Node& x = nodes_[n];
    SGL_CHECK(x.lock_ref > 0, "unlocking radix node {} that is not locked", n);
    if (--x.lock_ref == 0) {
      const int64_t p = static_cast<int64_t>(x.pages.size());
      protected_pages_ -= p;
      evictable_pages_ += p;
    }
  }
}

int32_t RadixCache::lock_count(NodeId node) const {
  SGL_CHECK(node >= 0 && node < static_cast<NodeId>(nodes_.size()) && nodes_[node].live,
            "radix node {} does not exist", node);
  return nodes_[node].lock_ref;
}

void RadixCache::adopt_pages(std::span<const int32_t> pages) {
  for (int32_t p : pages) {
    SGL_CHECK(p >= 0 && p < pool_.total_pages(), "inserting KV page {} outside the pool of {}", p,
              pool_.total_pages());
    SGL_CHECK(!in_tree_[p], "KV page {} is already held by the radix tree at another position", p);
    in_tree_[p] = 1;
  }
}

RadixCache::InsertResult RadixCache::insert(std::span<const int32_t> tokens,
                                            std::span<const int32_t> pages) {
  SGL_CHECK(tokens.size() % page_size_ == 0, "radix insert of {} tokens is not a multiple of page size {}",
            tokens.size(), page_size_);
  SGL_CHECK(pages.size() * page_size_ == tokens.size(), "radix insert of {} tokens with {} pages (page size {})",
            tokens.size(), pages.size(), page_size_);
  InsertResult out;
  if (disabled_) {
    pool_.free(pages);
    return out;
  }
  const uint64_t now = ++clock_;
  const int64_t total = static_cast<int64_t>(tokens.size());
  out.pages.reserve(pages.size());
  NodeId cur = kRoot;
  nodes_[kRoot].last_access = now;
  int64_t pos = 0;
  while (pos < total) {
    const NodeId child = find_child(nodes_[cur], tokens.data() + pos);
    if (child < 0) {
      // The rest is new: one node adopts all remaining pages.
      auto rest = pages.subspan(pos / page_size_);
      adopt_pages(rest);
      const NodeId id = new_node();
      Node& n = nodes_[id];
      n.key.assign(tokens.begin() + pos, tokens.end());
      n.pages.assign(rest.begin(), rest.end());
      n.parent = cur;
      n.last_access = now;
      nodes_[cur].children.emplace(page_hash(n.key.data()), id);
      evictable_pages_ += static_cast<int64_t>(rest.size());
      stats_.inserted_tokens += total - pos;
      out.pages.insert(out.pages.end(), rest.begin(), rest.end());
      cur = id;
      pos = total;
      break;
    }
    const int64_t common = common_prefix(nodes_[child], tokens.data() + pos, total - pos);
    NodeId reached = child;
    if (common < static_cast<int64_t>(nodes_[child].key.size())) reached = split(child, common);
    Node& r = nodes_[reached];
    r.last_access = now;
    // Positions already cached: keep the tree's page; free the caller's copy if it differs.
    const int64_t first_page = pos / page_size_;
    for (size_t i = 0; i < r.pages.size(); ++i) {
      const int32_t given = pages[first_page + i];
      if (given == r.pages[i]) continue;
      SGL_CHECK(given >= 0 && given < pool_.total_pages() && !in_tree_[given],
                "duplicate KV page {} given to radix insert is held by the tree", given);
      pool_.free(std::span<const int32_t>(&given, 1));
    }
    out.pages.insert(out.pages.end(), r.pages.begin(), r.pages.end());
    out.n_already_cached += common;
    pos += common;
    cur = reached;
  }
  out.node = cur;
  return out;
}

int64_t RadixCache::evict(int64_t n_pages) {
  if (disabled_ || n_pages <= 0) return 0;
  // Min-heap of evictable leaves by (last access, id): ids break ties deterministically.
  using Entry = std::pair<uint64_t, NodeId>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (NodeId id = 1; id < static_cast<NodeId>(nodes_.size()); ++id) {
    const Node& n = nodes_[id];
    if (n.live && n.children.empty() && n.lock_ref == 0) heap.emplace(n.last_access, id);
  }
  int64_t freed = 0;
  while (freed < n_pages && !heap.empty()) {
    const NodeId id = heap.top().second;
    heap.pop();
    Node& n = nodes_[id];
    const int64_t p = static_cast<int64_t>(n.pages.size());
    for (int32_t page : n.pages) in_tree_[page] = 0;
    pool_.free(n.pages);
    freed += p;
    evictable_pages_ -= p;
    stats_.evicted_tokens += static_cast<int64_t>(n.key.size());
    const NodeId parent = n.parent;
    erase_child(nodes_[parent], id);
    release_node(id);
    const Node& par = nodes_[parent];
    if (parent != kRoot && par.children.empty() && par.lock_ref == 0) heap.emplace(par.last_access, parent);
  }
  return freed;
}

bool RadixCache::flush() {
  for (const Node& n : nodes_)
    if (n.live && n.lock_ref > 0) return false;
  for (NodeId id = 1; id < static_cast<NodeId>(nodes_.size()); ++id) {
    Node& n = nodes_[id];
    if (!n.live) continue;
    for (int32_t page : n.pages) in_tree_[page] = 0;
    pool_.free(n.pages);
  }
  nodes_.resize(1);
  nodes_[kRoot] = Node{};
  nodes_[kRoot].live = true;
  free_ids_.clear();
  evictable_pages_ = 0;
  protected_pages_ = 0;
  return true;
}

}  // namespace sgl
