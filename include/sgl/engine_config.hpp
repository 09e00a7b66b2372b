// EngineConfig: how an Engine is built. Names and defaults follow SGLang's ServerArgs where they
// apply (model_path, context_length, mem_fraction_static, max_total_tokens, page_size,
// max_running_requests, chunked_prefill_size, max_prefill_tokens, schedule_policy, ...).
#pragma once

#include <cstdint>
#include <string>

namespace sgl {

struct EngineConfig {
  std::string model_path;      // .gguf file or Hugging Face model directory
  std::string tokenizer_path;  // "" = the model's own tokenizer
  std::string device = "cpu";  // a backend name: "cpu", "ref", "gcu:0"
  int threads = 0;             // kernel threads; 0 = all hardware threads
  int64_t context_length = 0;  // 0 = the model's trained context; larger than the model's is an error

  // KV pool size. If max_total_tokens > 0 the pool holds exactly that many tokens (rounded down to
  // whole pages). Otherwise, on CPU: mem_fraction_static × physical RAM minus the weights' bytes,
  // no more than 90% of the currently available RAM, and capped at max(65536, 2 × context_length)
  // tokens (set max_total_tokens for a larger pool).
  double mem_fraction_static = 0.5;
  int64_t max_total_tokens = 0;
  int page_size = 1;                  // tokens per KV page (radix matches whole pages)
  int max_running_requests = 0;       // 0 = min(256, pool tokens / 16, at least 1)
  int64_t chunked_prefill_size = 8192;  // max prefill tokens of one request per step; -1 = no chunking
  int64_t max_prefill_tokens = 16384;   // max prefill tokens of all requests per step
  // Mixed chunked prefill: a step that also carries decode tokens takes at most this many prefill
  // tokens (of any requests, chunking prompts to fit), so a running request waits at most one
  // such bounded step for its next token however many prompts arrive. A step with nothing to
  // decode still uses max_prefill_tokens (a burst's first tokens come sooner that way). -1 = no
  // separate bound (the behaviour before: a burst's whole prefill in one step). Needs chunking.
  int64_t mixed_prefill_tokens = 64;
  std::string schedule_policy = "lpm";  // "lpm", "fcfs", "random", "dfs-weight"
  bool disable_radix_cache = false;
  uint64_t random_seed = 0;             // base of per-request seeds when a request has none
  std::string kv_cache_dtype = "auto";  // "auto" (= f16), "f16", "bf16", "f32", "q8_0" (head_dim % 32 == 0)
  int max_queued_requests = 0;          // 0 = unlimited; beyond it submit() throws (HTTP 503)
  // Online weight quantization at load time: "none", "q8_0", "q4_0", "q4_k", ... (any weight
  // type this build supports, case-insensitive; also "f16", "bf16", "f32"). Only 2-D F32/F16/
  // BF16 matrices are converted; token_embd becomes q8_0; norms and biases stay F32.
  std::string quantization = "none";
  // Constrained decoding: append the tokens a grammar forces (e.g. a JSON schema's next key)
  // without sampling them; they are computed in the next step like a short prefill. SGLang's
  // --disable-regex-jump-forward turns it off.
  bool grammar_jump_forward = true;

  // Throws sgl::Error(kInvalidArgument) naming the field, e.g. "page_size must be >= 1 (got 0)".
  void validate() const;
};

}  // namespace sgl
