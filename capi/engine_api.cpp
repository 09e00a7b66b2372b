// Engine lifetime, statistics, tokenizer and chat-template calls of the C ABI.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "capi_internal.hpp"
#include "sgl/engine_config.hpp"

using sgl::capi::check_struct_size;
using sgl::capi::guard;
using sgl::capi::need;

namespace sgl::capi {

std::vector<ChatMessage> parse_messages_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(Status::kParseError, std::string("messages JSON: ") + e.what(), static_cast<int64_t>(e.byte) - 1);
  }
  if (!j.is_array()) throw Error(Status::kInvalidArgument, "messages JSON must be an array of {\"role\", \"content\"} objects");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& m = j[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      throw Error(Status::kInvalidArgument,
                  "messages[" + std::to_string(i) + "] must be an object with string fields \"role\" and \"content\"");
    ChatMessage cm;
    cm.role = m["role"].get<std::string>();
    cm.content = m["content"].get<std::string>();
    out.push_back(std::move(cm));
  }
  return out;
}

}  // namespace sgl::capi

namespace {

sgl::EngineConfig to_config(const sgl_engine_params& p) {
  sgl::EngineConfig c;
  need(p.model_path, "sgl_engine_params.model_path");
  c.model_path = p.model_path;
  if (p.tokenizer_path) c.tokenizer_path = p.tokenizer_path;
  if (p.device) c.device = p.device;
  c.threads = p.threads;
  c.page_size = p.page_size;
  c.context_length = p.context_length;
  c.mem_fraction_static = p.mem_fraction_static;
  c.max_total_tokens = p.max_total_tokens;
  c.max_running_requests = p.max_running_requests;
  c.max_queued_requests = p.max_queued_requests;
  c.chunked_prefill_size = p.chunked_prefill_size;
  c.max_prefill_tokens = p.max_prefill_tokens;
  if (p.schedule_policy) c.schedule_policy = p.schedule_policy;
  if (p.kv_cache_dtype) c.kv_cache_dtype = p.kv_cache_dtype;
  if (p.quantization) c.quantization = p.quantization;
  c.random_seed = p.random_seed;
  c.disable_radix_cache = p.disable_radix_cache != 0;
  if (c.threads < 0)
    throw sgl::Error(sgl::Status::kInvalidArgument, "threads must be >= 0 (got " + std::to_string(c.threads) + ")");
  return c;
}

sgl::Engine& engine_of(sgl_engine* e) {
  need(e, "engine");
  return *e->engine;
}

}  // namespace

