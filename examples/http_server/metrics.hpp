// Metrics: Prometheus text exposition for GET /metrics. Counters and histograms are updated by
// the HTTP handler threads (one mutex, taken once per finished request); engine gauges (KV pages,
// queue, cache hit rate) are read from Engine::stats() when the page is rendered.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sgl/engine.hpp"

namespace sgl::server {

class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                      1.0,   2.5,  5.0,   10.0, 30.0, 60.0, 300.0};
  void observe(double v);
  void render(std::string& out, const char* name, const char* help) const;

 private:
  std::array<uint64_t, kBounds.size()> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0.0;
};

class Metrics {
 public:
  // One finished engine request (one sample).
  void on_result(const Result& r);
  // One HTTP request answered with `status`.
  void on_http(int status);
  // Engine gauges carry a dp_rank label, one series per data-parallel replica.
  std::string render(const std::vector<EngineStats>& replicas) const;

 private:
  mutable std::mutex mu_;
  uint64_t requests_ = 0, aborted_ = 0;
  uint64_t prompt_tokens_ = 0, generation_tokens_ = 0, cached_tokens_ = 0;
  uint64_t http_2xx_ = 0, http_4xx_ = 0, http_5xx_ = 0;
  Histogram ttft_, e2e_;
};

}  // namespace sgl::server
