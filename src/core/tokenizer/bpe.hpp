// The BPE merge loop shared by both tokenizer families. A MergeTable maps an adjacent pair of
// token ids to the merged token and its priority (lower merges first): the merge rank for
// byte-level / HF BPE, minus the token score for SentencePiece-style vocabularies (llama.cpp's
// SPM tokenizer merges the highest-scoring pair first). Ties go to the leftmost pair, as in both
// references. The loop is a binary heap over candidate pairs with lazy invalidation, so a piece
// of n symbols costs O(n log n) — a megabyte without spaces is not quadratic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sgl::tok {

class MergeTable {
 public:
  struct Entry {
    float prio;
    int32_t result;
  };

  // Keeps the first entry for a pair (the best rank when merges are added in order).
  void add(int32_t left, int32_t right, float prio, int32_t result);
  void reserve(size_t n);
  size_t size() const { return count_; }

  const Entry* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = make_key(left, right);
    size_t i = hash(key) & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.entry;
      if (s.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Entry entry{};
  };
  static uint64_t make_key(int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }
  static size_t hash(uint64_t k) { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20); }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

// Merges `ids` in place (symbols that must not merge, e.g. byte-fallback pieces, are simply
// absent from the table). Uses per-thread scratch space.
void bpe_merge(const MergeTable& table, std::vector<int32_t>& ids);

}  // namespace sgl::tok