extern "C" {

SGL_EXPORT sgl_engine_params sgl_engine_params_default(void) {
  sgl::EngineConfig d;
  sgl_engine_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.threads = d.threads;
  p.page_size = d.page_size;
  p.context_length = d.context_length;
  p.mem_fraction_static = d.mem_fraction_static;
  p.max_total_tokens = d.max_total_tokens;
  p.max_running_requests = d.max_running_requests;
  p.max_queued_requests = d.max_queued_requests;
  p.chunked_prefill_size = d.chunked_prefill_size;
  p.max_prefill_tokens = d.max_prefill_tokens;
  p.random_seed = d.random_seed;
  p.disable_radix_cache = d.disable_radix_cache ? 1 : 0;
  return p;
}

SGL_EXPORT sgl_status sgl_engine_create(const sgl_engine_params* params, sgl_engine** out_engine) {
  if (out_engine) *out_engine = nullptr;
  return guard("sgl_engine_create", [&] {
    need(out_engine, "out_engine");
    need(params, "params");
    // The struct grew by appending `quantization`; a caller built before that passes the old
    // size, and only that many bytes may be read from it.
    constexpr size_t kSizeBeforeQuantization = offsetof(sgl_engine_params, quantization);
    if (params->struct_size != kSizeBeforeQuantization)
      check_struct_size(params->struct_size, sizeof(sgl_engine_params), "sgl_engine_params");
    sgl_engine_params p;
    std::memset(&p, 0, sizeof p);
    std::memcpy(&p, params, params->struct_size);
    sgl::EngineConfig cfg = to_config(p);
    auto h = std::make_unique<sgl_engine>();
    h->engine = std::make_unique<sgl::Engine>(cfg);
    *out_engine = h.release();
  });
}

SGL_EXPORT void sgl_engine_destroy(sgl_engine* engine) {
  // The Engine destructor only stops and joins its thread; guard anyway so nothing escapes.
  guard("sgl_engine_destroy", [&] { delete engine; });
}

SGL_EXPORT sgl_engine_stats sgl_engine_stats_default(void) {
  sgl_engine_stats s;
  std::memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  return s;
}

SGL_EXPORT sgl_status sgl_engine_get_stats(sgl_engine* engine, sgl_engine_stats* out) {
  return guard("sgl_engine_get_stats", [&] {
    sgl::Engine& e = engine_of(engine);
    need(out, "out");
    check_struct_size(out->struct_size, sizeof(sgl_engine_stats), "sgl_engine_stats");
    sgl::EngineStats st = e.stats();
    sgl_engine_stats s = sgl_engine_stats_default();
    s.running_requests = st.running_requests;
    s.waiting_requests = st.waiting_requests;
    s.kv_pages_total = st.kv_pages_total;
    s.kv_pages_used = st.kv_pages_used;
    s.kv_pages_free = st.kv_pages_free;
    s.page_size = st.page_size;
    s.cached_tokens = st.cached_tokens;
    s.cache_hit_rate = st.cache_hit_rate;
    s.prefill_tokens_per_s = st.prefill_tokens_per_s;
    s.decode_tokens_per_s = st.decode_tokens_per_s;
    s.total_requests = st.total_requests;
    s.finished_requests = st.finished_requests;
    s.retracted_requests = st.retracted_requests;
    s.evicted_tokens = st.evicted_tokens;
    s.forward_steps = st.forward_steps;
    s.max_total_tokens = st.max_total_tokens;
    s.context_length = st.context_length;
    s.max_running_requests = st.max_running_requests;
    s.vocab_size = e.vocab_size();
    *out = s;
  });
}

SGL_EXPORT sgl_status sgl_engine_flush_cache(sgl_engine* engine, int* out_flushed) {
  if (out_flushed) *out_flushed = 0;
  return guard("sgl_engine_flush_cache", [&] {
    bool ok = engine_of(engine).flush_cache();
    if (out_flushed) *out_flushed = ok ? 1 : 0;
  });
}

SGL_EXPORT sgl_status sgl_tokenize(sgl_engine* engine, const char* text, size_t text_len, int add_special,
                                   int32_t** out_ids, size_t* out_n) {
  if (out_ids) *out_ids = nullptr;
  if (out_n) *out_n = 0;
  return guard("sgl_tokenize", [&] {
    sgl::Engine& e = engine_of(engine);
    need(out_ids, "out_ids");
    need(out_n, "out_n");
    std::string s = sgl::capi::input_string(text, text_len, "text");
    std::vector<int32_t> ids = e.tokenize(s, add_special != 0);
    if (ids.empty()) return;
    auto* buf = static_cast<int32_t*>(std::malloc(ids.size() * sizeof(int32_t)));
    if (!buf) throw std::bad_alloc();
    std::copy(ids.begin(), ids.end(), buf);
    *out_ids = buf;
    *out_n = ids.size();
  });
}

SGL_EXPORT void sgl_tokens_free(int32_t* ids) { std::free(ids); }

SGL_EXPORT sgl_status sgl_detokenize(sgl_engine* engine, const int32_t* ids, size_t n, int skip_special,
                                     char** out_text, size_t* out_len) {
  if (out_text) *out_text = nullptr;
  if (out_len) *out_len = 0;
  return guard("sgl_detokenize", [&] {
    sgl::Engine& e = engine_of(engine);
    need(out_text, "out_text");
    if (ids == nullptr && n != 0) need(ids, "ids");
    std::vector<int32_t> v(ids, ids + n);
    std::string s = e.detokenize(v, skip_special != 0);
    *out_text = sgl::capi::dup_string(s);
    if (out_len) *out_len = s.size();
  });
}

SGL_EXPORT sgl_status sgl_apply_chat_template(sgl_engine* engine, const char* messages_json, size_t messages_len,
                                              int add_generation_prompt, char** out_text, size_t* out_len) {
  if (out_text) *out_text = nullptr;
  if (out_len) *out_len = 0;
  return guard("sgl_apply_chat_template", [&] {
    sgl::Engine& e = engine_of(engine);
    need(out_text, "out_text");
    need(messages_json, "messages_json");
    auto msgs = sgl::capi::parse_messages_json(std::string(messages_json, messages_len));
    std::string s = e.apply_chat_template(msgs, add_generation_prompt != 0);
    *out_text = sgl::capi::dup_string(s);
    if (out_len) *out_len = s.size();
  });
}

SGL_EXPORT void sgl_string_free(char* text) { std::free(text); }

}  // extern "C"
