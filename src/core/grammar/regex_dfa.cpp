// Thompson construction, subset construction with per-state grouping of identical targets, and
// Moore partition refinement. States that cannot reach acceptance are removed so every live DFA
// state is a viable prefix (the token matcher relies on that).
#include "core/grammar/regex_dfa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/support/check.hpp"

namespace sgl::grammar {
namespace {

struct Nfa {
  struct State {
    ByteSet set;               // byte transition to `next` when has_set
    bool has_set = false;
    int32_t next = -1;
    std::vector<int32_t> eps;  // epsilon transitions
  };
  std::vector<State> st;
  int32_t start = 0, accept = 0;
  size_t limit;

  int32_t add() {
    if (st.size() >= limit)
      SGL_THROW(Status::kInvalidArgument, "regex too large: NFA exceeds {} states", limit);
    st.emplace_back();
    return static_cast<int32_t>(st.size() - 1);
  }
  // Builds a fragment; returns {in, out}, `out` has no transitions yet.
  std::pair<int32_t, int32_t> build(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kEmpty: {
        int32_t s = add();
        return {s, s};
      }
      case Expr::Kind::kBytes: {
        int32_t a = add(), b = add();
        st[a].has_set = true;
        st[a].set = e.bytes;
        st[a].next = b;
        return {a, b};
      }
      case Expr::Kind::kRef:
        SGL_THROW(Status::kInternal, "rule reference inside a regular expression");
      case Expr::Kind::kSeq: {
        auto [in, out] = build(e.kids[0]);
        for (size_t k = 1; k < e.kids.size(); ++k) {
          auto [i2, o2] = build(e.kids[k]);
          st[out].eps.push_back(i2);
          out = o2;
        }
        return {in, out};
      }
      case Expr::Kind::kAlt: {
        int32_t in = add(), out = add();
        for (const Expr& k : e.kids) {
          auto [i2, o2] = build(k);
          st[in].eps.push_back(i2);
          st[o2].eps.push_back(out);
        }
        return {in, out};
      }
      case Expr::Kind::kRepeat: {
        int32_t in = add(), out = in;
        for (uint32_t k = 0; k < e.min; ++k) {
          auto [i2, o2] = build(e.kids[0]);
          st[out].eps.push_back(i2);
          out = o2;
        }
        if (e.max == kUnbounded) {
          auto [i2, o2] = build(e.kids[0]);
          int32_t loop = add();
          st[out].eps.push_back(loop);
          st[loop].eps.push_back(i2);
          st[o2].eps.push_back(loop);
          out = loop;
        } else {
          int32_t end = add();
          for (uint32_t k = e.min; k < e.max; ++k) {
            st[out].eps.push_back(end);
            auto [i2, o2] = build(e.kids[0]);
            st[out].eps.push_back(i2);
            out = o2;
          }
          st[out].eps.push_back(end);
          out = end;
        }
        return {in, out};
      }
    }
    return {0, 0};
  }

