// Flattening of Expr rule bodies into the Grammar form, and the left-recursion check.
#include "core/grammar/grammar.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "core/support/check.hpp"

namespace sgl::grammar {

int ByteSet::count() const {
  return std::popcount(w[0]) + std::popcount(w[1]) + std::popcount(w[2]) + std::popcount(w[3]);
}

int ByteSet::single() const {
  for (int i = 0; i < 4; ++i)
    if (w[i]) return i * 64 + std::countr_zero(w[i]);
  return -1;
}

Expr Expr::bytes_of(const ByteSet& s) {
  Expr e;
  e.kind = Kind::kBytes;
  e.bytes = s;
  return e;
}

Expr Expr::literal(std::string_view s) {
  if (s.size() == 1) return byte(static_cast<uint8_t>(s[0]));
  std::vector<Expr> kids;
  kids.reserve(s.size());
  for (char c : s) kids.push_back(byte(static_cast<uint8_t>(c)));
  return seq(std::move(kids));
}

Expr Expr::ref(uint32_t rule_id) {
  Expr e;
  e.kind = Kind::kRef;
  e.rule = rule_id;
  return e;
}

Expr Expr::seq(std::vector<Expr> kids) {
  if (kids.size() == 1) return std::move(kids[0]);
  Expr e;
  e.kind = kids.empty() ? Kind::kEmpty : Kind::kSeq;
  e.kids = std::move(kids);
  return e;
}

Expr Expr::alt(std::vector<Expr> kids) {
  if (kids.size() == 1) return std::move(kids[0]);
  Expr e;
  e.kind = Kind::kAlt;
  e.kids = std::move(kids);
  return e;
}

Expr Expr::repeat(Expr kid, uint32_t min, uint32_t max) {
  Expr e;
  e.kind = Kind::kRepeat;
  e.min = min;
  e.max = max;
  e.kids.push_back(std::move(kid));
  return e;
}

uint32_t GrammarBuilder::declare(const std::string& name, int64_t source_offset) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(names_.size());
  names_.push_back(name);
  offsets_.push_back(source_offset);
  bodies_.emplace_back();
  by_name_.emplace(name, id);
  return id;
}

uint32_t GrammarBuilder::declare_unique(const std::string& base) {
  if (!by_name_.count(base)) return declare(base);
  for (size_t i = names_.size();; ++i) {
    std::string n = fmt::format("{}_{}", base, i);
    if (!by_name_.count(n)) return declare(n);
  }
}

