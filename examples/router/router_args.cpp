#include "router_args.hpp"

#include <CLI/CLI.hpp>

#include "core/support/check.hpp"
#include "core/support/cli11_parse.hpp"

namespace sgl::router {

std::vector<std::string> RouterArgs::id_headers() const {
  if (!request_id_headers.empty()) return request_id_headers;
  return {"x-request-id", "x-correlation-id", "x-trace-id", "request-id"};
}

void RouterArgs::validate() const {
  auto in = [](const char* flag, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi)) SGL_THROW(Status::kInvalidArgument, "{} must be in [{}, {}] (got {})", flag, lo, hi, v);
  };
  in("--port", port, 0, 65535);
  in("--prometheus-port", prometheus_port, 0, 65535);
  if (policy.name != "cache_aware" && policy.name != "round_robin" && policy.name != "random" &&
      policy.name != "power_of_two")
    SGL_THROW(Status::kInvalidArgument, "--policy must be cache_aware, round_robin, random or power_of_two (got '{}')",
              policy.name);
  in("--cache-threshold", policy.cache_threshold, 0, 1);
  in("--balance-abs-threshold", static_cast<double>(policy.balance_abs_threshold), 0, 1e12);
  in("--balance-rel-threshold", policy.balance_rel_threshold, 1, 1e12);
  in("--eviction-interval-secs", eviction_interval_secs, 0.001, 1e9);
  in("--max-tree-size", static_cast<double>(policy.max_tree_size), 1, 1e15);
  in("--health-check-interval-secs", health.interval_secs, 0.01, 1e9);
  in("--health-check-timeout-secs", health.timeout_secs, 0.01, 1e6);
  in("--health-failure-threshold", health.failure_threshold, 1, 1e6);
  in("--health-success-threshold", health.success_threshold, 1, 1e6);
  if (health.endpoint.empty() || health.endpoint[0] != '/')
    SGL_THROW(Status::kInvalidArgument, "--health-check-endpoint must start with '/' (got '{}')", health.endpoint);
  in("--worker-startup-timeout-secs", health.startup_timeout_secs, 0, 1e9);
  in("--worker-startup-check-interval", health.startup_check_interval_secs, 0.01, 1e9);
  in("--retry-max-retries", retry.max_retries, 0, 1000);
  in("--retry-initial-backoff-ms", retry.initial_backoff_ms, 0, 1e9);
  in("--retry-max-backoff-ms", retry.max_backoff_ms, 0, 1e9);
  in("--retry-backoff-multiplier", retry.backoff_multiplier, 1, 1e3);
  in("--retry-jitter-factor", retry.jitter_factor, 0, 1);
  in("--cb-failure-threshold", cb.failure_threshold, 1, 1e6);
  in("--cb-success-threshold", cb.success_threshold, 1, 1e6);
  in("--cb-timeout-duration-secs", cb.timeout_secs, 0, 1e9);
  in("--cb-window-duration-secs", cb.window_secs, 0, 1e9);
  in("--queue-size", queue_size, 0, 1e6);
  in("--queue-timeout-secs", queue_timeout_secs, 0, 1e9);
  in("--request-timeout-secs", request_timeout_secs, 0.001, 1e9);
  in("--http-threads", http_threads, 0, 8192);
  if (log_level != "debug" && log_level != "info" && log_level != "warning" && log_level != "error")
    SGL_THROW(Status::kInvalidArgument, "--log-level must be debug, info, warning or error (got '{}')", log_level);
}

