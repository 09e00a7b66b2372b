// RouterMetrics: Prometheus text exposition for the router's GET /metrics. Counters are atomics
// or one mutex per observation; per-worker figures (requests, errors, retries, in flight) are read
// from the workers and the policy's counters from the policy when the page is rendered.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "policy.hpp"
#include "worker_registry.hpp"

namespace sgl::router {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                      1.0,   2.5,  5.0,   10.0, 30.0, 60.0, 300.0};
  void observe(double seconds);
  void render(std::string& out, const char* name, const char* help) const;

 private:
  mutable std::mutex mu_;
  std::array<uint64_t, kBounds.size()> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

class RouterMetrics {
 public:
  void on_response(int status, double seconds);  // one client request answered (or stream ended)
  void on_retry() { ++retries_; }
  void on_rejected() { ++rejected_; }  // 429 / 408 from admission
  std::string render(const std::vector<std::shared_ptr<Worker>>& workers, const Policy& policy, int64_t active,
                     int64_t waiting) const;

 private:
  std::atomic<uint64_t> requests_{0}, errors_{0}, retries_{0}, rejected_{0};
  std::atomic<uint64_t> s2xx_{0}, s4xx_{0}, s5xx_{0};
  LatencyHistogram latency_;
};

}  // namespace sgl::router
