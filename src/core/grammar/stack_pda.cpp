#include "core/grammar/stack_pda.hpp"

#include <algorithm>

#include "core/support/check.hpp"

namespace sgl::grammar {

static inline size_t slot_of(uint64_t key, size_t mask) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return static_cast<size_t>(key) & mask;
}

void StackPool::grow() {
  std::vector<Slot> old(slots_.size() * 2, Slot{kEmptyKey, 0});
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& sl : old) {
    if (sl.key == kEmptyKey) continue;
    size_t i = slot_of(sl.key, mask);
    while (slots_[i].key != kEmptyKey) i = (i + 1) & mask;
    slots_[i] = sl;
  }
}

uint32_t StackPool::push(uint32_t parent, uint32_t pos) {
  const uint64_t key = (uint64_t{parent} << 32) | pos;  // never kEmptyKey: ids stay below 2^32-1
  size_t mask = slots_.size() - 1;
  size_t i = slot_of(key, mask);
  while (slots_[i].key != kEmptyKey) {
    if (slots_[i].key == key) return slots_[i].id;
    i = (i + 1) & mask;
  }
  uint32_t depth = nodes_[parent].depth + 1;
  if (depth > max_depth_)
    SGL_THROW(Status::kOutOfMemory,
              "grammar stack deeper than {} (max_stack_depth): the output nests too deeply",
              max_depth_);
  uint32_t id = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back({pos, parent, depth});
  if ((nodes_.size() + 1) * 2 > slots_.size()) {
    grow();
    mask = slots_.size() - 1;
    i = slot_of(key, mask);
    while (slots_[i].key != kEmptyKey) i = (i + 1) & mask;
  }
  slots_[i] = Slot{key, id};
  return id;
}

void Pda::expand(uint32_t s, std::vector<uint32_t>& out) {
  using EK = Grammar::ElemKind;
  work_.clear();
  work_.push_back(s);
  size_t steps = 0;
  while (!work_.empty()) {
    uint32_t cur = work_.back();
    work_.pop_back();
    if (cur == 0) {
      out.push_back(0);
      continue;
    }
    const StackPool::Node n = pool_[cur];
    const Grammar::Elem& el = g_.elems[n.pos];
    if (el.kind == EK::kBytes) {
      out.push_back(cur);
      continue;
    }
    if (++steps > limits_.max_stacks * 16)
      SGL_THROW(Status::kOutOfMemory, "grammar expansion exceeds {} steps", limits_.max_stacks * 16);
    uint32_t next = n.pos + 1;
    uint32_t base = g_.elems[next].kind == EK::kEnd ? n.parent : pool_.push(n.parent, next);
    for (uint32_t alt : g_.rules[el.arg].alts)
      work_.push_back(g_.elems[alt].kind == EK::kEnd ? base : pool_.push(base, alt));
  }
}

void Pda::finish(StackSet& s) const {
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  if (s.size() > limits_.max_stacks)
    SGL_THROW(Status::kOutOfMemory,
              "grammar state has more than {} parallel stacks (max_stacks): the grammar is too "
              "ambiguous", limits_.max_stacks);
}

StackSet Pda::initial() {
  using EK = Grammar::ElemKind;
  StackSet out;
  for (uint32_t alt : g_.rules[g_.root].alts) {
    if (g_.elems[alt].kind == EK::kEnd)
      out.push_back(0);
    else
      expand(pool_.push(0, alt), out);
  }
  finish(out);
  return out;
}

void Pda::advance(const StackSet& from, uint8_t b, StackSet& out) {
  using EK = Grammar::ElemKind;
  out.clear();
  for (uint32_t s : from) {
    if (s == 0) continue;
    const StackPool::Node n = pool_[s];
    if (!g_.set_at(n.pos).test(b)) continue;
    uint32_t next = n.pos + 1;
    uint32_t ns = g_.elems[next].kind == EK::kEnd ? n.parent : pool_.push(n.parent, next);
    expand(ns, out);
  }
  finish(out);
}

bool Pda::advance_bytes(StackSet& set, std::string_view bytes) {
  StackSet tmp;
  for (char c : bytes) {
    advance(set, static_cast<uint8_t>(c), tmp);
    if (tmp.empty()) return false;
    set.swap(tmp);
  }
  return true;
}

}  // namespace sgl::grammar
