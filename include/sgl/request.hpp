// Request and Result: what a caller submits to the Engine and what comes back, plus the
// incremental StreamChunk a RequestHandle yields while the request runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sgl/error.hpp"
#include "sgl/sampling_params.hpp"
#include "sgl/tokenizer.hpp"  // ChatMessage

namespace sgl {

struct StreamChunk;

struct Request {
  // Exactly one prompt form: input_ids (used as-is), else messages (chat template applied with
  // a generation prompt, then encoded), else text (encoded with the tokenizer's BOS rule).
  std::string text;
  std::vector<int32_t> input_ids;
  std::vector<ChatMessage> messages;
  SamplingParams sampling;
  std::string rid;  // optional caller id; echoed in results ("" = engine assigns one)
  // Optional: called on the scheduler thread for every chunk instead of queueing it for next().
  // Must be quick and must not block on this request's handle. If it throws on a partial
  // chunk the request is aborted with the exception's message; a throw on the final chunk is
  // logged and the result kept.
  std::function<void(const StreamChunk&)> on_chunk;
};

enum class FinishKind { kNone = 0, kStop, kLength, kAbort };

struct FinishReason {
  FinishKind kind = FinishKind::kNone;
  std::string matched_str;               // kStop by a stop string
  std::optional<int32_t> matched_token;  // kStop by EOS or a stop token id
  std::string message;                   // kAbort: why (cancelled, rejected, shut down, failed)
  // kAbort: the error's code — kInvalidArgument for a request refused at submission (prompt
  // longer than the context or the KV pool), kCancelled for cancel() and shutdown, the thrown
  // sgl::Error's code (kOutOfMemory for std::bad_alloc, else kInternal) for a failure while it ran.
  Status status = Status::kOk;
  // SGLang's names: "stop", "length", "abort" ("" while running).
  const char* type() const;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // top_logprobs_num best (token, logprob)
};

struct Result {
  // SamplingParams::logprob_start_len >= 0: prompt positions [start, prompt_tokens), each the
  // logprob of that prompt token given the ones before (position 0 has none: logprob is NaN).
  std::vector<TokenLogprob> input_logprobs;
  std::string rid;
  int index = 0;  // sample index in [0, n)
  std::string text;
  std::vector<int32_t> output_ids;
  FinishReason finish;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t forced_tokens = 0;         // of completion_tokens, appended by grammar jump-forward unsampled
  int64_t cached_tokens = 0;         // prompt tokens served from the radix cache
  double time_to_first_token = 0.0;  // seconds from submit to the first output token
  double e2e_latency = 0.0;          // seconds from submit to finish
  std::vector<TokenLogprob> output_logprobs;  // when sampling.return_logprob
  bool ok() const { return finish.kind != FinishKind::kAbort; }
};

// One increment of one sample's output. `finished` chunks carry the final Result.
struct StreamChunk {
  int index = 0;                   // which sample (0..n-1)
  std::string text;                // new text since the previous chunk of this sample
  std::vector<int32_t> token_ids;  // new token ids since the previous chunk
  std::vector<TokenLogprob> logprobs;  // for token_ids, when asked
  bool finished = false;
  std::optional<Result> result;    // set when finished
};

}  // namespace sgl
