// ForwardBatch: the work of one forward call — new tokens of several sequences (chunks of
// prefill and single decode tokens alike), their positions, the KV slots they are written to,
// the page table each sequence attends over, and which rows need logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/backend.hpp"

namespace sgl {

struct ForwardBatch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> slots;
  std::vector<kernels::AttnSeq> seqs;
  std::vector<int32_t> logit_rows;  // ascending rows of `tokens`

  // Appends `new_tokens` of a sequence that already has `past_len` positions in the KV pool.
  // `pages` (kept alive by the caller until forward returns) must cover past_len +
  // new_tokens.size() positions. want_logits: none, the last token, or every token.
  enum class Logits { kNone, kLast, kAll };
  void add_sequence(std::span<const int32_t> new_tokens, int32_t past_len, std::span<const int32_t> pages,
                    int page_size, Logits want_logits);

  int64_t n_tokens() const { return static_cast<int64_t>(tokens.size()); }
  void clear();
};

}  // namespace sgl
