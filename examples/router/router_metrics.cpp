#include "router_metrics.hpp"

#include <fmt/format.h>

namespace sgl::router {

void LatencyHistogram::observe(double v) {
  std::lock_guard lk(mu_);
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (v <= kBounds[i]) ++counts_[i];
  ++count_;
  sum_ += v;
}

void LatencyHistogram::render(std::string& out, const char* name, const char* help) const {
  std::lock_guard lk(mu_);
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  for (size_t i = 0; i < kBounds.size(); ++i) out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], counts_[i]);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

void RouterMetrics::on_response(int status, double seconds) {
  ++requests_;
  if (status >= 500) ++s5xx_, ++errors_;
  else if (status >= 400) ++s4xx_, ++errors_;
  else ++s2xx_;
  latency_.observe(seconds);
}

namespace {

void counter(std::string& out, const char* name, const char* help, uint64_t v) {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
}
void gauge(std::string& out, const char* name, const char* help, double v) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
}

// Label values are worker urls; escape what the exposition format requires.
std::string label(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

std::string RouterMetrics::render(const std::vector<std::shared_ptr<Worker>>& workers, const Policy& policy,
                                  int64_t active, int64_t waiting) const {
  std::string out;
  counter(out, "sgl_router_requests_total", "Client requests answered", requests_.load());
  counter(out, "sgl_router_errors_total", "Client requests answered with a 4xx/5xx or an error chunk", errors_.load());
  counter(out, "sgl_router_retries_total", "Upstream attempts retried on another try", retries_.load());
  counter(out, "sgl_router_rejected_total", "Requests refused by the admission queue (429/408)", rejected_.load());
  out += "# HELP sgl_router_http_responses_total Responses by status class\n"
         "# TYPE sgl_router_http_responses_total counter\n";
  out += fmt::format("sgl_router_http_responses_total{{code=\"2xx\"}} {}\n", s2xx_.load());
  out += fmt::format("sgl_router_http_responses_total{{code=\"4xx\"}} {}\n", s4xx_.load());
  out += fmt::format("sgl_router_http_responses_total{{code=\"5xx\"}} {}\n", s5xx_.load());
  gauge(out, "sgl_router_active_requests", "Requests holding an admission slot", static_cast<double>(active));
  gauge(out, "sgl_router_queued_requests", "Requests waiting for an admission slot", static_cast<double>(waiting));
  latency_.render(out, "sgl_router_request_latency_seconds", "Client request latency (to the last byte)");

  const char* per[][2] = {{"sgl_router_worker_requests_total", "Upstream attempts sent to the worker"},
                          {"sgl_router_worker_errors_total", "Failed upstream attempts on the worker"},
                          {"sgl_router_worker_retries_total", "Attempts on the worker that were retried elsewhere"},
                          {"sgl_router_worker_in_flight", "Requests in flight on the worker"},
                          {"sgl_router_worker_healthy", "1 when the worker is in rotation"}};
  for (int k = 0; k < 5; ++k) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", per[k][0], per[k][1], per[k][0], k < 3 ? "counter" : "gauge");
    for (const auto& w : workers) {
      double v = k == 0   ? static_cast<double>(w->requests.load())
                 : k == 1 ? static_cast<double>(w->errors.load())
                 : k == 2 ? static_cast<double>(w->retries.load())
                 : k == 3 ? static_cast<double>(w->load.load())
                          : (w->health() == Worker::Health::kHealthy ? 1.0 : 0.0);
      out += fmt::format("{}{{worker=\"{}\"}} {}\n", per[k][0], label(w->key()), v);
    }
  }

  PolicyStats s = policy.stats();
  counter(out, "sgl_router_policy_decisions_total", "Routing decisions", s.decisions);
  counter(out, "sgl_router_policy_cache_hits_total", "Decisions that followed a prefix match (cache_aware)",
          s.cache_hits);
  gauge(out, "sgl_router_policy_cache_hit_fraction", "cache_hits / decisions",
        s.decisions ? static_cast<double>(s.cache_hits) / static_cast<double>(s.decisions) : 0.0);
  gauge(out, "sgl_router_policy_matched_text_fraction", "Request text found in the chosen worker's tree / text seen",
        s.request_bytes ? static_cast<double>(s.matched_bytes) / static_cast<double>(s.request_bytes) : 0.0);
  counter(out, "sgl_router_policy_imbalanced_total", "Decisions taken while load was imbalanced", s.imbalanced);
  gauge(out, "sgl_router_tree_bytes", "Bytes of text in the cache-aware tree", static_cast<double>(s.tree_bytes));
  gauge(out, "sgl_router_tree_nodes", "Nodes of the cache-aware tree", static_cast<double>(s.tree_nodes));
  return out;
}

}  // namespace sgl::router
