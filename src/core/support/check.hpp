// Invariant checks. SGL_CHECK is always on; SGL_DCHECK only in debug builds.
// Messages say what was expected and what was found.
#pragma once

#include <fmt/format.h>

#include "sgl/error.hpp"

namespace sgl::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);
}  // namespace sgl::detail

#define SGL_CHECK(cond, ...)                                                              \
  do {                                                                                    \
    if (!(cond)) [[unlikely]]                                                             \
      ::sgl::detail::check_failed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (0)

#ifdef NDEBUG
#define SGL_DCHECK(cond, ...) \
  do {                        \
  } while (0)
#else
#define SGL_DCHECK(cond, ...) SGL_CHECK(cond, __VA_ARGS__)
#endif

// Throws sgl::Error with the given status and a fmt-formatted message.
#define SGL_THROW(status, ...) throw ::sgl::Error((status), ::fmt::format(__VA_ARGS__))
