// The one grammar representation every front end (regex, JSON schema, EBNF) lowers into.
//
// A grammar is a set of rules; a rule is a list of alternatives; an alternative is a sequence of
// elements, each either a set of bytes (one input byte drawn from the set) or a reference to a
// rule. Front ends build rule bodies as `Expr` trees (sequence, choice, repetition, byte sets,
// rule references); GrammarBuilder flattens them into this form, adding helper rules for nested
// choices and repetitions, and rejects left recursion (which the stack matcher cannot run).
// Working on bytes, not characters, lets tokens end inside a UTF-8 sequence.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sgl::grammar {

// A set of byte values, 256 bits.
struct ByteSet {
  uint64_t w[4] = {0, 0, 0, 0};

  bool test(uint8_t b) const { return (w[b >> 6] >> (b & 63)) & 1; }
  void set(uint8_t b) { w[b >> 6] |= uint64_t{1} << (b & 63); }
  void set_range(uint8_t lo, uint8_t hi) {
    for (unsigned b = lo; b <= hi; ++b) set(static_cast<uint8_t>(b));
  }
  void merge(const ByteSet& o) {
    for (int i = 0; i < 4; ++i) w[i] |= o.w[i];
  }
  ByteSet complement() const {
    ByteSet r;
    for (int i = 0; i < 4; ++i) r.w[i] = ~w[i];
    return r;
  }
  bool empty() const { return (w[0] | w[1] | w[2] | w[3]) == 0; }
  int count() const;
  // The only member if count() == 1.
  int single() const;
  bool operator==(const ByteSet& o) const {
    return w[0] == o.w[0] && w[1] == o.w[1] && w[2] == o.w[2] && w[3] == o.w[3];
  }
  static ByteSet of(uint8_t b) {
    ByteSet s;
    s.set(b);
    return s;
  }
  static ByteSet range(uint8_t lo, uint8_t hi) {
    ByteSet s;
    s.set_range(lo, hi);
    return s;
  }
};

constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();

// A rule body before flattening.
struct Expr {
  enum class Kind : uint8_t { kEmpty, kBytes, kRef, kSeq, kAlt, kRepeat };
  Kind kind = Kind::kEmpty;
  ByteSet bytes;           // kBytes
  uint32_t rule = 0;       // kRef
  uint32_t min = 0;        // kRepeat
  uint32_t max = 0;        // kRepeat; kUnbounded for * and +
  std::vector<Expr> kids;  // kSeq, kAlt, kRepeat (one kid)

  static Expr empty() { return Expr{}; }
  static Expr bytes_of(const ByteSet& s);
  static Expr byte(uint8_t b) { return bytes_of(ByteSet::of(b)); }
  static Expr literal(std::string_view s);
  static Expr ref(uint32_t rule_id);
  static Expr seq(std::vector<Expr> kids);
  static Expr alt(std::vector<Expr> kids);
  static Expr repeat(Expr kid, uint32_t min, uint32_t max);
  static Expr star(Expr kid) { return repeat(std::move(kid), 0, kUnbounded); }
  static Expr plus(Expr kid) { return repeat(std::move(kid), 1, kUnbounded); }
  static Expr opt(Expr kid) { return repeat(std::move(kid), 0, 1); }
};

// Flattened grammar. Positions index `elems`; each alternative is a run of elements ended by a
// kEnd element, so "the next element" of a position is always position + 1.
struct Grammar {
  enum class ElemKind : uint8_t { kBytes, kRef, kEnd };
  struct Elem {
    ElemKind kind;
    uint32_t arg;  // kBytes: index into `sets`; kRef: rule id
  };
  struct Rule {
    std::string name;
    std::vector<uint32_t> alts;  // start positions
    bool nullable = false;
    int64_t source_offset = -1;  // where an EBNF rule was defined, for errors
  };
  std::vector<Elem> elems;
  std::vector<ByteSet> sets;
  std::vector<Rule> rules;
  uint32_t root = 0;

  const ByteSet& set_at(uint32_t pos) const { return sets[elems[pos].arg]; }
  // GBNF-like text, for debugging and error messages.
  std::string to_string() const;
};

struct BuildLimits {
  uint32_t max_repeat = 100000;  // the largest bound in {m,n} that is expanded
  uint32_t max_elements = 4u << 20;
};

class GrammarBuilder {
 public:
  explicit GrammarBuilder(BuildLimits limits = {}) : limits_(limits) {}

  // Declares a rule (its body may come later, so rules can be recursive). Names must be unique.
  uint32_t declare(const std::string& name, int64_t source_offset = -1);
  // A fresh rule named after `base` (suffixes keep names unique).
  uint32_t declare_unique(const std::string& base);
  std::optional<uint32_t> find(const std::string& name) const;
  bool defined(uint32_t id) const { return bodies_[id].has_value(); }
  void define(uint32_t id, Expr body);
  const std::string& name(uint32_t id) const { return names_[id]; }
  size_t rule_count() const { return names_.size(); }

  // Flattens every rule; throws kParseError naming an undefined rule, kInvalidArgument for left
  // recursion or a repetition that is too large.
  Grammar build(uint32_t root);

 private:
  void lower_seq(const Expr& e, uint32_t owner, std::vector<Grammar::Elem>& out);
  void lower_alts(const Expr& e, uint32_t owner, std::vector<std::vector<Grammar::Elem>>& out);
  uint32_t helper_rule(uint32_t owner, const char* suffix, Expr body);
  uint32_t intern_set(const ByteSet& s);
  void inline_leading_refs();

  BuildLimits limits_;
  std::vector<std::string> names_;
  std::vector<int64_t> offsets_;
  std::vector<std::optional<Expr>> bodies_;
  std::unordered_map<std::string, uint32_t> by_name_;
  // Flattening state.
  Grammar g_;
  std::vector<std::vector<std::vector<Grammar::Elem>>> flat_;
  std::vector<bool> prebuilt_;  // helper rules whose alternatives are written directly
  size_t elem_count_ = 0;
};

// Marks nullable rules and throws kInvalidArgument if some rule can reach itself without
// consuming a byte (left recursion, also hidden behind rules that can match empty).
void analyze_grammar(Grammar& g);

}  // namespace sgl::grammar