std::optional<uint32_t> GrammarBuilder::find(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

void GrammarBuilder::define(uint32_t id, Expr body) {
  SGL_CHECK(id < bodies_.size(), "rule id {} out of range", id);
  bodies_[id] = std::move(body);
}

uint32_t GrammarBuilder::intern_set(const ByteSet& s) {
  for (size_t i = 0; i < g_.sets.size(); ++i)
    if (g_.sets[i] == s) return static_cast<uint32_t>(i);
  g_.sets.push_back(s);
  return static_cast<uint32_t>(g_.sets.size() - 1);
}

uint32_t GrammarBuilder::helper_rule(uint32_t owner, const char* suffix, Expr body) {
  uint32_t id = declare_unique(fmt::format("{}_{}", names_[owner], suffix));
  bodies_[id] = std::move(body);
  return id;
}

void GrammarBuilder::lower_alts(const Expr& e, uint32_t owner,
                                std::vector<std::vector<Grammar::Elem>>& out) {
  if (e.kind == Expr::Kind::kAlt) {
    for (const Expr& k : e.kids) lower_alts(k, owner, out);
    return;
  }
  out.emplace_back();
  lower_seq(e, owner, out.back());
}

void GrammarBuilder::lower_seq(const Expr& e, uint32_t owner, std::vector<Grammar::Elem>& out) {
  using EK = Grammar::ElemKind;
  if (++elem_count_ > limits_.max_elements)
    SGL_THROW(Status::kInvalidArgument, "grammar too large: more than {} elements",
              limits_.max_elements);
  switch (e.kind) {
    case Expr::Kind::kEmpty:
      return;
    case Expr::Kind::kBytes:
      if (e.bytes.empty())
        SGL_THROW(Status::kInvalidArgument, "rule '{}' uses an empty character set, which matches "
                  "nothing", names_[owner]);
      out.push_back({EK::kBytes, intern_set(e.bytes)});
      return;
    case Expr::Kind::kRef:
      out.push_back({EK::kRef, e.rule});
      return;
    case Expr::Kind::kSeq:
      for (const Expr& k : e.kids) lower_seq(k, owner, out);
      return;
    case Expr::Kind::kAlt:
      out.push_back({EK::kRef, helper_rule(owner, "alt", e)});
      return;
    case Expr::Kind::kRepeat: {
      const Expr& kid = e.kids[0];
      uint32_t hi = e.max == kUnbounded ? e.min : e.max;
      if (e.min > limits_.max_repeat || hi > limits_.max_repeat || e.min > e.max)
        SGL_THROW(Status::kInvalidArgument, "repetition {{{},{}}} in rule '{}' is out of range "
                  "(bounds must satisfy min <= max <= {})", e.min,
                  e.max == kUnbounded ? std::string("inf") : std::to_string(e.max), names_[owner],
                  limits_.max_repeat);
      Grammar::Elem unit{};
      if (kid.kind == Expr::Kind::kBytes) {
        if (kid.bytes.empty())
          SGL_THROW(Status::kInvalidArgument, "rule '{}' repeats an empty character set",
                    names_[owner]);
        unit = {EK::kBytes, intern_set(kid.bytes)};
      } else if (kid.kind == Expr::Kind::kRef) {
        unit = {EK::kRef, kid.rule};
      } else if (kid.kind == Expr::Kind::kEmpty) {
        return;
      } else {
        unit = {EK::kRef, helper_rule(owner, "item", kid)};
      }
      for (uint32_t i = 0; i < e.min; ++i) out.push_back(unit);
      if (e.max == kUnbounded) {
        // S ::= unit S | "" (right recursion: the matcher's stack does not grow).
        uint32_t s = declare_unique(names_[owner] + "_star");
        prebuilt_.resize(names_.size());
        prebuilt_[s] = true;
        flat_.resize(names_.size());
        flat_[s] = {{unit, {EK::kRef, s}}, {}};
        out.push_back({EK::kRef, s});
      } else if (e.max > e.min) {
        // O_k ::= unit O_{k+1} | "" for the optional copies.
        uint32_t next = kUnbounded;
        for (uint32_t k = e.max - e.min; k-- > 0;) {
          uint32_t o = declare_unique(names_[owner] + "_opt");
          prebuilt_.resize(names_.size());
          prebuilt_[o] = true;
          flat_.resize(names_.size());
          if (next == kUnbounded)
            flat_[o] = {{unit}, {}};
          else
            flat_[o] = {{unit, {EK::kRef, next}}, {}};
          next = o;
        }
        out.push_back({EK::kRef, next});
      }
      return;
    }
  }
}

Grammar GrammarBuilder::build(uint32_t root) {
  g_ = Grammar{};
  flat_.clear();
  prebuilt_.assign(names_.size(), false);
  elem_count_ = 0;
  for (size_t id = 0; id < names_.size(); ++id) {
    prebuilt_.resize(names_.size());
    flat_.resize(names_.size());
    if (prebuilt_[id]) continue;
    if (!bodies_[id])
      throw Error(Status::kParseError, fmt::format("undefined rule '{}'", names_[id]), offsets_[id]);
    std::vector<std::vector<Grammar::Elem>> alts;
    Expr body = *bodies_[id];  // copy: lowering may append to bodies_
    lower_alts(body, static_cast<uint32_t>(id), alts);
    flat_[id] = std::move(alts);
  }
  inline_leading_refs();
  g_.rules.resize(names_.size());
  for (size_t id = 0; id < names_.size(); ++id) {
    Grammar::Rule& r = g_.rules[id];
    r.name = names_[id];
    r.source_offset = id < offsets_.size() ? offsets_[id] : -1;
    for (auto& alt : flat_[id]) {
      r.alts.push_back(static_cast<uint32_t>(g_.elems.size()));
      for (auto& el : alt) g_.elems.push_back(el);
      g_.elems.push_back({Grammar::ElemKind::kEnd, 0});
    }
  }
  g_.root = root;
  analyze_grammar(g_);
  return std::move(g_);
}

// Replaces `q rest` by `a_1 rest | ... | a_k rest` when q (the alternatives a_i) is small and
// not recursive. Why: the token classifier works per stack frame, and a token that runs past the
// end of its frame must be checked against the full stack at mask time. Small leading rules like
// "one JSON string character" would otherwise end after one byte, making almost every token
// context-dependent; inlined, a whole run of characters stays inside one frame.
void GrammarBuilder::inline_leading_refs() {
  using EK = Grammar::ElemKind;
  const size_t n = flat_.size();
  // Rules that can reach themselves (strongly connected components of the reference graph
  // with a cycle; iterative Tarjan) are never inlined.
  std::vector<std::vector<uint32_t>> edges(n);
  std::vector<uint8_t> recursive(n, 0);
  for (size_t r = 0; r < n; ++r)
    for (auto& alt : flat_[r])
      for (auto& el : alt)
        if (el.kind == EK::kRef) {
          edges[r].push_back(el.arg);
          if (el.arg == r) recursive[r] = 1;
        }
  std::vector<int32_t> index(n, -1), low(n, 0);
  std::vector<uint8_t> on(n, 0);
  std::vector<uint32_t> stk;
  std::vector<std::pair<uint32_t, size_t>> call;
  int32_t counter = 0;
  for (uint32_t s0 = 0; s0 < n; ++s0) {
    if (index[s0] >= 0) continue;
    call.push_back({s0, 0});
    index[s0] = low[s0] = counter++;
    stk.push_back(s0), on[s0] = 1;
    while (!call.empty()) {
      auto& [v, i] = call.back();
      if (i < edges[v].size()) {
        uint32_t w = edges[v][i++];
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stk.push_back(w), on[w] = 1;
          call.push_back({w, 0});
        } else if (on[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      uint32_t done = v;
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
      if (low[done] == index[done]) {
        std::vector<uint32_t> comp;
        uint32_t w;
        do {
          w = stk.back();
          stk.pop_back();
          on[w] = 0;
          comp.push_back(w);
        } while (w != done);
        if (comp.size() > 1)
          for (uint32_t c : comp) recursive[c] = 1;
      }
    }
  }
  constexpr size_t kMaxAlts = 64, kMaxLen = 24;
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (size_t r = 0; r < n; ++r) {
      std::vector<std::vector<Grammar::Elem>> out;
      bool any = false;
      for (auto& alt : flat_[r]) {
        if (!alt.empty() && alt[0].kind == EK::kRef) {
          uint32_t q = alt[0].arg;
          const auto& qa = flat_[q];
          bool small = q != r && !recursive[q] && qa.size() <= 16 && out.size() + qa.size() <= kMaxAlts;
          for (auto& a : qa) small = small && a.size() + alt.size() <= kMaxLen;
          if (small) {
            for (auto& a : qa) {
              std::vector<Grammar::Elem> na = a;
              na.insert(na.end(), alt.begin() + 1, alt.end());
              out.push_back(std::move(na));
            }
            any = true;
            continue;
          }
        }
        out.push_back(alt);
      }
      if (any) {
        flat_[r] = std::move(out);
        changed = true;
      }
    }
    if (!changed) break;
  }
}

void analyze_grammar(Grammar& g) {
  using EK = Grammar::ElemKind;
  const size_t n = g.rules.size();
  for (auto& r : g.rules) r.nullable = false;
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& r : g.rules) {
      if (r.nullable) continue;
      for (uint32_t a : r.alts) {
        bool all = true;
        for (uint32_t p = a; g.elems[p].kind != EK::kEnd; ++p) {
          const auto& el = g.elems[p];
          if (el.kind == EK::kBytes || !g.rules[el.arg].nullable) {
            all = false;
            break;
          }
        }
        if (all) {
          r.nullable = true;
          changed = true;
          break;
        }
      }
    }
  }
  // Edges r -> s when s can start r without any byte consumed before it.
  std::vector<std::vector<uint32_t>> edges(n);
  for (size_t r = 0; r < n; ++r)
    for (uint32_t a : g.rules[r].alts)
      for (uint32_t p = a; g.elems[p].kind == EK::kRef; ++p) {
        edges[r].push_back(g.elems[p].arg);
        if (!g.rules[g.elems[p].arg].nullable) break;
      }
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on path, 2 done
  std::vector<uint32_t> path;
  std::vector<std::pair<uint32_t, size_t>> work;
  for (uint32_t s = 0; s < n; ++s) {
    if (color[s]) continue;
    work.push_back({s, 0});
    color[s] = 1;
    path.push_back(s);
    while (!work.empty()) {
      auto& [r, i] = work.back();
      if (i == edges[r].size()) {
        color[r] = 2;
        path.pop_back();
        work.pop_back();
        continue;
      }
      uint32_t t = edges[r][i++];
      if (color[t] == 1) {
        std::string cycle;
        bool on = false;
        for (uint32_t q : path) {
          if (q == t) on = true;
          if (on) cycle += g.rules[q].name + " -> ";
        }
        cycle += g.rules[t].name;
        throw Error(Status::kInvalidArgument,
                    fmt::format("left recursion: rule '{}' can reach itself without consuming "
                                "input ({}); rewrite it with repetition",
                                g.rules[t].name, cycle),
                    g.rules[t].source_offset);
      }
      if (color[t] == 0) {
        color[t] = 1;
        path.push_back(t);
        work.push_back({t, 0});
      }
    }
  }
}

