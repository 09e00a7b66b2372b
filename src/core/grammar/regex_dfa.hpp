// Byte-level automata for regular Exprs: a Thompson NFA (also usable on its own as an
// independent matcher), the DFA by subset construction, Moore minimization, and the lowering of
// a DFA into right-linear grammar rules (one rule per state), which is how regexes join the
// shared grammar representation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/grammar/grammar.hpp"

namespace sgl::grammar {

struct Dfa {
  std::vector<std::array<int32_t, 256>> next;  // -1: no transition
  std::vector<bool> accepting;
  int32_t start = 0;

  size_t size() const { return next.size(); }
  bool matches(std::string_view s) const;
};

struct DfaLimits {
  size_t max_states = 10000;
  size_t max_nfa_states = 2000000;
};

// The Expr must not contain rule references. Throws kInvalidArgument when a bound is exceeded
// (naming the bound) or when the language is empty.
Dfa build_dfa(const Expr& e, const DfaLimits& limits = {});

// Full match by simulating the Thompson NFA directly, without building a DFA.
bool nfa_full_match(const Expr& e, std::string_view s);

// Adds one rule per DFA state ("<prefix>_<i>") keeping only transitions on `allowed` bytes (states
// that can then no longer reach acceptance are dropped). Returns the start rule. Throws
// kInvalidArgument if nothing is left.
uint32_t dfa_to_rules(const Dfa& dfa, GrammarBuilder& b, const std::string& prefix,
                      const ByteSet& allowed);

}  // namespace sgl::grammar
