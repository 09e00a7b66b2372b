// Command-line options of sgl-router, named and defaulted like SGLang's
// `python -m sglang_router.launch_router` (see ../shared/specs/SERVING.md); a few sgl extras are
// marked as such in --help.
#pragma once

#include <string>
#include <vector>

#include "circuit_breaker.hpp"
#include "policy.hpp"

namespace sgl::router {

struct RetryConfig {
  bool enabled = true;
  int max_retries = 5;
  double initial_backoff_ms = 50;
  double max_backoff_ms = 5000;
  double backoff_multiplier = 2.0;
  double jitter_factor = 0.1;
};

struct HealthConfig {
  double interval_secs = 60;
  double timeout_secs = 5;
  int failure_threshold = 3;
  int success_threshold = 2;
  std::string endpoint = "/health";
  double startup_timeout_secs = 600;
  double startup_check_interval_secs = 30;
};

struct RouterArgs {
  std::vector<std::string> worker_urls;
  std::string host = "127.0.0.1";
  int port = 30000;
  PolicyConfig policy;
  double eviction_interval_secs = 120;
  HealthConfig health;
  RetryConfig retry;
  CircuitBreakerConfig cb;
  int max_concurrent_requests = 256;  // <= 0: unlimited
  int queue_size = 100;
  double queue_timeout_secs = 60;
  double request_timeout_secs = 1800;
  std::string api_key;
  std::vector<std::string> request_id_headers;  // empty: x-request-id, x-correlation-id, x-trace-id, request-id
  std::string prometheus_host = "0.0.0.0";
  int prometheus_port = 29000;  // 0: no separate metrics listener (/metrics stays on --port)
  bool dp_aware = false;
  std::string log_level = "info";
  int http_threads = 0;  // sgl extra; 0: max-concurrent-requests + queue-size + 16

  // Throws sgl::Error(kInvalidArgument) naming the flag for an out-of-range value.
  void validate() const;
  std::vector<std::string> id_headers() const;
};

// Parses argv into `args`. Returns -1 to go on, or an exit code (0 after --help).
int parse_router_args(int argc, char** argv, RouterArgs& args);

}  // namespace sgl::router
