// Compilation, the per-stack-top token classification (vocabulary trie walk), the grammar cache
// and the per-request matcher.
//
// Token classification for a stack whose top two frames are at positions (q, p) (an
// XGrammar-style adaptive cache): walk the sorted vocabulary from the two-frame stack [q, p]; a
// token whose bytes can all be consumed inside those frames (or that ends exactly when they
// complete) is accepted in every context; a token that can only continue by popping below them
// is "uncertain" and is checked against the real stack at mask time, unless one more level of
// static lookahead (the places q's rule can return to) rejects it everywhere; every other token
// is rejected everywhere. Keying by two frames, not one, matters: a token such as `",` that
// closes a string and goes on into the enclosing object is decided by the object's frame, which
// one-frame keys could only check at mask time, for every such token of a 152k vocabulary.
// Shared prefixes are advanced once (the stack sets per depth are kept), and a prefix that dies
// prunes its whole subtree.
#include "core/grammar/grammar_matcher.hpp"

#include <xxhash.h>

#include <algorithm>
#include <deque>
#include <numeric>

#include "core/grammar/ebnf.hpp"
#include "core/grammar/grammar.hpp"
#include "core/grammar/json_schema.hpp"
#include "core/grammar/regex_dfa.hpp"
#include "core/grammar/regex_parser.hpp"
#include "core/grammar/stack_pda.hpp"
#include "core/support/check.hpp"
#include "core/support/log.hpp"

namespace sgl::grammar {

const char* grammar_kind_name(GrammarKind k) {
  switch (k) {
    case GrammarKind::kRegex: return "regex";
    case GrammarKind::kJsonSchema: return "json_schema";
    case GrammarKind::kJsonObject: return "json_object";
    case GrammarKind::kEbnf: return "ebnf";
  }
  return "?";
}

VocabIndex::VocabIndex(Vocab v) : vocab_(std::move(v)) {
  const size_t n = vocab_.token_bytes.size();
  std::vector<bool> excluded(n, false);
  for (int32_t id : vocab_.special_ids) {
    if (id < 0 || static_cast<size_t>(id) >= n)
      SGL_THROW(Status::kInvalidArgument, "special token id {} outside the vocabulary of {}", id, n);
    excluded[id] = true;
  }
  for (int32_t id : vocab_.eos_ids) {
    if (id < 0 || static_cast<size_t>(id) >= n)
      SGL_THROW(Status::kInvalidArgument, "eos token id {} outside the vocabulary of {}", id, n);
    excluded[id] = true;
  }
  for (size_t i = 0; i < n; ++i)
    if (!excluded[i] && !vocab_.token_bytes[i].empty()) order_.push_back(static_cast<int32_t>(i));
  std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    return vocab_.token_bytes[a] < vocab_.token_bytes[b];
  });
  lcp_.assign(order_.size(), 0);
  for (size_t i = 0; i < order_.size(); ++i) {
    const std::string& t = vocab_.token_bytes[order_[i]];
    max_len_ = std::max(max_len_, t.size());
    if (i == 0) continue;
    const std::string& p = vocab_.token_bytes[order_[i - 1]];
    size_t k = 0;
    while (k < t.size() && k < p.size() && t[k] == p[k]) ++k;
    lcp_[i] = static_cast<uint32_t>(k);
  }
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  for (const std::string& t : vocab_.token_bytes) {
    uint64_t len = t.size();
    XXH3_64bits_update(st, &len, sizeof len);
    XXH3_64bits_update(st, t.data(), t.size());
  }
  uint64_t sep = ~uint64_t{0};
  XXH3_64bits_update(st, &sep, sizeof sep);
  XXH3_64bits_update(st, vocab_.special_ids.data(), vocab_.special_ids.size() * sizeof(int32_t));
  XXH3_64bits_update(st, &sep, sizeof sep);
  XXH3_64bits_update(st, vocab_.eos_ids.data(), vocab_.eos_ids.size() * sizeof(int32_t));
  hash_ = XXH3_64bits_digest(st);
  XXH3_freeState(st);
}

static std::shared_ptr<const Grammar> regex_grammar(std::string_view src, const GrammarOptions& opt) {
  ParsedRegex re = parse_regex(src);
  DfaLimits lim;
  lim.max_states = opt.max_dfa_states;
  Dfa dfa = build_dfa(re.expr, lim);
  GrammarBuilder b;
  uint32_t root = b.declare("root");
  uint32_t start = dfa_to_rules(dfa, b, "s", ByteSet{}.complement());
  b.define(root, Expr::ref(start));
  return std::make_shared<const Grammar>(b.build(root));
}

