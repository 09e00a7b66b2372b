// Status texts and the per-thread error slot behind sgl_last_error().
#include <string>

#include "capi_internal.hpp"

namespace {

// Thread-local so concurrent callers on one engine never see each other's messages.
thread_local std::string t_message;
thread_local int64_t t_offset = -1;

}  // namespace

namespace sgl::capi {

void set_error(sgl_status status, const std::string& message, int64_t offset) noexcept {
  try {
    t_message = message;
  } catch (...) {
    t_message.clear();  // the message could not be stored; the status still says what happened
  }
  t_offset = status == SGL_ERR_PARSE ? offset : -1;
}

void clear_error() noexcept {
  t_message.clear();
  t_offset = -1;
}

}  // namespace sgl::capi

extern "C" {

SGL_EXPORT const char* sgl_status_string(sgl_status status) {
  switch (status) {
    case SGL_OK: return "ok";
    case SGL_ERR_INVALID_ARGUMENT: return "invalid argument";
    case SGL_ERR_NOT_FOUND: return "not found";
    case SGL_ERR_UNSUPPORTED: return "unsupported";
    case SGL_ERR_PARSE: return "parse error";
    case SGL_ERR_OUT_OF_MEMORY: return "out of memory";
    case SGL_ERR_IO: return "I/O error";
    case SGL_ERR_CANCELLED: return "cancelled";
    case SGL_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

SGL_EXPORT const char* sgl_last_error(void) { return t_message.c_str(); }

SGL_EXPORT int64_t sgl_last_error_offset(void) { return t_offset; }

}  // extern "C"
