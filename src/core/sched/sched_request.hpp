// SchedRequest: the scheduler's private state of one sample of one request — its tokens, KV
// page table, radix lock, sampler, text/stop bookkeeping and timings. Owned and touched only by
// the scheduler thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kv/radix_cache.hpp"
#include "core/sample/sampler.hpp"
#include "core/sched/request_channel.hpp"
#include "core/sched/token_mask.hpp"
#include "sgl/request.hpp"

namespace sgl {

using SteadyClock = std::chrono::steady_clock;

// Shared by the n samples of one request: samples 1..n-1 wait until sample 0 has prefilled the
// prompt, so they find it in the radix cache instead of computing it n times.
struct SampleGroup {
  bool leader_prefilled = false;
};

struct SchedRequest {
  uint64_t serial = 0;  // arrival order (fcfs tie-break)
  int index = 0;        // sample index
  std::shared_ptr<detail::RequestChannel> channel;
  std::shared_ptr<SampleGroup> group;
  SamplingParams params;
  int64_t max_new = 0;  // max_new_tokens clipped to the context and the pool

  // Prompt then output; tokens[kv_len..] are not in the KV pool yet: the last sampled token,
  // plus any tokens jump-forward appended after it.
  std::vector<int32_t> tokens;
  int64_t prompt_len = 0;
  int64_t n_output() const { return static_cast<int64_t>(tokens.size()) - prompt_len; }

  // KV state. pages cover positions [0, kv_len) (and the step's new tokens once allocated).
  // [0, cached_len) are owned by the radix tree and locked through `node`; the rest are ours.
  std::vector<int32_t> pages;
  int64_t kv_len = 0;
  int64_t cached_len = 0;
  RadixCache::NodeId node = RadixCache::kRoot;
  bool prefill_done = false;  // the whole of `tokens` (minus the last sampled one) is in KV
  bool admitted_once = false;
  int64_t cached_prompt_tokens = 0;  // radix hit at first admission
  int64_t lpm_hint = 0;              // matched prefix when the queue was last sorted

  std::unique_ptr<SamplerState> sampler;
  std::unique_ptr<TokenMaskProvider> mask;  // optional constrained decoding
  std::vector<TokenLogprob> logprobs;
  std::vector<TokenLogprob> input_logprobs;  // params.logprob_start_len >= 0
  int64_t forced_tokens = 0;  // output tokens appended by grammar jump-forward (not sampled)

  // Text: `text` is the decoded output so far; text_sent bytes and tokens_sent ids went out.
  std::string text;
  size_t text_sent = 0;
  size_t tokens_sent = 0;
  size_t stop_searched = 0;  // text bytes already searched for stop strings

  SteadyClock::time_point submitted;
  SteadyClock::time_point first_token;
  bool has_first_token = false;
  FinishReason finish;
};

}  // namespace sgl
