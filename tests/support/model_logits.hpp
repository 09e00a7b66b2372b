// Full-model logits of a model file on one backend, for tests comparing backends, weight types
// and KV cache types on the same prompt.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.hpp"

namespace sgl::test {

struct LogitsRun {
  size_t decode_tokens = 3;                  // the last tokens, decoded one step each
  kernels::DType kv_dtype = kernels::DType::F32;
  int kv_pages = 8;                          // pages of 4 slots
  bool reverse_pages = false;                // hand the pages out in reverse order
};

// Prefills all but the last `decode_tokens` prompt tokens (logits for every position), then
// decodes those one by one (logits of each step); returns all logit rows concatenated.
std::vector<float> prefill_decode_logits(const std::string& path, const std::string& device,
                                         const std::vector<int32_t>& prompt, const LogitsRun& run = {});

}  // namespace sgl::test
