// Logging through one hook. The library never prints to stdout; by default messages at or above
// the configured level go to stderr, and a host (C or C++) may route them elsewhere.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace sgl {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

using LogCallback = void (*)(LogLevel level, const char* message, void* user_data);

void set_log_callback(LogCallback cb, void* user_data);
void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, std::string_view message);

}  // namespace sgl

#define SGL_LOG(level, ...)                                          \
  do {                                                               \
    if ((level) >= ::sgl::log_level())                               \
      ::sgl::log_message((level), ::fmt::format(__VA_ARGS__));       \
  } while (0)
#define SGL_LOG_DEBUG(...) SGL_LOG(::sgl::LogLevel::kDebug, __VA_ARGS__)
#define SGL_LOG_INFO(...) SGL_LOG(::sgl::LogLevel::kInfo, __VA_ARGS__)
#define SGL_LOG_WARN(...) SGL_LOG(::sgl::LogLevel::kWarn, __VA_ARGS__)
#define SGL_LOG_ERROR(...) SGL_LOG(::sgl::LogLevel::kError, __VA_ARGS__)