std::shared_ptr<const Grammar> build_grammar(GrammarKind kind, std::string_view source,
                                             const GrammarOptions& opt,
                                             std::vector<std::string>* warnings) {
  switch (kind) {
    case GrammarKind::kRegex:
      return regex_grammar(source, opt);
    case GrammarKind::kJsonSchema:
      return std::make_shared<const Grammar>(json_schema_to_grammar(source, opt, warnings));
    case GrammarKind::kJsonObject:
      return std::make_shared<const Grammar>(json_object_grammar(opt));
    case GrammarKind::kEbnf:
      return std::make_shared<const Grammar>(ebnf_to_grammar(source, opt.ebnf_root));
  }
  SGL_THROW(Status::kInvalidArgument, "unknown grammar kind");
}

static uint64_t compile_key(GrammarKind kind, std::string_view source, const GrammarOptions& o,
                            uint64_t vocab_hash) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  uint8_t k = static_cast<uint8_t>(kind);
  XXH3_64bits_update(st, &k, 1);
  uint64_t len = source.size();
  XXH3_64bits_update(st, &len, sizeof len);
  XXH3_64bits_update(st, source.data(), source.size());
  uint64_t fields[] = {static_cast<uint64_t>(o.whitespace), o.max_whitespace,
                       o.allow_unenforced_keywords, o.strict_properties, o.max_dfa_states,
                       o.max_stack_depth, o.max_stacks, vocab_hash};
  XXH3_64bits_update(st, fields, sizeof fields);
  XXH3_64bits_update(st, o.ebnf_root.data(), o.ebnf_root.size());
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

std::shared_ptr<const CompiledGrammar> compile_grammar(GrammarKind kind, std::string_view source,
                                                       std::shared_ptr<const VocabIndex> vocab,
                                                       const GrammarOptions& opt) {
  std::vector<std::string> warnings;
  auto g = build_grammar(kind, source, opt, &warnings);
  uint64_t h = compile_key(kind, source, opt, vocab->hash());
  return std::make_shared<const CompiledGrammar>(kind, std::move(g), std::move(vocab), opt,
                                                 std::move(warnings), h);
}

std::shared_ptr<const CompiledGrammar> compile_grammar(GrammarKind kind, std::string_view source,
                                                       const Vocab& vocab,
                                                       const GrammarOptions& opt) {
  return compile_grammar(kind, source, std::make_shared<const VocabIndex>(vocab), opt);
}

CompiledGrammar::CompiledGrammar(GrammarKind kind, std::shared_ptr<const Grammar> g,
                                 std::shared_ptr<const VocabIndex> vocab, const GrammarOptions& opt,
                                 std::vector<std::string> warnings, uint64_t hash)
    : kind_(kind), grammar_(std::move(g)), vocab_(std::move(vocab)), opt_(opt),
      warnings_(std::move(warnings)), hash_(hash) {
  compute_return_sites();
}

void CompiledGrammar::compute_return_sites() {
  using EK = Grammar::ElemKind;
  const Grammar& g = *grammar_;
  const size_t nr = g.rules.size();
  owner_.assign(g.elems.size(), 0);
  for (uint32_t r = 0; r < nr; ++r)
    for (uint32_t a : g.rules[r].alts)
      for (uint32_t p = a; p < g.elems.size(); ++p) {
        owner_[p] = r;
        if (g.elems[p].kind == EK::kEnd) break;
      }
  // Direct return sites, and tail references (the caller's own return sites apply).
  std::vector<std::vector<uint32_t>> tail_callers(nr);
  return_sites_.assign(nr, {});
  may_be_outermost_.assign(nr, 0);
  may_be_outermost_[g.root] = 1;
  for (uint32_t p = 0; p + 1 < g.elems.size(); ++p) {
    if (g.elems[p].kind != EK::kRef) continue;
    const uint32_t callee = g.elems[p].arg;
    if (g.elems[p + 1].kind == EK::kEnd)
      tail_callers[callee].push_back(owner_[p]);
    else
      return_sites_[callee].push_back(p + 1);
  }
  for (auto& v : return_sites_) std::sort(v.begin(), v.end());
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t r = 0; r < nr; ++r)
      for (uint32_t c : tail_callers[r]) {
        if (may_be_outermost_[c] && !may_be_outermost_[r]) may_be_outermost_[r] = 1, changed = true;
        std::vector<uint32_t> merged;
        std::set_union(return_sites_[r].begin(), return_sites_[r].end(), return_sites_[c].begin(),
                       return_sites_[c].end(), std::back_inserter(merged));
        if (merged.size() != return_sites_[r].size()) return_sites_[r].swap(merged), changed = true;
      }
  }
}

