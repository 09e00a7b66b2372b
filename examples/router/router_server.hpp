// RouterServer: sgl-router's HTTP front. Owns the worker registry, the policy, the health
// checker, the eviction thread, the admission queue and the proxy, and maps SGLang's router
// routes onto them. Everything but main() lives here so tests can run a router in-process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "router_args.hpp"

namespace sgl::router {

class Policy;

class RouterServer {
 public:
  // Validates `args` and registers --worker-urls; throws sgl::Error on a bad flag or url.
  explicit RouterServer(RouterArgs args);
  ~RouterServer();
  RouterServer(const RouterServer&) = delete;
  RouterServer& operator=(const RouterServer&) = delete;

  // Binds --port (0: any free port) and, when --prometheus-port is set, the metrics listener;
  // starts the health checker and the eviction thread. Returns the bound port.
  int bind();
  int metrics_port() const;  // 0 when there is no separate metrics listener
  // Serves until stop(); blocks.
  void serve();
  void stop();
  // Blocks until every registered worker is healthy or `timeout_secs` passed; returns how many
  // are healthy.
  size_t wait_for_workers(double timeout_secs);
  Policy& policy();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgl::router
