// HealthChecker: one background thread that probes every worker's health endpoint and moves it
// between starting, healthy and unhealthy. A starting worker is probed every
// --worker-startup-check-interval and joins the rotation on its first good answer; if none comes
// within --worker-startup-timeout-secs it is marked unhealthy (and still probed, so a slow
// starter can join later). A healthy worker leaves the rotation only after
// --health-failure-threshold consecutive failed probes (one slow answer from a busy worker is not
// an outage) and comes back after --health-success-threshold consecutive good ones.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "router_args.hpp"
#include "worker_registry.hpp"

namespace sgl::router {

class HealthChecker {
 public:
  HealthChecker(WorkerRegistry& registry, HealthConfig config);
  ~HealthChecker();  // stops and joins the thread
  void start();
  void stop();
  // A worker was added: probe it now rather than at the next tick.
  void poke();
  // Blocks until `w` is healthy (true) or `timeout_secs` passed (false).
  bool wait_healthy(const Worker& w, double timeout_secs);

  // One probe, used by the thread (and by /health_generate-style checks): true on a 2xx.
  static bool probe(const Worker& w, const std::string& path, double timeout_secs);

 private:
  void run();
  void judge(Worker& w, bool ok);

  WorkerRegistry& registry_;
  HealthConfig c_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, poked_ = false;
  std::map<const Worker*, std::chrono::steady_clock::time_point> due_;
  std::thread thread_;
};

}  // namespace sgl::router
