// CircuitBreaker: per-worker protection against sending requests to a worker that keeps failing
// (SGLang's --cb-* flags). Closed: requests flow; `failure_threshold` consecutive failures inside
// `window` open it. Open: no requests for `timeout`, then half-open. Half-open: requests flow
// again as probes; `success_threshold` consecutive successes close it, one failure re-opens it.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

namespace sgl::router {

struct CircuitBreakerConfig {
  bool enabled = true;
  int failure_threshold = 5;
  int success_threshold = 2;
  double timeout_secs = 30;
  double window_secs = 60;
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  using Clock = std::chrono::steady_clock;

  explicit CircuitBreaker(CircuitBreakerConfig c = {}) : c_(c) {}
  // Whether a request may go to the worker now (moves open -> half-open once the timeout passed).
  bool allow(Clock::time_point now = Clock::now());
  void record(bool success, Clock::time_point now = Clock::now());
  State state() const;
  static const char* name(State s);

 private:
  CircuitBreakerConfig c_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int failures_ = 0, successes_ = 0;
  Clock::time_point first_failure_{}, opened_{};
};

}  // namespace sgl::router
