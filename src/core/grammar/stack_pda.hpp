// Pushdown matcher over bytes: the state is a set of rule-position stacks (llama.cpp's grammar
// stacks). Stacks are hash-consed in a StackPool as (top position, parent) nodes, so copying a
// stack is O(1) and equal stacks have equal ids, which makes state sets cheap to dedup, compare
// and use as cache keys. Stack positions always point at byte-set elements; id 0 is the empty
// stack, meaning the root rule is complete.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/grammar/grammar.hpp"

namespace sgl::grammar {

struct PdaLimits {
  uint32_t max_stack_depth = 4096;
  size_t max_stacks = 20000;  // per state set
};

class StackPool {
 public:
  struct Node {
    uint32_t pos;
    uint32_t parent;
    uint32_t depth;
  };
  explicit StackPool(uint32_t max_depth = 4096) : max_depth_(max_depth) {
    nodes_.push_back({0, 0, 0});
    slots_.assign(1024, Slot{kEmptyKey, 0});
  }
  uint32_t push(uint32_t parent, uint32_t pos);
  const Node& operator[](uint32_t id) const { return nodes_[id]; }
  size_t size() const { return nodes_.size(); }

 private:
  // Open-addressing intern table (linear probing, power-of-two size, at most half full): push
  // runs for every byte of every token the mask walk tries, so it must be a few instructions.
  struct Slot {
    uint64_t key;
    uint32_t id;
  };
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};
  void grow();

  std::vector<Node> nodes_;
  std::vector<Slot> slots_;
  uint32_t max_depth_;
};

using StackSet = std::vector<uint32_t>;  // sorted, unique stack ids

class Pda {
 public:
  Pda(const Grammar& g, StackPool& pool, const PdaLimits& limits) : g_(g), pool_(pool), limits_(limits) {}

  // Stacks whose top is a byte element (or the empty stack) reachable from `s` without input.
  void expand(uint32_t s, std::vector<uint32_t>& out);
  // The state before any input: the root rule's alternatives.
  StackSet initial();
  // Every stack of `from` that accepts byte `b`, advanced and expanded. Empty: rejected.
  void advance(const StackSet& from, uint8_t b, StackSet& out);
  bool advance_bytes(StackSet& set, std::string_view bytes);
  // Sorts, dedups and checks the set bound.
  void finish(StackSet& s) const;
  const Grammar& grammar() const { return g_; }
  StackPool& pool() { return pool_; }

 private:
  const Grammar& g_;
  StackPool& pool_;
  PdaLimits limits_;
  std::vector<uint32_t> work_;
};

}  // namespace sgl::grammar
