// ClientPool: idle keep-alive connections to each worker, so a proxied request does not pay a TCP
// connect (and the worker a new accept and handler thread) every time. A connection is lent for
// one exchange and comes back only after a clean one; an idle one is dropped after kMaxIdle,
// before the worker's own keep-alive timeout closes it (cpp-httplib's default is 5 s, uvicorn's
// too), so a lent connection is almost never stale — and the proxy resends once on a fresh one
// when a reused connection fails before any answer.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace sgl::router {

class ClientPool {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kMaxIdle = std::chrono::seconds(3);
  static constexpr size_t kMaxIdlePerWorker = 64;

  struct Lease {
    std::unique_ptr<httplib::Client> client;
    bool reused = false;  // an idle connection from the pool (it may have gone stale)
  };

  // An idle connection to worker `key` (unless `fresh`), or a new one from `make` (keep-alive
  // switched on).
  Lease acquire(const std::string& key, const std::function<std::unique_ptr<httplib::Client>()>& make,
                bool fresh = false);
  // Returns a connection after a clean exchange.
  void release(const std::string& key, std::unique_ptr<httplib::Client> client);
  // Closes the idle connections of a worker that left.
  void drop(const std::string& key);

  uint64_t connections_made() const { return made_; }
  size_t idle(const std::string& key) const;

 private:
  struct Idle {
    std::unique_ptr<httplib::Client> client;
    Clock::time_point since;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
  std::atomic<uint64_t> made_{0};
};

}  // namespace sgl::router
