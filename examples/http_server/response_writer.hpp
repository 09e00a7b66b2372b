// Response formatting: engine Results and stream increments become the JSON of SGLang's
// /generate and OpenAI's completions / chat completions (whole responses and SSE chunks).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "request_parser.hpp"
#include "sgl/request.hpp"

namespace sgl::server {

using json = nlohmann::json;
using TokenText = std::function<std::string(int32_t)>;  // one token's text, special tokens kept

// What one sample has produced so far; streaming accumulates into it chunk by chunk.
struct SampleOutput {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<TokenLogprob> logprobs;
  std::optional<Result> result;  // set once finished
  bool sent_role = false;        // chat streaming: the first delta carries the role
};

struct ResponseContext {
  std::string id;     // "cmpl-..." / "chatcmpl-..." / the rid for /generate
  std::string model;  // served model name
  int64_t created = 0;
  TokenText token_text;
};

// SGLang's finish_reason object: {"type":"length","length":N} / {"type":"stop","matched":...} /
// {"type":"abort","message":...}; null while running.
json finish_reason_json(const Result* r);
// OpenAI's finish_reason string ("stop", "length", "abort") or null.
json openai_finish_reason(const Result* r);

// /generate: {"text", "output_ids", "meta_info": {...}} for one sample (final or in progress;
// `text` is cumulative, like SGLang's stream).
json generate_json(const SampleOutput& s, const std::string& rid, const ParsedRequest& pr, const TokenText& tt);

// OpenAI logprobs objects for a run of tokens.
json completion_logprobs_json(const std::vector<TokenLogprob>& lps, size_t text_offset, const TokenText& tt);
json chat_logprobs_json(const std::vector<TokenLogprob>& lps, const TokenText& tt);

// usage: prompt tokens once per prompt, completion tokens of every sample.
json usage_json(int64_t prompt_tokens, int64_t completion_tokens, int64_t cached_tokens);

// Whole (non-streamed) responses. `samples` is prompt-major: prompt p sample k at p * n + k;
// `echo_prefix` (completions echo) holds each prompt's text.
json completion_response(const ResponseContext& ctx, const ParsedRequest& pr, const std::vector<SampleOutput>& samples,
                         const std::vector<std::string>& echo_prefix);
// `messages[i]` is sample i's assistant message (ChatOutput::message); `tool_calls[i]` whether it
// called tools (finish_reason "tool_calls" instead of "stop").
json chat_response(const ResponseContext& ctx, const ParsedRequest& pr, const std::vector<SampleOutput>& samples,
                   const std::vector<json>& messages, const std::vector<bool>& tool_calls);
// finish_reason of a chat sample: "tool_calls" when it stopped after calling tools.
json chat_finish_reason(const Result* r, bool called_tools);

// One streamed chunk for choice `index` carrying `delta_text` / `delta_lps`; `finished` gives
// the finish_reason.
json completion_chunk(const ResponseContext& ctx, int index, const std::string& delta_text,
                      const std::vector<TokenLogprob>* delta_lps, size_t text_offset, const Result* finished);
json chat_chunk(const ResponseContext& ctx, int index, bool with_role, const std::string& delta_text,
                const std::vector<TokenLogprob>* delta_lps, const Result* finished);
// A chat chunk with an arbitrary `delta` object (content, reasoning_content, tool_calls, role).
json chat_delta_chunk(const ResponseContext& ctx, int index, const json& delta, const std::vector<TokenLogprob>* delta_lps,
                      const json& finish_reason);
// The final usage-only chunk (stream_options.include_usage): "choices": [].
json usage_chunk(const ResponseContext& ctx, const ParsedRequest& pr, const json& usage);

// JSON text that never throws on invalid UTF-8 produced by a partial token.
std::string dump(const json& j);

}  // namespace sgl::server