int parse_router_args(int argc, char** argv, RouterArgs& a) {
  CLI::App app{"sgl-router: cache-aware HTTP router in front of sgl-server (or SGLang) workers", "sgl-router"};
  app.add_option("--worker-urls", a.worker_urls, "Worker base urls (http://host:port ...); more can join via /workers")
      ->expected(0, -1);
  app.add_option("--host", a.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", a.port, "Port to listen on")->capture_default_str();
  app.add_option("--policy", a.policy.name, "cache_aware, round_robin, random, power_of_two")->capture_default_str();
  app.add_option("--cache-threshold", a.policy.cache_threshold, "Matched fraction of the text that counts as a hit")
      ->capture_default_str();
  app.add_option("--balance-abs-threshold", a.policy.balance_abs_threshold,
                 "Imbalanced when max - min load exceeds this ...")
      ->capture_default_str();
  app.add_option("--balance-rel-threshold", a.policy.balance_rel_threshold, "... and max load exceeds this * min load")
      ->capture_default_str();
  app.add_option("--eviction-interval-secs", a.eviction_interval_secs, "Seconds between tree evictions")
      ->capture_default_str();
  app.add_option("--max-tree-size", a.policy.max_tree_size, "Bytes of text kept per worker in the tree")
      ->capture_default_str();
  app.add_option("--health-check-interval-secs", a.health.interval_secs, "Seconds between health checks")
      ->capture_default_str();
  app.add_option("--health-check-timeout-secs", a.health.timeout_secs, "Timeout of one health check")
      ->capture_default_str();
  app.add_option("--health-failure-threshold", a.health.failure_threshold, "Consecutive failed checks before unhealthy")
      ->capture_default_str();
  app.add_option("--health-success-threshold", a.health.success_threshold, "Consecutive good checks before healthy again")
      ->capture_default_str();
  app.add_option("--health-check-endpoint", a.health.endpoint, "Worker path probed")->capture_default_str();
  app.add_option("--worker-startup-timeout-secs", a.health.startup_timeout_secs,
                 "How long a new worker may take to become healthy")
      ->capture_default_str();
  app.add_option("--worker-startup-check-interval", a.health.startup_check_interval_secs,
                 "Seconds between checks of a starting worker")
      ->capture_default_str();
  app.add_option("--retry-max-retries", a.retry.max_retries, "Retries of a request on retryable failures")
      ->capture_default_str();
  app.add_option("--retry-initial-backoff-ms", a.retry.initial_backoff_ms, "First retry delay")->capture_default_str();
  app.add_option("--retry-max-backoff-ms", a.retry.max_backoff_ms, "Largest retry delay")->capture_default_str();
  app.add_option("--retry-backoff-multiplier", a.retry.backoff_multiplier, "Delay growth per retry")->capture_default_str();
  app.add_option("--retry-jitter-factor", a.retry.jitter_factor, "Random +- fraction of each delay")->capture_default_str();
  app.add_flag_callback("--disable-retries", [&a] { a.retry.enabled = false; }, "Never retry");
  app.add_option("--cb-failure-threshold", a.cb.failure_threshold, "Consecutive failures that open a worker's breaker")
      ->capture_default_str();
  app.add_option("--cb-success-threshold", a.cb.success_threshold, "Successes in half-open that close it")
      ->capture_default_str();
  app.add_option("--cb-timeout-duration-secs", a.cb.timeout_secs, "Seconds a breaker stays open")->capture_default_str();
  app.add_option("--cb-window-duration-secs", a.cb.window_secs, "Window the failures must fall in")->capture_default_str();
  app.add_flag_callback("--disable-circuit-breaker", [&a] { a.cb.enabled = false; }, "No circuit breakers");
  app.add_option("--max-concurrent-requests", a.max_concurrent_requests, "Requests proxied at once (<= 0: unlimited)")
      ->capture_default_str();
  app.add_option("--queue-size", a.queue_size, "Requests waiting for a slot; more get 429")->capture_default_str();
  app.add_option("--queue-timeout-secs", a.queue_timeout_secs, "Longest wait for a slot; then 408")->capture_default_str();
  app.add_option("--request-timeout-secs", a.request_timeout_secs, "Upstream read timeout")->capture_default_str();
  app.add_option("--api-key", a.api_key, "Require 'Authorization: Bearer <key>' (forwarded to workers)");
  app.add_option("--request-id-headers", a.request_id_headers,
                 "Headers that carry a request id (default: x-request-id x-correlation-id x-trace-id request-id)")
      ->expected(0, -1);
  app.add_option("--prometheus-host", a.prometheus_host, "Metrics listener address")->capture_default_str();
  app.add_option("--prometheus-port", a.prometheus_port, "Metrics listener port (0: only /metrics on --port)")
      ->capture_default_str();
  app.add_flag("--dp-aware", a.dp_aware,
               "Route to data-parallel ranks: url@rank entries, or ranks from a worker's /get_server_info dp_size");
  app.add_option("--log-level", a.log_level, "debug, info, warning, error")->capture_default_str();
  app.add_option("--http-threads", a.http_threads, "HTTP handler threads (sgl extra; 0 = from the queue limits)")
      ->capture_default_str();
  try {
    cli11_parse_with_prefixes(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return -1;
}

}  // namespace sgl::router
