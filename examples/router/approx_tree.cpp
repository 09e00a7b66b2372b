#include "approx_tree.hpp"

#include <algorithm>
#include <functional>
#include <queue>

namespace sgl::router {

// A node owns the edge leading to it. Invariant (kept by insert, split and evict): a tenant held
// by a node is held by every ancestor, with a timestamp at least as recent.
struct ApproxTree::Node {
  std::string edge;
  Node* parent = nullptr;
  std::map<unsigned char, std::unique_ptr<Node>> children;
  std::vector<std::pair<uint32_t, uint64_t>> tenants;  // (tenant id, last use); few per node

  std::pair<uint32_t, uint64_t>* find(uint32_t id) {
    for (auto& p : tenants)
      if (p.first == id) return &p;
    return nullptr;
  }
  bool erase(uint32_t id) {
    for (size_t i = 0; i < tenants.size(); ++i)
      if (tenants[i].first == id) {
        tenants[i] = tenants.back();
        tenants.pop_back();
        return true;
      }
    return false;
  }
  // True when no child holds `id`: the node is a leaf of that tenant's subtree.
  bool leaf_of(uint32_t id) const {
    for (const auto& [c, ch] : children)
      for (const auto& p : ch->tenants)
        if (p.first == id) return false;
    return true;
  }
};

namespace {

size_t common_prefix(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

ApproxTree::ApproxTree() : root_(std::make_unique<Node>()) {}
ApproxTree::~ApproxTree() = default;

uint32_t ApproxTree::tenant_id(const std::string& tenant) {
  auto [it, fresh] = ids_.try_emplace(tenant, static_cast<uint32_t>(names_.size()));
  if (fresh) {
    names_.push_back(tenant);
    sizes_.push_back(0);
  }
  return it->second;
}

void ApproxTree::insert(std::string_view text, const std::string& tenant) {
  std::lock_guard lk(mu_);
  uint32_t id = tenant_id(tenant);
  uint64_t now = ++clock_;
  Node* n = root_.get();
  size_t i = 0;
  while (i < text.size()) {
    auto it = n->children.find(static_cast<unsigned char>(text[i]));
    if (it == n->children.end()) {
      auto leaf = std::make_unique<Node>();
      leaf->edge = std::string(text.substr(i));
      leaf->parent = n;
      leaf->tenants.emplace_back(id, now);
      sizes_[id] += leaf->edge.size();
      bytes_ += leaf->edge.size();
      ++nodes_;
      n->children.emplace(static_cast<unsigned char>(text[i]), std::move(leaf));
      return;
    }
    Node* ch = it->second.get();
    size_t k = common_prefix(ch->edge, text.substr(i));
    if (k < ch->edge.size()) {
      // Split the edge at the divergence; the upper half keeps the same tenants, so no tenant's
      // size changes.
      auto mid = std::make_unique<Node>();
      mid->edge = ch->edge.substr(0, k);
      mid->parent = n;
      mid->tenants = ch->tenants;
      ch->edge.erase(0, k);
      ch->parent = mid.get();
      unsigned char key = static_cast<unsigned char>(ch->edge[0]);
      mid->children.emplace(key, std::move(it->second));
      it->second = std::move(mid);
      ch = it->second.get();
      ++nodes_;
    }
    if (auto* p = ch->find(id)) p->second = now;
    else {
      ch->tenants.emplace_back(id, now);
      sizes_[id] += ch->edge.size();
    }
    i += k;
    n = ch;
  }
}

std::unordered_map<std::string, size_t> ApproxTree::match(std::string_view text) {
  // Timestamps are not touched here: only the tenant the request is then sent to (insert) has
  // really used the prefix; refreshing every tenant that merely shares it would keep stale
  // copies alive on workers that are no longer chosen.
  std::lock_guard lk(mu_);
  std::unordered_map<std::string, size_t> out;
  Node* n = root_.get();
  size_t i = 0;
  while (i < text.size()) {
    auto it = n->children.find(static_cast<unsigned char>(text[i]));
    if (it == n->children.end()) break;
    Node* ch = it->second.get();
    size_t k = common_prefix(ch->edge, text.substr(i));
    for (const auto& [id, t] : ch->tenants) out[names_[id]] = i + k;
    i += k;
    if (k < ch->edge.size()) break;
    n = ch;
  }
  return out;
}

void ApproxTree::prune(Node* n) {
  while (n != root_.get() && n->tenants.empty() && n->children.empty()) {
    Node* parent = n->parent;
    bytes_ -= n->edge.size();
    --nodes_;
    parent->children.erase(static_cast<unsigned char>(n->edge[0]));  // frees n
    n = parent;
  }
}

void ApproxTree::remove_tenant(const std::string& tenant) {
  std::lock_guard lk(mu_);
  auto it = ids_.find(tenant);
  if (it == ids_.end()) return;
  uint32_t id = it->second;
  // Post-order: a node is judged after its children; the parent frees it (never the node
  // itself), so no frame of the walk outlives the node it is iterating.
  std::function<bool(Node*)> walk = [&](Node* n) -> bool {
    for (auto ch = n->children.begin(); ch != n->children.end();) {
      if (walk(ch->second.get())) {
        bytes_ -= ch->second->edge.size();
        --nodes_;
        ch = n->children.erase(ch);
      } else {
        ++ch;
      }
    }
    n->erase(id);
    return n != root_.get() && n->tenants.empty() && n->children.empty();
  };
  walk(root_.get());
  sizes_[id] = 0;
}

size_t ApproxTree::evict(size_t max_bytes) {
  std::lock_guard lk(mu_);
  size_t evicted = 0;
  for (uint32_t id = 0; id < sizes_.size(); ++id) {
    if (sizes_[id] <= max_bytes) continue;
    // Min-heap of this tenant's leaves by last use.
    using Entry = std::pair<uint64_t, Node*>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    std::function<void(Node*)> collect = [&](Node* n) {
      for (auto& [c, ch] : n->children) collect(ch.get());
      if (n == root_.get()) return;
      if (auto* p = n->find(id); p && n->leaf_of(id)) heap.emplace(p->second, n);
    };
    collect(root_.get());
    while (sizes_[id] > max_bytes && !heap.empty()) {
      Node* n = heap.top().second;
      heap.pop();
      Node* parent = n->parent;
      n->erase(id);
      sizes_[id] -= n->edge.size();
      evicted += n->edge.size();
      if (n->tenants.empty() && n->children.empty()) prune(n);  // may free n, never parent's pointer
      // The parent may have become a leaf of this tenant's subtree.
      if (parent != root_.get())
        if (auto* p = parent->find(id); p && parent->leaf_of(id)) heap.emplace(p->second, parent);
    }
  }
  return evicted;
}

size_t ApproxTree::tenant_size(const std::string& tenant) const {
  std::lock_guard lk(mu_);
  auto it = ids_.find(tenant);
  return it == ids_.end() ? 0 : sizes_[it->second];
}

size_t ApproxTree::total_bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

size_t ApproxTree::node_count() const {
  std::lock_guard lk(mu_);
  return nodes_;
}

}  // namespace sgl::router
