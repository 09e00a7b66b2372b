#include "core/model/forward_batch.hpp"

#include "core/support/check.hpp"

namespace sgl {

void ForwardBatch::add_sequence(std::span<const int32_t> new_tokens, int32_t past_len, std::span<const int32_t> pages,
                                int page_size, Logits want_logits) {
  const auto n = static_cast<int32_t>(new_tokens.size());
  const int32_t kv_len = past_len + n;
  SGL_CHECK(static_cast<int64_t>(pages.size()) * page_size >= kv_len, "page table of {} pages x {} does not cover {} positions",
            pages.size(), page_size, kv_len);
  const auto q_start = static_cast<int32_t>(tokens.size());
  for (int32_t i = 0; i < n; ++i) {
    int32_t pos = past_len + i;
    tokens.push_back(new_tokens[i]);
    positions.push_back(pos);
    slots.push_back(pages[pos / page_size] * page_size + pos % page_size);
    if (want_logits == Logits::kAll || (want_logits == Logits::kLast && i == n - 1)) logit_rows.push_back(q_start + i);
  }
  if (n > 0) seqs.push_back(kernels::AttnSeq{q_start, n, kv_len, pages.data()});
}

void ForwardBatch::clear() {
  tokens.clear();
  positions.clear();
  slots.clear();
  seqs.clear();
  logit_rows.clear();
}

}  // namespace sgl
