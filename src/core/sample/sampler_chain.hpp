// The sampler chain: logits processing as a list of small named stages (llama.cpp's design),
// with SGLang's semantics and order. The order is data: sample_token runs one of the two chains
// below. Stages are stateless; everything per request lives in SamplerState, whose lifetime is
// the request's (there is nothing to reset between tokens).
//
// Logit stages work on the full row in place: penalties (frequency and presence over generated
// tokens, then repetition over prompt + generated), the min-new-tokens EOS mask, the grammar
// mask, temperature. Then a candidate list takes the tokens that are still possible: top-k picks
// the k largest logits (before softmax; logits and probabilities order alike, and the
// renormalized top-k distribution depends only on those k logits, so this equals SGLang's
// softmax-then-top-k without exponentiating or sorting 150k entries), softmax, top-p over the
// renormalized top-k distribution (smallest prefix by probability whose mass reaches top_p),
// min-p relative to the most likely token, and finally a draw from the request's generator.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/sample/sampler.hpp"

namespace sgl {

struct Candidate {
  int32_t id;
  float value;  // a logit before the softmax stage, an (unnormalized) probability after
};

struct SampleContext {
  float* logits = nullptr;
  int64_t n_vocab = 0;
  const SamplerState* st = nullptr;
  SamplerState* rng = nullptr;            // null when only inspecting the distribution
  const uint32_t* allowed = nullptr;      // grammar bitmask or null
  std::vector<Candidate>* cand = nullptr;  // possible tokens (scratch owned by the caller)
  bool have_candidates = false;           // cand was gathered from logits
  bool probs = false;                     // cand values are probabilities
  size_t n_sorted = 0;                    // cand[0, n_sorted) is sorted by value desc, id asc
  double mass = 0.0;                      // sum of candidate probabilities (after softmax)
  int32_t picked = -1;
};

struct SamplerStage {
  const char* name;
  void (*apply)(SampleContext&);
};

// Greedy: penalties, min_tokens, grammar, argmax.
std::span<const SamplerStage> greedy_chain();
// Sampling: penalties, min_tokens, grammar, temperature, top_k, softmax, top_p, min_p, dist.
std::span<const SamplerStage> sampling_chain();

// Runs stages in order on ctx.
void run_chain(std::span<const SamplerStage> chain, SampleContext& ctx);

// The individual stages (exposed for tests and custom chains).
void stage_penalties(SampleContext& c);
void stage_min_tokens(SampleContext& c);
void stage_grammar(SampleContext& c);
void stage_temperature(SampleContext& c);
void stage_top_k(SampleContext& c);
void stage_softmax(SampleContext& c);
void stage_top_p(SampleContext& c);
void stage_min_p(SampleContext& c);
void stage_dist(SampleContext& c);
void stage_argmax(SampleContext& c);

}  // namespace sgl
