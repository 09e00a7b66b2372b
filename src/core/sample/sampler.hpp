// Token sampling for one request: the options (already validated by the engine), the
// per-request state (seeded RNG, counts of generated tokens, prompt tokens for the repetition
// penalty) and sample_token, which runs the sampler chain (sampler_chain.hpp) over one row of
// logits. State is per request, so a seed gives the same tokens whatever else is in the batch.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sgl {

struct SamplingOptions {
  float temperature = 1.0f;  // <= 1e-6 means greedy (as in SGLang)
  float top_p = 1.0f;
  int top_k = -1;  // -1 or 0 = off; 1 = greedy
  float min_p = 0.0f;
  float frequency_penalty = 0.0f, presence_penalty = 0.0f, repetition_penalty = 1.0f;
  int min_new_tokens = 0;
  std::vector<int32_t> eos_ids;  // masked while fewer than min_new_tokens tokens were generated
  uint64_t seed = 0;
  int top_logprobs_num = 0;
  bool return_logprob = false;
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logits first (OpenAI logit_bias)
};

struct SampleResult {
  int32_t token = -1;
  // Log-probability of `token` and of the top_logprobs_num most likely tokens (descending,
  // ties by lower id) under log_softmax(processed logits / temperature), where processed means
  // after penalties, the min-token EOS mask and the grammar mask, and before top-k/top-p/min-p;
  // greedy uses temperature 1. Filled only when return_logprob / top_logprobs_num ask for it.
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top_logprobs;
};

class SamplerState {
 public:
  // `prompt` feeds the repetition penalty (SGLang penalizes tokens of prompt and output); it is
  // only kept when repetition_penalty != 1.
  explicit SamplerState(const SamplingOptions& o, std::span<const int32_t> prompt = {});

  // Records a generated token (call after it is appended to the output).
  void accept(int32_t token);

  const SamplingOptions& options() const { return opts_; }
  bool greedy() const;
  int64_t n_generated() const { return n_generated_; }
  // Occurrences of each generated token (frequency/presence penalties).
  const std::unordered_map<int32_t, int32_t>& output_counts() const { return output_counts_; }
  // Distinct tokens of prompt and output (repetition penalty); empty when it is off.
  const std::unordered_set<int32_t>& seen_tokens() const { return seen_; }

  // Uniform double in [0, 1) from this request's own generator (53 random bits, so the stream
  // is the same on every platform for a given seed).
  double next_uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

 private:
  SamplingOptions opts_;
  std::mt19937_64 rng_;
  std::unordered_map<int32_t, int32_t> output_counts_;
  std::unordered_set<int32_t> seen_;
  int64_t n_generated_ = 0;
};

// Samples the next token. logits: this request's row of n_vocab floats, modified in place
// (penalties, masks, temperature). allowed: optional grammar bitmask, bit i of allowed[i / 32]
// set for each allowed token. Throws sgl::Error(kInvalidArgument) when no token is allowed
// (every logit masked or NaN); the caller should finish the request with that error.
SampleResult sample_token(float* logits, int64_t n_vocab, SamplerState& st, const uint32_t* allowed = nullptr);

// The distribution the next token would be drawn from, after every filter and renormalized:
// (token, probability) sorted by token id. Greedy gives the argmax with probability 1. Uses no
// randomness; for tests and debugging. Modifies logits like sample_token.
std::vector<std::pair<int32_t, float>> candidate_distribution(float* logits, int64_t n_vocab, const SamplerState& st,
                                                              const uint32_t* allowed = nullptr);

}  // namespace sgl