CompiledGrammar::~CompiledGrammar() = default;

size_t CompiledGrammar::cached_entries() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

const CompiledGrammar::TokenEntry& CompiledGrammar::entry(uint32_t pos, uint32_t parent_pos) const {
  const uint64_t key = (uint64_t{parent_pos} << 32) | pos;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return *it->second;
  }
  auto e = std::make_unique<TokenEntry>(compute_entry(pos, parent_pos));
  std::lock_guard lock(mu_);
  auto [it, fresh] = entries_.emplace(key, std::move(e));
  return *it->second;
}

CompiledGrammar::TokenEntry CompiledGrammar::compute_entry(uint32_t pos, uint32_t parent_pos) const {
  const VocabIndex& vi = *vocab_;
  const auto& order = vi.order();
  const auto& lcp = vi.lcp();
  const auto& toks = vi.vocab().token_bytes;
  StackPool pool(opt_.max_stack_depth);
  PdaLimits lim{opt_.max_stack_depth, opt_.max_stacks};
  Pda pda(*grammar_, pool, lim);
  TokenEntry out;
  out.accepted.assign(vi.mask_words(), 0);
  std::vector<StackSet> sets(vi.max_len() + 1);
  std::vector<char> hit(vi.max_len() + 1, 0);
  const uint32_t below = parent_pos == kNoParent ? 0 : pool.push(0, parent_pos);
  sets[0] = {pool.push(below, pos)};
  size_t valid = 0;
  const size_t n = order.size();
  size_t i = 0;
  while (i < n) {
    const int32_t id = order[i];
    const std::string& t = toks[id];
    size_t k = std::min<size_t>(lcp[i], valid);
    bool dead = false;
    for (; k < t.size(); ++k) {
      hit[k + 1] = hit[k] || (!sets[k].empty() && sets[k][0] == 0);
      pda.advance(sets[k], static_cast<uint8_t>(t[k]), sets[k + 1]);
      if (sets[k + 1].empty()) {
        dead = true;
        break;
      }
    }
    if (!dead) {
      out.accepted[id >> 5] |= uint32_t{1} << (id & 31);
      valid = t.size();
      ++i;
      continue;
    }
    // Every token sharing t[0..k] dies inside the frame at byte k.
    valid = k;
    const bool uncertain = hit[k + 1];
    size_t j = i;
    do {
      if (uncertain) out.uncertain.push_back(order[j]);
      ++j;
    } while (j < n && lcp[j] >= k + 1);
    i = j;
  }
  // Second pass over the candidates, now with one level of context: the frame on top of each
  // place its rule can return to. A candidate that dies there without ever reaching the unknown
  // context below (stack 0) is rejected in every real context, since the real stack's next frame
  // is one of these return sites. Candidates that survive, or reach the unknown part, stay
  // uncertain and are decided against the real stack at mask time.
  // Without a parent frame the stack below is really empty: nothing can follow, and the
  // candidates are rejected.
  if (parent_pos == kNoParent) out.uncertain.clear();
  if (!out.uncertain.empty()) {
    std::vector<int32_t> cand;
    cand.swap(out.uncertain);
    const uint32_t rule = owner_[parent_pos];
    StackSet start;
    for (uint32_t q : return_sites_[rule]) start.push_back(pool.push(pool.push(pool.push(0, q), parent_pos), pos));
    if (may_be_outermost_[rule]) start.push_back(sets[0][0]);
    pda.finish(start);
    sets[0] = start;
    hit[0] = 0;
    valid = 0;
    std::string prev;
    for (size_t c = 0; c < cand.size();) {
      const std::string& t = toks[cand[c]];
      size_t k = 0;
      while (k < t.size() && k < prev.size() && k < valid && t[k] == prev[k]) ++k;
      bool dead = false;
      for (; k < t.size(); ++k) {
        hit[k + 1] = hit[k] || (!sets[k].empty() && sets[k][0] == 0);
        pda.advance(sets[k], static_cast<uint8_t>(t[k]), sets[k + 1]);
        if (sets[k + 1].empty()) {
          dead = true;
          break;
        }
      }
      prev = t;
      if (!dead || hit[k + 1]) {
        out.uncertain.push_back(cand[c]);
        valid = dead ? k : t.size();
      } else {
        valid = k;
      }
      ++c;
    }
  }
  out.uncertain_lcp.resize(out.uncertain.size(), 0);
  for (size_t u = 1; u < out.uncertain.size(); ++u) {
    const std::string& a = toks[out.uncertain[u - 1]];
    const std::string& b = toks[out.uncertain[u]];
    size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
    out.uncertain_lcp[u] = static_cast<uint32_t>(k);
  }
  return out;
}

