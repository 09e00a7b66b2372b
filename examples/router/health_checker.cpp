#include "health_checker.hpp"

#include <httplib.h>

#include <set>

#include "core/support/log.hpp"

namespace sgl::router {

using Clock = std::chrono::steady_clock;

namespace {
Clock::duration secs(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }
void set_timeouts(httplib::Client& c, double s) {
  auto sec = static_cast<time_t>(s);
  auto usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
  c.set_connection_timeout(sec, usec);
  c.set_read_timeout(sec, usec);
  c.set_write_timeout(sec, usec);
}
}  // namespace

HealthChecker::HealthChecker(WorkerRegistry& registry, HealthConfig config) : registry_(registry), c_(std::move(config)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::start() { thread_ = std::thread([this] { run(); }); }

void HealthChecker::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::poke() {
  {
    std::lock_guard lk(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

bool HealthChecker::probe(const Worker& w, const std::string& path, double timeout_secs) {
  httplib::Client c(w.host(), w.port());
  set_timeouts(c, timeout_secs);
  auto r = c.Get(path.c_str());
  return r && r->status >= 200 && r->status < 300;
}

bool HealthChecker::wait_healthy(const Worker& w, double timeout_secs) {
  auto end = Clock::now() + secs(timeout_secs);
  while (w.health() != Worker::Health::kHealthy) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void HealthChecker::judge(Worker& w, bool ok) {
  using H = Worker::Health;
  H h = w.health();
  if (ok) {
    w.consecutive_failures = 0;
    ++w.consecutive_successes;
    if (h == H::kStarting || (h == H::kUnhealthy && w.consecutive_successes >= c_.success_threshold)) {
      w.set_health(H::kHealthy);
      SGL_LOG_INFO("worker {} is healthy", w.key());
    }
    return;
  }
  w.consecutive_successes = 0;
  ++w.consecutive_failures;
  if (h == H::kStarting && Clock::now() - w.added() > secs(c_.startup_timeout_secs)) {
    w.set_health(H::kUnhealthy);
    SGL_LOG_ERROR("worker {} did not become healthy within --worker-startup-timeout-secs {}", w.key(),
                  c_.startup_timeout_secs);
  } else if (h == H::kHealthy && w.consecutive_failures >= c_.failure_threshold) {
    w.set_health(H::kUnhealthy);
    SGL_LOG_WARN("worker {} failed {} health checks in a row: out of rotation", w.key(), w.consecutive_failures);
  }
}

void HealthChecker::run() {
  for (;;) {
    auto workers = registry_.snapshot();
    auto now = Clock::now();
    Clock::time_point next = now + secs(c_.interval_secs);
    std::set<const Worker*> live;
    // Ranks of one dp-aware server share a url: probe the url once per round.
    std::map<std::string, bool> probed;
    for (const auto& w : workers) {
      live.insert(w.get());
      Clock::time_point due;
      {
        std::lock_guard lk(mu_);
        due = due_.try_emplace(w.get(), now).first->second;
      }
      if (due <= now) {
        auto it = probed.find(w->url());
        bool ok = it != probed.end() ? it->second : (probed[w->url()] = probe(*w, c_.endpoint, c_.timeout_secs));
        judge(*w, ok);
        double wait = w->health() == Worker::Health::kStarting ? c_.startup_check_interval_secs : c_.interval_secs;
        due = Clock::now() + secs(wait);
        std::lock_guard lk(mu_);
        due_[w.get()] = due;
      }
      next = std::min(next, due);
    }
    std::unique_lock lk(mu_);
    for (auto it = due_.begin(); it != due_.end();) it = live.count(it->first) ? std::next(it) : due_.erase(it);
    cv_.wait_until(lk, next, [&] { return stop_ || poked_; });
    if (stop_) return;
    poked_ = false;
  }
}

}  // namespace sgl::router
