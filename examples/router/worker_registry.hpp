// Workers and the registry the router routes over. A Worker is one sgl-server (or one data-
// parallel rank of one, with --dp-aware) with its health state, circuit breaker, the router's
// in-flight count on it and per-worker counters. Workers are shared_ptr: a request keeps its
// worker alive even if /workers DELETE removes it meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "circuit_breaker.hpp"

namespace sgl::router {

// "http://host:port" split and checked. Throws sgl::Error(kInvalidArgument) with the reason for
// anything else (https: the Debian cpp-httplib is used without TLS here; a path; a bad port).
struct WorkerAddress {
  std::string url;  // normalized: http://host:port
  std::string host;
  int port = 0;
};
WorkerAddress parse_worker_url(const std::string& url);

class Worker {
 public:
  enum class Health { kStarting, kHealthy, kUnhealthy };

  Worker(WorkerAddress addr, int dp_rank, CircuitBreakerConfig cb);

  // The routing identity: the url, or url@rank with --dp-aware.
  const std::string& key() const { return key_; }
  const std::string& url() const { return addr_.url; }
  const std::string& host() const { return addr_.host; }
  int port() const { return addr_.port; }
  int dp_rank() const { return dp_rank_; }  // -1 without --dp-aware

  Health health() const { return health_.load(); }
  void set_health(Health h) { health_.store(h); }
  static const char* name(Health h);
  // Healthy and its breaker admits a request now.
  bool routable() { return health() == Health::kHealthy && breaker.allow(); }

  std::chrono::steady_clock::time_point added() const { return added_; }

  CircuitBreaker breaker;
  std::atomic<int64_t> load{0};  // requests in flight through the router (see LoadGuard)
  std::atomic<uint64_t> requests{0}, errors{0}, retries{0};
  // Health-check bookkeeping, touched only by the health checker thread.
  int consecutive_failures = 0, consecutive_successes = 0;

 private:
  WorkerAddress addr_;
  int dp_rank_;
  std::string key_;
  std::atomic<Health> health_{Health::kStarting};
  std::chrono::steady_clock::time_point added_;
};

// Counts one request on a worker for as long as it lives: every exit path (success, error,
// retry on another worker, client disconnect, exception) releases the load.
class LoadGuard {
 public:
  explicit LoadGuard(std::shared_ptr<Worker> w) : w_(std::move(w)) { ++w_->load; }
  ~LoadGuard() { --w_->load; }
  LoadGuard(const LoadGuard&) = delete;
  LoadGuard& operator=(const LoadGuard&) = delete;
  Worker& worker() const { return *w_; }
  const std::shared_ptr<Worker>& ptr() const { return w_; }

 private:
  std::shared_ptr<Worker> w_;
};

class WorkerRegistry {
 public:
  // False when a worker with the same key is already registered.
  bool add(std::shared_ptr<Worker> w);
  // Removes every worker whose key or url equals `url_or_key`; returns them.
  std::vector<std::shared_ptr<Worker>> remove(const std::string& url_or_key);
  std::vector<std::shared_ptr<Worker>> snapshot() const;  // in the order they were added
  bool empty() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Worker>> workers_;
};

}  // namespace sgl::router