GrammarCache::GrammarCache(Vocab vocab, size_t max_entries)
    : vocab_(std::make_shared<const VocabIndex>(std::move(vocab))), max_entries_(max_entries) {}

size_t GrammarCache::size() const {
  std::lock_guard lock(mu_);
  return map_.size();
}

std::shared_ptr<const CompiledGrammar> GrammarCache::get(GrammarKind kind, std::string_view source,
                                                         const GrammarOptions& opt) {
  uint64_t key = compile_key(kind, source, opt, vocab_->hash());
  {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      ++hits_;
      return it->second;
    }
  }
  auto cg = compile_grammar(kind, source, vocab_, opt);  // outside the lock: may be slow
  std::lock_guard lock(mu_);
  if (map_.size() >= max_entries_) map_.erase(map_.begin());
  map_.emplace(key, cg);
  return cg;
}

// ---------------------------------------------------------------------------------------------

struct GrammarMatcher::Impl {
  const CompiledGrammar& cg;
  StackPool pool;
  Pda pda;
  StackSet cur;
  std::deque<std::pair<StackSet, bool>> history;  // state before each step
  size_t max_rollback;
  struct Cached {
    StackSet key;
    std::vector<uint32_t> mask;
  };
  std::unordered_map<uint64_t, Cached> mask_cache;
  std::vector<StackSet> levels;  // per-depth stack sets of the uncertain-token walk
  std::vector<uint64_t> tops;    // distinct classification keys of the current stacks

  // (parent position, top position) of a non-empty stack: its classification key.
  uint64_t key_of_stack(uint32_t s) const {
    const uint32_t par = pool[s].parent;
    const uint64_t ppos = par == 0 ? CompiledGrammar::kNoParent : pool[par].pos;
    return (ppos << 32) | pool[s].pos;
  }

  Impl(const CompiledGrammar& g, size_t max_rb)
      : cg(g), pool(g.options().max_stack_depth),
        pda(g.grammar(), pool, PdaLimits{g.options().max_stack_depth, g.options().max_stacks}),
        max_rollback(max_rb) {
    cur = pda.initial();
  }

  static uint64_t key_of(const StackSet& s) {
    return XXH3_64bits(s.data(), s.size() * sizeof(uint32_t));
  }

  void compute_mask(uint32_t* mask) {
    const VocabIndex& vi = cg.vocab();
    const size_t words = vi.mask_words();
    std::fill(mask, mask + words, 0u);
    const auto& toks = vi.vocab().token_bytes;
    tops.clear();
    for (uint32_t s : cur)
      if (s != 0) tops.push_back(key_of_stack(s));
    std::sort(tops.begin(), tops.end());
    tops.erase(std::unique(tops.begin(), tops.end()), tops.end());
    for (uint64_t k : tops) {
      const auto& e = cg.entry(static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32));
      const uint32_t* src = e.accepted.data();
      for (size_t w = 0; w < words; ++w) mask[w] |= src[w];
    }
    // Context-dependent tokens: a trie walk from the real stack over the (byte-ordered)
    // uncertain list, sharing the work of common prefixes.
    if (levels.size() < vi.max_len() + 1) levels.resize(vi.max_len() + 1);
    for (uint32_t s : cur) {
      if (s == 0) continue;
      const uint64_t k = key_of_stack(s);
      const auto& e = cg.entry(static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32));
      const size_t U = e.uncertain.size();
      levels[0] = {s};
      size_t valid = 0, i = 0;
      while (i < U) {
        const int32_t id = e.uncertain[i];
        const std::string& t = toks[id];
        size_t k = std::min<size_t>(e.uncertain_lcp[i], valid);
        bool dead = false;
        for (; k < t.size(); ++k) {
          pda.advance(levels[k], static_cast<uint8_t>(t[k]), levels[k + 1]);
          if (levels[k + 1].empty()) {
            dead = true;
            break;
          }
        }
        if (!dead) {
          mask[id >> 5] |= uint32_t{1} << (id & 31);
          valid = t.size();
          ++i;
          continue;
        }
        valid = k;
        do ++i;
        while (i < U && e.uncertain_lcp[i] >= k + 1);
      }
    }
    if (!cur.empty() && cur[0] == 0)
      for (int32_t id : vi.vocab().eos_ids) mask[id >> 5] |= uint32_t{1} << (id & 31);
  }

  void push_history(bool terminated) {
    history.emplace_back(cur, terminated);
    if (history.size() > max_rollback) history.pop_front();
  }
};

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> g, size_t max_rollback)
    : g_(std::move(g)), impl_(std::make_unique<Impl>(*g_, max_rollback)) {}
