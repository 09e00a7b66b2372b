// Result accessors of the C ABI. They cannot fail on a valid result, so they return values
// directly; a NULL result gives an empty value and a recorded error.
#include "capi_internal.hpp"

namespace {

// The accessors' guard: a NULL result is the only possible misuse.
bool valid(const sgl_result* r, const char* where) noexcept {
  if (r) {
    sgl::capi::clear_error();
    return true;
  }
  sgl::capi::set_error(SGL_ERR_INVALID_ARGUMENT, std::string(where) + ": result is NULL");
  return false;
}

}  // namespace

extern "C" {

SGL_EXPORT const char* sgl_result_text(const sgl_result* result, size_t* out_len) {
  if (out_len) *out_len = 0;
  if (!valid(result, "sgl_result_text")) return nullptr;
  if (out_len) *out_len = result->result.text.size();
  return result->result.text.c_str();
}

SGL_EXPORT const int32_t* sgl_result_token_ids(const sgl_result* result, size_t* out_n) {
  if (out_n) *out_n = 0;
  if (!valid(result, "sgl_result_token_ids")) return nullptr;
  const auto& ids = result->result.output_ids;
  if (out_n) *out_n = ids.size();
  return ids.empty() ? nullptr : ids.data();
}

SGL_EXPORT sgl_finish_reason sgl_result_finish_reason(const sgl_result* result) {
  if (!valid(result, "sgl_result_finish_reason")) return SGL_FINISH_NONE;
  switch (result->result.finish.kind) {
    case sgl::FinishKind::kStop: return SGL_FINISH_STOP;
    case sgl::FinishKind::kLength: return SGL_FINISH_LENGTH;
    case sgl::FinishKind::kAbort: return SGL_FINISH_ABORT;
    case sgl::FinishKind::kNone: break;
  }
  return SGL_FINISH_NONE;
}

SGL_EXPORT const char* sgl_result_finish_type(const sgl_result* result) {
  if (!valid(result, "sgl_result_finish_type")) return nullptr;
  return result->result.finish.type();
}

SGL_EXPORT const char* sgl_result_finish_message(const sgl_result* result) {
  if (!valid(result, "sgl_result_finish_message")) return nullptr;
  const auto& f = result->result.finish;
  return f.kind == sgl::FinishKind::kAbort ? f.message.c_str() : f.matched_str.c_str();
}

SGL_EXPORT const char* sgl_result_rid(const sgl_result* result) {
  if (!valid(result, "sgl_result_rid")) return nullptr;
  return result->result.rid.c_str();
}

SGL_EXPORT sgl_usage sgl_usage_default(void) {
  sgl_usage u{};
  u.struct_size = sizeof u;
  return u;
}

SGL_EXPORT sgl_status sgl_result_usage(const sgl_result* result, sgl_usage* out) {
  return sgl::capi::guard("sgl_result_usage", [&] {
    sgl::capi::need(result, "result");
    sgl::capi::need(out, "out");
    sgl::capi::check_struct_size(out->struct_size, sizeof(sgl_usage), "sgl_usage");
    const sgl::Result& r = result->result;
    out->prompt_tokens = r.prompt_tokens;
    out->completion_tokens = r.completion_tokens;
    out->cached_tokens = r.cached_tokens;
    out->time_to_first_token = r.time_to_first_token;
    out->e2e_latency = r.e2e_latency;
  });
}

SGL_EXPORT void sgl_result_free(sgl_result* result) { delete result; }

}  // extern "C"
