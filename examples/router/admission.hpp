// Admission: --max-concurrent-requests slots with a bounded FIFO-ish wait (--queue-size,
// --queue-timeout-secs). A full queue answers 429 and a wait past the timeout 408, as SGLang's
// router does. The slot is an RAII Ticket, released on every exit path.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace sgl::router {

class Admission {
 public:
  enum class Outcome { kAdmitted, kQueueFull, kTimedOut };

  class Ticket {
   public:
    Ticket() = default;
    explicit Ticket(Admission* a) : a_(a) {}
    Ticket(Ticket&& o) noexcept : a_(o.a_) { o.a_ = nullptr; }
    Ticket& operator=(Ticket&& o) noexcept {
      if (this != &o) {
        if (a_) a_->release();
        a_ = o.a_;
        o.a_ = nullptr;
      }
      return *this;
    }
    ~Ticket() {
      if (a_) a_->release();
    }

   private:
    Admission* a_ = nullptr;
  };

  Admission(int max_concurrent, int queue_size, double queue_timeout_secs)
      : max_(max_concurrent), queue_size_(queue_size), timeout_secs_(queue_timeout_secs) {}

  // On kAdmitted `ticket` holds a slot.
  Outcome acquire(Ticket& ticket);
  int64_t active() const;
  int64_t waiting() const;

 private:
  void release();

  const int max_, queue_size_;
  const double timeout_secs_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t active_ = 0, waiting_ = 0;
};

}  // namespace sgl::router
