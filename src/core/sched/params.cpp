// Validation of the public parameter structs and FinishReason naming. Messages name the field
// and the value found, in SGLang's wording where it has one.
#include <cmath>

#include "core/model/weight_quantizer.hpp"
#include "core/support/check.hpp"
#include "sgl/engine_config.hpp"
#include "sgl/request.hpp"
#include "sgl/sampling_params.hpp"

namespace sgl {

#define SGL_REQUIRE_FIELD(cond, ...) \
  do {                               \
    if (!(cond)) SGL_THROW(Status::kInvalidArgument, __VA_ARGS__); \
  } while (0)

void SamplingParams::validate() const {
  SGL_REQUIRE_FIELD(max_new_tokens >= 0, "max_new_tokens must be >= 0 (got {})", max_new_tokens);
  SGL_REQUIRE_FIELD(min_new_tokens >= 0, "min_new_tokens must be >= 0 (got {})", min_new_tokens);
  SGL_REQUIRE_FIELD(min_new_tokens <= max_new_tokens, "min_new_tokens must be <= max_new_tokens (got {} > {})",
                    min_new_tokens, max_new_tokens);
  SGL_REQUIRE_FIELD(std::isfinite(temperature) && temperature >= 0.0f, "temperature must be >= 0 (got {})", temperature);
  SGL_REQUIRE_FIELD(std::isfinite(top_p) && top_p > 0.0f && top_p <= 1.0f, "top_p must be in (0, 1] (got {})", top_p);
  SGL_REQUIRE_FIELD(top_k == -1 || top_k >= 1, "top_k must be -1 (disable) or >= 1 (got {})", top_k);
  SGL_REQUIRE_FIELD(std::isfinite(min_p) && min_p >= 0.0f && min_p <= 1.0f, "min_p must be in [0, 1] (got {})", min_p);
  SGL_REQUIRE_FIELD(std::isfinite(frequency_penalty) && frequency_penalty >= -2.0f && frequency_penalty <= 2.0f,
                    "frequency_penalty must be in [-2, 2] (got {})", frequency_penalty);
  SGL_REQUIRE_FIELD(std::isfinite(presence_penalty) && presence_penalty >= -2.0f && presence_penalty <= 2.0f,
                    "presence_penalty must be in [-2, 2] (got {})", presence_penalty);
  SGL_REQUIRE_FIELD(std::isfinite(repetition_penalty) && repetition_penalty > 0.0f && repetition_penalty <= 2.0f,
                    "repetition_penalty must be in (0, 2] (got {})", repetition_penalty);
  SGL_REQUIRE_FIELD(n >= 1 && n <= 128, "n must be in [1, 128] (got {})", n);
  SGL_REQUIRE_FIELD(top_logprobs_num >= 0 && top_logprobs_num <= 20, "top_logprobs_num must be in [0, 20] (got {})",
                    top_logprobs_num);
  for (size_t i = 0; i < stop.size(); ++i)
    SGL_REQUIRE_FIELD(!stop[i].empty(), "stop[{}] must not be empty", i);
  SGL_REQUIRE_FIELD(logprob_start_len >= -1, "logprob_start_len must be >= -1 (got {})", logprob_start_len);
  for (int32_t t : stop_token_ids) SGL_REQUIRE_FIELD(t >= 0, "stop_token_ids must be >= 0 (got {})", t);
  for (const auto& [t, b] : logit_bias) {
    SGL_REQUIRE_FIELD(t >= 0, "logit_bias token ids must be >= 0 (got {})", t);
    SGL_REQUIRE_FIELD(std::isfinite(b) && b >= -100.0f && b <= 100.0f, "logit_bias values must be in [-100, 100] (got {})", b);
  }
  int grammars = !regex.empty() + !json_schema.empty() + !ebnf.empty();
  SGL_REQUIRE_FIELD(grammars <= 1, "only one of regex, json_schema and ebnf may be set (got {})", grammars);
}

void EngineConfig::validate() const {
  SGL_REQUIRE_FIELD(!model_path.empty(), "model_path must be set");
  SGL_REQUIRE_FIELD(!device.empty(), "device must be set (e.g. \"cpu\")");
  SGL_REQUIRE_FIELD(threads >= 0, "threads must be >= 0 (got {})", threads);
  SGL_REQUIRE_FIELD(context_length >= 0, "context_length must be >= 0 (got {})", context_length);
  SGL_REQUIRE_FIELD(std::isfinite(mem_fraction_static) && mem_fraction_static > 0.0 && mem_fraction_static < 1.0,
                    "mem_fraction_static must be in (0, 1) (got {})", mem_fraction_static);
  SGL_REQUIRE_FIELD(max_total_tokens >= 0, "max_total_tokens must be >= 0 (got {})", max_total_tokens);
  SGL_REQUIRE_FIELD(page_size >= 1 && page_size <= 4096, "page_size must be in [1, 4096] (got {})", page_size);
  SGL_REQUIRE_FIELD(max_total_tokens == 0 || max_total_tokens >= page_size,
                    "max_total_tokens must hold at least one page (got {} < page_size {})", max_total_tokens, page_size);
  SGL_REQUIRE_FIELD(max_running_requests >= 0, "max_running_requests must be >= 0 (got {})", max_running_requests);
  SGL_REQUIRE_FIELD(chunked_prefill_size == -1 || chunked_prefill_size >= 1,
                    "chunked_prefill_size must be -1 (disable) or >= 1 (got {})", chunked_prefill_size);
  SGL_REQUIRE_FIELD(max_prefill_tokens >= 1, "max_prefill_tokens must be >= 1 (got {})", max_prefill_tokens);
  SGL_REQUIRE_FIELD(mixed_prefill_tokens == -1 || mixed_prefill_tokens >= 1,
                    "mixed_prefill_tokens must be -1 (no bound) or >= 1 (got {})", mixed_prefill_tokens);
  SGL_REQUIRE_FIELD(schedule_policy == "lpm" || schedule_policy == "fcfs" || schedule_policy == "random" ||
                        schedule_policy == "dfs-weight",
                    "schedule_policy must be one of lpm, fcfs, random, dfs-weight (got '{}')", schedule_policy);
  SGL_REQUIRE_FIELD(kv_cache_dtype == "auto" || kv_cache_dtype == "f16" || kv_cache_dtype == "bf16" ||
                        kv_cache_dtype == "f32" || kv_cache_dtype == "q8_0",
                    "kv_cache_dtype must be one of auto, f16, bf16, f32, q8_0 (got '{}')", kv_cache_dtype);
  SGL_REQUIRE_FIELD(max_queued_requests >= 0, "max_queued_requests must be >= 0 (got {})", max_queued_requests);
  parse_quantization(quantization);  // throws naming the valid choices
}

const char* FinishReason::type() const {
  switch (kind) {
    case FinishKind::kStop: return "stop";
    case FinishKind::kLength: return "length";
    case FinishKind::kAbort: return "abort";
    default: return "";
  }
}

}  // namespace sgl
