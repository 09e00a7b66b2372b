// SamplingParams: how one request is decoded. Field names, defaults and meanings follow SGLang's
// SamplingParams so the HTTP server can map JSON fields one to one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sgl {

struct SamplingParams {
  int max_new_tokens = 128;
  int min_new_tokens = 0;               // EOS / stop tokens are masked until this many tokens
  std::vector<std::string> stop;        // stop strings (may span token boundaries)
  std::vector<int32_t> stop_token_ids;  // extra stop tokens besides the model's EOS set
  float temperature = 1.0f;             // 0 = greedy
  float top_p = 1.0f;                   // (0, 1]
  int top_k = -1;                       // -1 = off, else >= 1
  float min_p = 0.0f;                   // [0, 1]
  float frequency_penalty = 0.0f;       // [-2, 2]
  float presence_penalty = 0.0f;        // [-2, 2]
  float repetition_penalty = 1.0f;      // (0, 2]
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  bool spaces_between_special_tokens = true;
  int n = 1;                            // independent samples sharing the prompt
  std::optional<uint64_t> seed;         // unset: derived from EngineConfig::random_seed + request
  bool no_stop_trim = false;            // keep the matched stop string in the output text
  bool return_logprob = false;
  int top_logprobs_num = 0;
  // SGLang's logprob_start_len: >= 0 also returns the logprob of every prompt token from this
  // position on (Result::input_logprobs); the cached prefix is not reused past it. -1 = off.
  int64_t logprob_start_len = -1;
  // OpenAI's logit_bias: (token id, bias in [-100, 100]) added to the logit before penalties and
  // sampling; -100 in effect bans a token, +100 all but forces it.
  std::vector<std::pair<int32_t, float>> logit_bias;
  // Constrained decoding sources (at most one). Stored here; compiled by the grammar module.
  std::string regex;
  std::string json_schema;
  std::string ebnf;

  // Throws sgl::Error(kInvalidArgument) whose message names the offending field,
  // e.g. "temperature must be >= 0 (got -1)".
  void validate() const;
};

}  // namespace sgl
