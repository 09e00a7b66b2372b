// Public API of constrained decoding: compile a regex / JSON schema / JSON object / EBNF grammar
// against a vocabulary once (CompiledGrammar: immutable, shared, cached by an XXH3 hash of
// kind, source, options and vocabulary), then give each request a cheap GrammarMatcher that
// fills a caller-provided token bitmask, accepts tokens, rolls back and finds jump-forward
// strings. The vocabulary is plain bytes per token; no tokenizer or engine types appear here.
//
// Token masks: one bit per token id, bit (id % 32) of word (id / 32); 1 = allowed.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sgl::grammar {

struct Grammar;
class VocabIndex;
class CompiledGrammar;

enum class GrammarKind : uint8_t { kRegex, kJsonSchema, kJsonObject, kEbnf };
const char* grammar_kind_name(GrammarKind k);

// Whitespace the JSON grammars allow between tokens.
enum class JsonWhitespace : uint8_t {
  kCompact,  // {"a":1,"b":[1,2]}  (default)
  kSpaced,   // {"a": 1, "b": [1, 2]}  (xgrammar's separators when whitespace is not free)
  kAny,      // any run of up to max_whitespace spaces, tabs, newlines where JSON allows it
};

struct GrammarOptions {
  JsonWhitespace whitespace = JsonWhitespace::kCompact;
  uint32_t max_whitespace = 16;
  // JSON schema: report (warn) keywords the grammar cannot enforce instead of failing.
  bool allow_unenforced_keywords = false;
  // JSON schema: objects with `properties` and no `additionalProperties` take no other keys
  // (xgrammar's strict_mode). False: any extra keys, as the JSON Schema spec says.
  bool strict_properties = true;
  size_t max_dfa_states = 10000;    // per regex (also schema patterns and formats)
  uint32_t max_stack_depth = 4096;  // matcher nesting bound
  size_t max_stacks = 20000;        // parallel stacks bound (ambiguity)
  std::string ebnf_root = "root";
};

struct Vocab {
  std::vector<std::string> token_bytes;  // raw bytes each token decodes to
  std::vector<int32_t> special_ids;      // control tokens: never allowed
  std::vector<int32_t> eos_ids;          // allowed exactly when the grammar can terminate
};

// Sorted vocabulary with shared-prefix lengths: built once per tokenizer, shared by grammars.
class VocabIndex {
 public:
  explicit VocabIndex(Vocab v);
  size_t size() const { return vocab_.token_bytes.size(); }
  size_t mask_words() const { return (size() + 31) / 32; }
  uint64_t hash() const { return hash_; }
  const Vocab& vocab() const { return vocab_; }
  const std::vector<int32_t>& order() const { return order_; }  // ordinary tokens, byte order
  const std::vector<uint32_t>& lcp() const { return lcp_; }     // with the previous in order
  size_t max_len() const { return max_len_; }

 private:
  Vocab vocab_;
  std::vector<int32_t> order_;
  std::vector<uint32_t> lcp_;
  size_t max_len_ = 0;
  uint64_t hash_ = 0;
};

// Lowering of each kind into a Grammar (no vocabulary needed). Errors: sgl::Error with
// kParseError (offset() set) for malformed input, kUnsupported naming an unenforceable
// keyword, kInvalidArgument for exceeded bounds or left recursion.
std::shared_ptr<const Grammar> build_grammar(GrammarKind kind, std::string_view source,
                                             const GrammarOptions& opt,
                                             std::vector<std::string>* warnings = nullptr);

std::shared_ptr<const CompiledGrammar> compile_grammar(GrammarKind kind, std::string_view source,
                                                       std::shared_ptr<const VocabIndex> vocab,
                                                       const GrammarOptions& opt = {});
std::shared_ptr<const CompiledGrammar> compile_grammar(GrammarKind kind, std::string_view source,
                                                       const Vocab& vocab,
                                                       const GrammarOptions& opt = {});

class CompiledGrammar {
 public:
  struct TokenEntry {
    std::vector<uint32_t> accepted;  // mask words: accepted whatever lies below the top two frames
    std::vector<int32_t> uncertain;       // need the full stack to decide; in byte order
    std::vector<uint32_t> uncertain_lcp;  // shared prefix with the previous uncertain token
  };

