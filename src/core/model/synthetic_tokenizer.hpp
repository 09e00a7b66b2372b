// The small real tokenizer embedded in synthetic models: a SentencePiece-style BPE vocabulary
// (<unk>, <s>, </s>, 256 byte-fallback tokens <0x00>..<0xFF>, then pieces with ▁ for a space)
// learned by a tiny BPE training run on an embedded English text, so tests on a fresh machine
// need nothing from outside. The same vocabulary is written as GGUF metadata
// (tokenizer.ggml.*) and as an HF tokenizer.json (BPE, byte_fallback) + tokenizer_config.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sgl {

// GGUF / SentencePiece token types.
enum class SpmTokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct SpmVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;  // higher merges first: piece rank r has score -r
  std::vector<int32_t> types;  // SpmTokenType values
  // HF BPE merges (left, right) in rank order: for each merged piece in score order, every split
  // into two pieces of the vocabulary (what HF's SentencePiece converter emits), so HF's
  // rank-based merging and llama.cpp's score-based merging agree.
  std::vector<std::pair<std::string, std::string>> merges;
  int32_t unk_id = 0;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
};

// The training text.
std::string_view synthetic_corpus();

// Smallest vocabulary the training text supports (specials + bytes + its characters + 1).
int64_t synthetic_vocab_min();

// Exactly n_vocab tokens. Learned merges come first; when the text runs out of pairs, the
// vocabulary is padded with further concatenations of learned pieces. Deterministic.
// Throws sgl::Error(kInvalidArgument) when n_vocab < synthetic_vocab_min() or > 1,000,000.
SpmVocab build_synthetic_vocab(int64_t n_vocab);

// A ChatML template (<|im_start|>role\ncontent<|im_end|>\n ...), as Jinja.
std::string synthetic_chat_template();

// HF tokenizer.json and tokenizer_config.json text for `v`.
std::string synthetic_tokenizer_json(const SpmVocab& v);
std::string synthetic_tokenizer_config_json(const SpmVocab& v, int64_t n_ctx);

}  // namespace sgl
