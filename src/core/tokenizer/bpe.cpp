#include "core/tokenizer/bpe.hpp"

#include <algorithm>

namespace sgl::tok {

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  count_ = 0;
  for (const Slot& s : old)
    if (s.key != kEmpty) add(int32_t(s.key >> 32), int32_t(uint32_t(s.key)), s.entry.prio, s.entry.result);
}

void MergeTable::grow() { reserve(std::max<size_t>(16, count_ * 2 + 2)); }

void MergeTable::add(int32_t left, int32_t right, float prio, int32_t result) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = make_key(left, right);
  size_t i = hash(key) & mask_;
  while (slots_[i].key != kEmpty) {
    if (slots_[i].key == key) return;
    i = (i + 1) & mask_;
  }
  slots_[i].key = key;
  slots_[i].entry = {prio, result};
  ++count_;
}

namespace {
struct Candidate {
  float prio;
  int32_t pos;
  int32_t left_id;
  int32_t right_id;
  int32_t result;
};
// std heap functions build a max-heap; "greater" puts the lowest (prio, pos) on top.
struct Worse {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.prio > b.prio || (a.prio == b.prio && a.pos > b.pos);
  }
};
}  // namespace

void bpe_merge(const MergeTable& table, std::vector<int32_t>& ids) {
  const int32_t n = int32_t(ids.size());
  if (n < 2) return;
  if (n == 2) {
    if (const auto* m = table.find(ids[0], ids[1])) ids = {m->result};
    return;
  }
  thread_local std::vector<int32_t> prev, next;
  thread_local std::vector<Candidate> heap;
  prev.resize(n);
  next.resize(n);
  heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  auto push = [&](int32_t l) {
    if (l < 0) return;
    const int32_t r = next[l];
    if (r < 0) return;
    if (const auto* m = table.find(ids[l], ids[r])) {
      heap.push_back({m->prio, l, ids[l], ids[r], m->result});
      std::push_heap(heap.begin(), heap.end(), Worse{});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), Worse{});
    const Candidate c = heap.back();
    heap.pop_back();
    const int32_t l = c.pos;
    const int32_t r = next[l];
    // Stale if either side changed since the candidate was queued (ids[l] is -1 once merged away).
    if (ids[l] != c.left_id || r < 0 || ids[r] != c.right_id) continue;
    ids[l] = c.result;
    ids[r] = -1;
    next[l] = next[r];
    if (next[r] >= 0) prev[next[r]] = l;
    push(prev[l]);
    push(l);
  }
  int32_t w = 0;
  for (int32_t i = 0; i < n; ++i)
    if (ids[i] >= 0) ids[w++] = ids[i];
  ids.resize(w);
}

}  // namespace sgl::tok
