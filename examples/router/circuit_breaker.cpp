#include "circuit_breaker.hpp"

namespace sgl::router {

namespace {
CircuitBreaker::Clock::duration secs(double s) {
  return std::chrono::duration_cast<CircuitBreaker::Clock::duration>(std::chrono::duration<double>(s));
}
}  // namespace

bool CircuitBreaker::allow(Clock::time_point now) {
  if (!c_.enabled) return true;
  std::lock_guard lk(mu_);
  if (state_ == State::kOpen && now - opened_ >= secs(c_.timeout_secs)) {
    state_ = State::kHalfOpen;
    successes_ = 0;
  }
  return state_ != State::kOpen;
}

void CircuitBreaker::record(bool success, Clock::time_point now) {
  if (!c_.enabled) return;
  std::lock_guard lk(mu_);
  if (success) {
    failures_ = 0;
    if (state_ == State::kHalfOpen && ++successes_ >= c_.success_threshold) state_ = State::kClosed;
    return;
  }
  successes_ = 0;
  if (state_ == State::kHalfOpen) {
    state_ = State::kOpen;
    opened_ = now;
    return;
  }
  // Failures further apart than the window do not add up to an outage.
  if (failures_ == 0 || now - first_failure_ > secs(c_.window_secs)) {
    failures_ = 0;
    first_failure_ = now;
  }
  if (++failures_ >= c_.failure_threshold && state_ == State::kClosed) {
    state_ = State::kOpen;
    opened_ = now;
    failures_ = 0;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lk(mu_);
  return state_;
}

const char* CircuitBreaker::name(State s) {
  switch (s) {
    case State::kClosed: return "closed";
    case State::kOpen: return "open";
    case State::kHalfOpen: return "half_open";
  }
  return "?";
}

}  // namespace sgl::router
