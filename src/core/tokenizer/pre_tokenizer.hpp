// Pre-tokenizers: split text into the pieces BPE runs on. Each rule is a hand-written matcher
// equivalent to one regex of the reference tokenizers (llama.cpp's `llm_tokenizer_bpe`, HF
// `tokenizers` Split/ByteLevel/Digits/Punctuation); a PreTokenizer applies its rules in order,
// each to every piece of the previous one, keeping both the matches and the gaps between them
// (regex "isolated" splitting).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sgl::tok {

enum class SplitRule : uint8_t {
  kGpt2,           // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3,         // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,          // as kLlama3 with \p{N} (single digits)
  kNumberEach,     // \p{N}
  kNumberRun,      // \p{N}+
  kAsciiDigit3,    // [0-9][0-9][0-9]
  kAsciiDigitEach, // [0-9]   (HF Digits, individual_digits: Rust is_ascii_digit)
  kAsciiDigitRun,  // [0-9]+  (HF Digits)
  kPunctRun,       // [\p{P}\$\+<=>\^~\|`]+   (falcon; HF Punctuation contiguous)
  kPunctRunNoTick, // [\p{P}\$\+<=>\^~\|]+    (llama.cpp "default")
  kNewline,        // [\r\n]
  kDsLetters,      // \s?[A-Za-zµÀ-Ö...]+      (deepseek-llm)
  kDsPunct,        // \s?[!-/:-~！-／：-～‘-‟　-。]+
  kTrailingSpace,  // \s+$
  kCjk,            // [一-龥ࠀ-一가-퟿]+
  kSpaceLetters,   // \s?\p{L}+
  kSpacePunct,     // \s?\p{P}+
  kMetaspace,      // ▁?[^▁]+ and lone ▁ (HF Metaspace with split)
};

// [begin, end) byte offsets into the text.
using Span = std::pair<uint32_t, uint32_t>;

class PreTokenizer {
 public:
  PreTokenizer() = default;
  explicit PreTokenizer(std::vector<SplitRule> rules) : rules_(std::move(rules)) {}

  bool empty() const { return rules_.empty(); }
  const std::vector<SplitRule>& rules() const { return rules_; }
  void add(SplitRule r) { rules_.push_back(r); }

  // Appends the pieces of `text` to `out` (offsets relative to text). With no rules the whole
  // text is one piece.
  void split(std::string_view text, std::vector<Span>& out) const;

 private:
  std::vector<SplitRule> rules_;
};

// The rules llama.cpp uses for a GGUF `tokenizer.ggml.pre` value (byte-level BPE), and whether the
// type encodes a pre-token found whole in the vocabulary as one token (`ignore_merges`).
// Throws sgl::Error(kUnsupported) for names it does not know.
PreTokenizer pre_tokenizer_for_gguf(std::string_view pre, bool* ignore_merges);

// The rule for an HF `Split` pre-tokenizer pattern, if it is one of the known ones.
bool split_rule_for_regex(std::string_view pattern, SplitRule* rule);

}  // namespace sgl::tok
