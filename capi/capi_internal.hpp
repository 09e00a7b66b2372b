// Internals shared by the capi/*.cpp files: the handle structs behind the opaque C types, the
// thread-local error slot and the exception guard every exported function runs its body in.
// Nothing here is exported; only sgl.h is public.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "sgl.h"
#include "sgl/engine.hpp"
#include "sgl/error.hpp"

struct sgl_engine {
  std::unique_ptr<sgl::Engine> engine;
};

struct sgl_request {
  sgl::RequestHandle handle;
};

struct sgl_result {
  sgl::Result result;
};

namespace sgl::capi {

// Records the failure of the current call on this thread (sgl_last_error / _offset).
void set_error(sgl_status status, const std::string& message, int64_t offset = -1) noexcept;
// Marks the current call on this thread as successful.
void clear_error() noexcept;

inline sgl_status to_status(Status s) noexcept {
  int v = static_cast<int>(s);
  return (v >= SGL_OK && v <= SGL_ERR_INTERNAL) ? static_cast<sgl_status>(v) : SGL_ERR_INTERNAL;
}

// Runs `body` (which returns void) and maps every exception to a status plus a recorded message,
// so no C++ exception ever crosses the C boundary. `where` prefixes messages with the C
// function's name, which is what a C caller knows.
template <class F>
sgl_status guard(const char* where, F&& body) noexcept {
  try {
    body();
    clear_error();
    return SGL_OK;
  } catch (const Error& e) {
    sgl_status st = to_status(e.code());
    set_error(st, std::string(where) + ": " + e.what(), e.offset());
    return st;
  } catch (const std::bad_alloc&) {
    set_error(SGL_ERR_OUT_OF_MEMORY, std::string(where) + ": out of memory");
    return SGL_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(SGL_ERR_INTERNAL, std::string(where) + ": " + e.what());
    return SGL_ERR_INTERNAL;
  } catch (...) {
    set_error(SGL_ERR_INTERNAL, std::string(where) + ": unknown exception");
    return SGL_ERR_INTERNAL;
  }
}

// Throws kInvalidArgument "<what> is NULL" for a null pointer argument.
inline void need(const void* p, const char* what) {
  if (p == nullptr) throw Error(Status::kInvalidArgument, std::string(what) + " is NULL");
}

// A versioned struct's size must be one this library knows (today: only the current one).
// Older, smaller versions would be accepted here by listing their sizes as fields get appended.
inline void check_struct_size(size_t got, size_t expected, const char* type) {
  if (got != expected)
    throw Error(Status::kInvalidArgument, std::string(type) + ".struct_size is " + std::to_string(got) +
                                              ", but this library expects " + std::to_string(expected) +
                                              " (initialize it with " + type + "_default())");
}

// Copies `s` into a malloc'ed NUL-terminated buffer the caller frees with sgl_string_free.
inline char* dup_string(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// A (pointer, length) input string; NULL with length 0 is the empty string.
inline std::string input_string(const char* p, size_t len, const char* what) {
  if (p == nullptr && len != 0) throw Error(Status::kInvalidArgument, std::string(what) + " is NULL but its length is " + std::to_string(len));
  return p ? std::string(p, len) : std::string();
}

// Parses a JSON array of {"role": string, "content": string} (sgl_prompt.messages_json and
// sgl_apply_chat_template). Malformed JSON is kParseError with the byte offset.
std::vector<ChatMessage> parse_messages_json(const std::string& json);

}  // namespace sgl::capi
