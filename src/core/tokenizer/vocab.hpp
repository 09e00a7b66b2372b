// Vocab: everything a tokenizer needs, loaded from GGUF metadata or HF tokenizer.json and then
// finalized (lookup tables, byte tokens, special-token matcher, end-of-generation set). Token
// types follow llama.cpp / GGUF numbering.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/bpe.hpp"
#include "core/tokenizer/pre_tokenizer.hpp"

namespace sgl::tok {

enum class TokenType : uint8_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

enum class ModelKind : uint8_t {
  kSpm,        // SentencePiece-style: ▁ for spaces, optional dummy prefix, <0xNN> byte fallback
  kByteLevel,  // GPT-2 byte-level BPE
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct Vocab {
  // ---- filled by a loader ----
  ModelKind kind = ModelKind::kSpm;
  std::string source;                 // for error messages
  std::vector<std::string> text;      // token text as stored in the vocabulary
  std::vector<float> score;           // SPM merge scores (may be empty for rank-based BPE)
  std::vector<TokenType> type;
  std::vector<uint8_t> strip;         // bit 0: lstrip, bit 1: rstrip (HF added tokens)
  MergeTable merges;                  // filled by the loader for rank BPE; by finalize() for SPM scores
  bool score_merges = false;          // SPM: derive merges from scores in finalize()
  PreTokenizer pre;
  std::string pre_name;
  bool ignore_merges = false;         // a pre-token found whole in the vocab is one token
  bool add_space_prefix = false;      // SPM: prefix ▁ to text at the start / after a special token
  bool escape_spaces = false;         // SPM: ' ' -> ▁ before BPE
  bool byte_fallback = true;          // SPM: unknown characters become <0xNN> tokens
  bool add_bos = false, add_eos = false;
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, eot = -1;
  std::string chat_template;

  // ---- derived by finalize() ----
  TokenMap to_id;
  std::vector<std::string> bytes;     // exact bytes each token emits when decoded
  std::array<int32_t, 256> byte_id{}; // token for a raw byte (-1 if none)
  std::vector<int32_t> eog;           // end-of-generation ids, sorted
  // Special / added tokens for matching in raw text: a byte trie (node 0 is the root) whose
  // nodes record the token ending there, if it is matchable with / without parse_special.
  struct TrieNode {
    int32_t any = -1;   // control, unknown or user-defined token ending here
    int32_t user = -1;  // user-defined token ending here (matched even without parse_special)
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
  };
  std::vector<TrieNode> trie;
  std::array<bool, 256> special_first{};      // any matchable token starts with this byte
  std::array<bool, 256> user_first{};         // ... a user-defined one
  // SPM: no token joins a character to a following ▁, so text can be cut before each word's ▁
  // run and the words merged (and cached) independently with identical results.
  bool spm_word_split = false;

  int32_t size() const { return int32_t(text.size()); }
  bool valid(int32_t id) const { return id >= 0 && id < size(); }
  int32_t find(std::string_view s) const {
    auto it = to_id.find(s);
    return it == to_id.end() ? -1 : it->second;
  }
  // Control, unknown and unused tokens: skipped by decode(skip_special).
  bool is_special(int32_t id) const {
    const TokenType t = type[id];
    return t == TokenType::kControl || t == TokenType::kUnknown || t == TokenType::kUnused;
  }

  // Longest matchable special token at text[pos...], or -1.
  int32_t match_special(std::string_view text, size_t pos, bool parse_special) const;

  // Validates sizes and ids, re-types end-of-generation / fill-in-the-middle markers that are not
  // control tokens (as llama.cpp does), and builds the derived tables. Throws sgl::Error.
  void finalize();
};

}  // namespace sgl::tok
