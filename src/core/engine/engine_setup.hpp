// Engine set-up pieces kept apart from the Engine class: KV pool sizing, EOS ids from model
// metadata, per-request seeds, and the text adapter over the tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kv/kv_pool.hpp"
#include "core/model/model_loader.hpp"
#include "sgl/engine_config.hpp"

namespace sgl {

struct PoolPlan {
  int64_t n_pages = 0;
  std::string how;  // a sentence for the log
};

// See EngineConfig: max_total_tokens if set, else mem_fraction_static × RAM minus weights,
// at most 90% of available RAM, capped at max(65536, 2 × context_length) tokens.
// Throws sgl::Error(kOutOfMemory) when not even one context fits.
PoolPlan plan_kv_pool(const EngineConfig& c, const KvPoolConfig& kv, size_t weight_bytes, int64_t context_length);

// EOS-like ids from GGUF metadata (tokenizer.ggml.eos_token_id, eot_token_id, eom_token_id) or an
// HF directory (generation_config.json, then config.json: eos_token_id, a number or a list).
std::vector<int32_t> model_eos_ids(const LoadedModel& m);

// A stable 64-bit mix (splitmix64) of the engine seed and the request id, for unseeded requests.
uint64_t derive_seed(uint64_t random_seed, const std::string& rid);

size_t model_weight_bytes(const LoadedModel& m);

}  // namespace sgl