GrammarMatcher::~GrammarMatcher() = default;
GrammarMatcher::GrammarMatcher(GrammarMatcher&&) noexcept = default;

size_t GrammarMatcher::mask_words() const { return g_->vocab().mask_words(); }

bool GrammarMatcher::can_terminate() const {
  return !terminated_ && !impl_->cur.empty() && impl_->cur[0] == 0;
}

void GrammarMatcher::fill_next_token_bitmask(uint32_t* mask) {
  const VocabIndex& vi = g_->vocab();
  const size_t words = vi.mask_words();
  if (terminated_) {
    std::fill(mask, mask + words, 0u);
    for (int32_t id : vi.vocab().eos_ids) mask[id >> 5] |= uint32_t{1} << (id & 31);
    return;
  }
  if (!mask_cache_) {
    impl_->compute_mask(mask);
    return;
  }
  uint64_t key = Impl::key_of(impl_->cur);
  auto it = impl_->mask_cache.find(key);
  if (it != impl_->mask_cache.end() && it->second.key == impl_->cur) {
    std::copy(it->second.mask.begin(), it->second.mask.end(), mask);
    return;
  }
  impl_->compute_mask(mask);
  if (impl_->mask_cache.size() >= 128) impl_->mask_cache.clear();
  impl_->mask_cache[key] = Impl::Cached{impl_->cur, std::vector<uint32_t>(mask, mask + words)};
}

bool GrammarMatcher::accept_token(int32_t id) {
  const Vocab& v = g_->vocab().vocab();
  if (terminated_ || id < 0 || static_cast<size_t>(id) >= v.token_bytes.size()) return false;
  if (std::find(v.eos_ids.begin(), v.eos_ids.end(), id) != v.eos_ids.end()) {
    if (!can_terminate()) return false;
    impl_->push_history(false);
    terminated_ = true;
    return true;
  }
  if (std::find(v.special_ids.begin(), v.special_ids.end(), id) != v.special_ids.end())
    return false;
  if (v.token_bytes[id].empty()) return false;
  return accept_bytes(v.token_bytes[id]);
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  if (terminated_) return false;
  StackSet set = impl_->cur;
  if (!impl_->pda.advance_bytes(set, bytes)) return false;
  impl_->push_history(false);
  impl_->cur = std::move(set);
  return true;
}

void GrammarMatcher::rollback(size_t k) {
  if (k > impl_->history.size())
    SGL_THROW(Status::kInvalidArgument, "cannot roll back {} steps: only {} are kept", k,
              impl_->history.size());
  for (size_t i = 0; i < k; ++i) {
    impl_->cur = std::move(impl_->history.back().first);
    terminated_ = impl_->history.back().second;
    impl_->history.pop_back();
  }
}

std::string GrammarMatcher::find_jump_forward_string(size_t max_bytes) {
  std::string out;
  if (terminated_) return out;
  StackSet set = impl_->cur, next;
  const Grammar& g = g_->grammar();
  while (out.size() < max_bytes) {
    if (set.empty() || set[0] == 0) break;
    ByteSet u;
    for (uint32_t s : set) u.merge(g.set_at(impl_->pool[s].pos));
    if (u.count() != 1) break;
    uint8_t b = static_cast<uint8_t>(u.single());
    impl_->pda.advance(set, b, next);
    if (next.empty()) break;
    out += static_cast<char>(b);
    set.swap(next);
  }
  return out;
}

void GrammarMatcher::reset() {
  impl_->cur = impl_->pda.initial();
  impl_->history.clear();
  terminated_ = false;
}

}  // namespace sgl::grammar
