#include "core/support/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace sgl {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kWarn)};
std::mutex g_mu;
LogCallback g_cb = nullptr;
void* g_user = nullptr;

const char* level_tag(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "D";
    case LogLevel::kInfo: return "I";
    case LogLevel::kWarn: return "W";
    case LogLevel::kError: return "E";
    default: return "?";
  }
}

}  // namespace

void set_log_callback(LogCallback cb, void* user_data) {
  std::lock_guard lock(g_mu);
  g_cb = cb;
  g_user = user_data;
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }

LogLevel log_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

void log_message(LogLevel level, std::string_view message) {
  std::lock_guard lock(g_mu);
  if (g_cb) {
    std::string copy(message);
    g_cb(level, copy.c_str(), g_user);
    return;
  }
  std::fprintf(stderr, "[sgl %s] %.*s\n", level_tag(level), static_cast<int>(message.size()), message.data());
}

}  // namespace sgl