  // Epsilon closure, keeping only states with byte transitions plus the accept state.
  void closure(std::vector<int32_t>& set, std::vector<uint32_t>& mark, uint32_t gen) const {
    std::vector<int32_t> work(set.begin(), set.end());
    set.clear();
    while (!work.empty()) {
      int32_t s = work.back();
      work.pop_back();
      if (mark[s] == gen) continue;
      mark[s] = gen;
      if (st[s].has_set || s == accept) set.push_back(s);
      for (int32_t t : st[s].eps) work.push_back(t);
    }
    std::sort(set.begin(), set.end());
  }
};

Nfa make_nfa(const Expr& e, size_t limit) {
  Nfa n;
  n.limit = limit;
  auto [in, out] = n.build(e);
  n.start = in;
  n.accept = out;
  return n;
}

struct VecHash {
  size_t operator()(const std::vector<int32_t>& v) const {
    uint64_t h = 1469598103934665603ull;
    for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
    return h;
  }
};

// Drops states that cannot reach acceptance; renumbers. Returns false if the start is dropped.
bool prune(Dfa& d) {
  size_t n = d.size();
  std::vector<std::vector<int32_t>> rev(n);
  for (size_t s = 0; s < n; ++s)
    for (int b = 0; b < 256; ++b)
      if (d.next[s][b] >= 0) rev[d.next[s][b]].push_back(static_cast<int32_t>(s));
  std::vector<bool> live(n, false);
  std::vector<int32_t> work;
  for (size_t s = 0; s < n; ++s)
    if (d.accepting[s]) live[s] = true, work.push_back(static_cast<int32_t>(s));
  while (!work.empty()) {
    int32_t s = work.back();
    work.pop_back();
    for (int32_t p : rev[s])
      if (!live[p]) live[p] = true, work.push_back(p);
  }
  if (!live[d.start]) return false;
  std::vector<int32_t> id(n, -1);
  Dfa out;
  for (size_t s = 0; s < n; ++s)
    if (live[s]) id[s] = static_cast<int32_t>(out.next.size()), out.next.emplace_back(),
                 out.accepting.push_back(d.accepting[s]);
  for (size_t s = 0; s < n; ++s) {
    if (!live[s]) continue;
    for (int b = 0; b < 256; ++b) {
      int32_t t = d.next[s][b];
      out.next[id[s]][b] = t >= 0 ? id[t] : -1;
    }
  }
  out.start = id[d.start];
  d = std::move(out);
  return true;
}

void minimize(Dfa& d) {
  size_t n = d.size();
  std::vector<int32_t> cls(n);
  for (size_t s = 0; s < n; ++s) cls[s] = d.accepting[s] ? 1 : 0;
  size_t count = 0;
  for (;;) {
    std::map<std::vector<int32_t>, int32_t> sig_ids;
    std::vector<int32_t> next_cls(n);
    std::vector<int32_t> sig(257);
    for (size_t s = 0; s < n; ++s) {
      sig[0] = cls[s];
      for (int b = 0; b < 256; ++b) {
        int32_t t = d.next[s][b];
        sig[b + 1] = t >= 0 ? cls[t] : -1;
      }
      auto [it, fresh] = sig_ids.emplace(sig, static_cast<int32_t>(sig_ids.size()));
      next_cls[s] = it->second;
    }
    cls.swap(next_cls);
    if (sig_ids.size() == count) break;
    count = sig_ids.size();
  }
  Dfa out;
  out.next.assign(count, {});
  out.accepting.assign(count, false);
  for (size_t s = 0; s < n; ++s) {
    for (int b = 0; b < 256; ++b) {
      int32_t t = d.next[s][b];
      out.next[cls[s]][b] = t >= 0 ? cls[t] : -1;
    }
    out.accepting[cls[s]] = d.accepting[s];
  }
  out.start = cls[d.start];
  d = std::move(out);
}

}  // namespace

bool Dfa::matches(std::string_view s) const {
  int32_t q = start;
  for (char c : s) {
    q = next[q][static_cast<uint8_t>(c)];
    if (q < 0) return false;
  }
  return accepting[q];
}