static std::string set_to_string(const ByteSet& s) {
  std::string out = "[";
  for (int b = 0; b < 256; ++b) {
    if (!s.test(static_cast<uint8_t>(b))) continue;
    int e = b;
    while (e + 1 < 256 && s.test(static_cast<uint8_t>(e + 1))) ++e;
    auto one = [&](int c) {
      if (c >= 0x21 && c < 0x7f && c != ']' && c != '\\' && c != '-' && c != '^')
        out += static_cast<char>(c);
      else
        out += fmt::format("\\x{:02X}", c);
    };
    one(b);
    if (e > b) {
      out += '-';
      one(e);
    }
    b = e;
  }
  return out + "]";
}

std::string Grammar::to_string() const {
  std::string out;
  for (const Rule& r : rules) {
    out += r.name + " ::=";
    for (size_t a = 0; a < r.alts.size(); ++a) {
      if (a) out += " |";
      if (elems[r.alts[a]].kind == ElemKind::kEnd) out += " \"\"";
      for (uint32_t p = r.alts[a]; elems[p].kind != ElemKind::kEnd; ++p)
        out += " " + (elems[p].kind == ElemKind::kRef ? rules[elems[p].arg].name
                                                      : set_to_string(sets[elems[p].arg]));
    }
    out += "\n";
  }
  return out;
}

}  // namespace sgl::grammar
