#include "admission.hpp"

#include <chrono>

namespace sgl::router {

Admission::Outcome Admission::acquire(Ticket& ticket) {
  std::unique_lock lk(mu_);
  if (max_ > 0 && active_ >= max_) {
    if (waiting_ >= queue_size_) return Outcome::kQueueFull;
    ++waiting_;
    bool got = cv_.wait_for(lk, std::chrono::duration<double>(timeout_secs_), [&] { return active_ < max_; });
    --waiting_;
    if (!got) return Outcome::kTimedOut;
  }
  ++active_;
  ticket = Ticket(this);
  return Outcome::kAdmitted;
}

void Admission::release() {
  {
    std::lock_guard lk(mu_);
    --active_;
  }
  cv_.notify_one();
}

int64_t Admission::active() const {
  std::lock_guard lk(mu_);
  return active_;
}

int64_t Admission::waiting() const {
  std::lock_guard lk(mu_);
  return waiting_;
}

}  // namespace sgl::router