Dfa build_dfa(const Expr& e, const DfaLimits& limits) {
  Nfa nfa = make_nfa(e, limits.max_nfa_states);
  std::vector<uint32_t> mark(nfa.st.size(), 0);
  uint32_t gen = 0;
  std::unordered_map<std::vector<int32_t>, int32_t, VecHash> ids;
  std::vector<std::vector<int32_t>> sets;
  Dfa d;
  auto intern = [&](std::vector<int32_t>&& set) -> int32_t {
    if (set.empty()) return -1;
    auto it = ids.find(set);
    if (it != ids.end()) return it->second;
    if (sets.size() >= limits.max_states)
      SGL_THROW(Status::kInvalidArgument,
                "regex DFA exceeds the bound of {} states (max_dfa_states); simplify the pattern "
                "or raise the bound", limits.max_states);
    int32_t id = static_cast<int32_t>(sets.size());
    ids.emplace(set, id);
    d.accepting.push_back(std::binary_search(set.begin(), set.end(), nfa.accept));
    sets.push_back(std::move(set));
    d.next.emplace_back();
    return id;
  };
  std::vector<int32_t> first{nfa.start};
  nfa.closure(first, mark, ++gen);
  d.start = intern(std::move(first));
  std::vector<std::vector<int32_t>> bucket(256);
  for (size_t q = 0; q < sets.size(); ++q) {
    for (auto& b : bucket) b.clear();
    for (int32_t s : sets[q])
      if (nfa.st[s].has_set)
        for (int b = 0; b < 256; ++b)
          if (nfa.st[s].set.test(static_cast<uint8_t>(b))) bucket[b].push_back(nfa.st[s].next);
    std::map<std::vector<int32_t>, int32_t> local;  // identical targets share one closure
    for (int b = 0; b < 256; ++b) {
      int32_t t = -1;
      if (!bucket[b].empty()) {
        auto it = local.find(bucket[b]);
        if (it != local.end()) {
          t = it->second;
        } else {
          std::vector<int32_t> set = bucket[b];
          nfa.closure(set, mark, ++gen);
          t = intern(std::move(set));
          local.emplace(bucket[b], t);
        }
      }
      d.next[q][b] = t;
    }
  }
  if (!prune(d)) SGL_THROW(Status::kInvalidArgument, "regex matches no string");
  minimize(d);
  return d;
}

bool nfa_full_match(const Expr& e, std::string_view s) {
  Nfa nfa = make_nfa(e, 2000000);
  std::vector<uint32_t> mark(nfa.st.size(), 0);
  uint32_t gen = 0;
  std::vector<int32_t> cur{nfa.start};
  nfa.closure(cur, mark, ++gen);
  for (char c : s) {
    std::vector<int32_t> nxt;
    for (int32_t q : cur)
      if (nfa.st[q].has_set && nfa.st[q].set.test(static_cast<uint8_t>(c)))
        nxt.push_back(nfa.st[q].next);
    nfa.closure(nxt, mark, ++gen);
    cur.swap(nxt);
    if (cur.empty()) return false;
  }
  return std::binary_search(cur.begin(), cur.end(), nfa.accept);
}

uint32_t dfa_to_rules(const Dfa& dfa_in, GrammarBuilder& b, const std::string& prefix,
                      const ByteSet& allowed) {
  Dfa d = dfa_in;
  for (auto& row : d.next)
    for (int c = 0; c < 256; ++c)
      if (!allowed.test(static_cast<uint8_t>(c))) row[c] = -1;
  if (!prune(d))
    SGL_THROW(Status::kInvalidArgument,
              "pattern cannot be matched with the bytes allowed here (e.g. characters that JSON "
              "strings must escape)");
  std::vector<uint32_t> ids(d.size());
  for (size_t s = 0; s < d.size(); ++s) ids[s] = b.declare_unique(fmt::format("{}_{}", prefix, s));
  for (size_t s = 0; s < d.size(); ++s) {
    std::vector<Expr> alts;
    std::vector<std::pair<int32_t, ByteSet>> groups;
    for (int c = 0; c < 256; ++c) {
      int32_t t = d.next[s][c];
      if (t < 0) continue;
      auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == t; });
      if (it == groups.end()) groups.push_back({t, ByteSet{}}), it = groups.end() - 1;
      it->second.set(static_cast<uint8_t>(c));
    }
    for (auto& [t, set] : groups) alts.push_back(Expr::seq({Expr::bytes_of(set), Expr::ref(ids[t])}));
    if (d.accepting[s]) alts.push_back(Expr::empty());
    Expr body;
    body.kind = Expr::Kind::kAlt;  // keep a single alternative as a list too
    body.kids = std::move(alts);
    b.define(ids[s], std::move(body));
  }
  return ids[d.start];
}

}  // namespace sgl::grammar