  CompiledGrammar(GrammarKind kind, std::shared_ptr<const Grammar> g,
                  std::shared_ptr<const VocabIndex> vocab, const GrammarOptions& opt,
                  std::vector<std::string> warnings, uint64_t hash);
  ~CompiledGrammar();

  GrammarKind kind() const { return kind_; }
  const Grammar& grammar() const { return *grammar_; }
  const VocabIndex& vocab() const { return *vocab_; }
  const GrammarOptions& options() const { return opt_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  uint64_t hash() const { return hash_; }
  // The token classification for a stack whose top is at `pos` over a frame at `parent_pos`
  // (kNoParent: the top frame is the outermost one), computed on first use (thread-safe).
  static constexpr uint32_t kNoParent = 0xFFFFFFFFu;
  const TokenEntry& entry(uint32_t pos, uint32_t parent_pos) const;
  size_t cached_entries() const;

 private:
  TokenEntry compute_entry(uint32_t pos, uint32_t parent_pos) const;
  void compute_return_sites();

  // Lookahead for the classification: the positions a frame of rule r can return to (the
  // element after each reference to r, through tail references), and whether r can also be the
  // outermost frame. Lets tokens that run past the top two frames into text no caller accepts
  // be rejected once, at classification, instead of checked against the stack at every mask.
  std::vector<std::vector<uint32_t>> return_sites_;
  std::vector<uint8_t> may_be_outermost_;
  std::vector<uint32_t> owner_;  // position -> rule

  GrammarKind kind_;
  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const VocabIndex> vocab_;
  GrammarOptions opt_;
  std::vector<std::string> warnings_;
  uint64_t hash_;
  mutable std::mutex mu_;
  mutable std::unordered_map<uint64_t, std::unique_ptr<TokenEntry>> entries_;  // (parent_pos, pos)
};

// Compiled grammars keyed by XXH3 of (kind, source, options, vocabulary).
class GrammarCache {
 public:
  explicit GrammarCache(Vocab vocab, size_t max_entries = 256);
  std::shared_ptr<const CompiledGrammar> get(GrammarKind kind, std::string_view source,
                                             const GrammarOptions& opt = {});
  const std::shared_ptr<const VocabIndex>& vocab() const { return vocab_; }
  size_t size() const;
  size_t hits() const { return hits_; }

 private:
  std::shared_ptr<const VocabIndex> vocab_;
  size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<const CompiledGrammar>> map_;
  size_t hits_ = 0;
};

// Per-request matcher state. Not thread-safe; cheap to create.
class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const CompiledGrammar> g, size_t max_rollback = 64);
  ~GrammarMatcher();
  GrammarMatcher(GrammarMatcher&&) noexcept;

  size_t mask_words() const;
  // Writes mask_words() words.
  void fill_next_token_bitmask(uint32_t* mask);
  // False (state unchanged) if the token is not allowed. EOS is accepted only when the grammar
  // can terminate; it then terminates the matcher.
  bool accept_token(int32_t id);
  // Byte-level advance (counts as one step for rollback). False (unchanged) if rejected.
  bool accept_bytes(std::string_view bytes);
  // Undoes the last k accepted steps (at most max_rollback are kept).
  void rollback(size_t k);
  bool can_terminate() const;
  bool is_terminated() const { return terminated_; }
  // Bytes forced by the grammar from here (empty if the next byte is not unique or the output
  // may end here). The engine re-tokenizes them and feeds the tokens to accept_token.
  std::string find_jump_forward_string(size_t max_bytes = 1024);
  void reset();
  // The matcher remembers the masks of recent states (repeated states inside long strings or
  // arrays are common); benchmarks turn this off to time the computation itself.
  void set_mask_cache(bool enabled) { mask_cache_ = enabled; }

 private:
  struct Impl;
  bool mask_cache_ = true;
  std::shared_ptr<const CompiledGrammar> g_;
  std::unique_ptr<Impl> impl_;
  bool terminated_ = false;
};

}  // namespace sgl::grammar
