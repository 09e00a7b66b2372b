#include "metrics.hpp"

#include <fmt/format.h>

namespace sgl::server {

void Histogram::observe(double v) {
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (v <= kBounds[i]) ++counts_[i];
  ++count_;
  sum_ += v;
}

void Histogram::render(std::string& out, const char* name, const char* help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  for (size_t i = 0; i < kBounds.size(); ++i) out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], counts_[i]);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

void Metrics::on_result(const Result& r) {
  std::lock_guard lock(mu_);
  ++requests_;
  if (!r.ok()) ++aborted_;
  prompt_tokens_ += static_cast<uint64_t>(r.prompt_tokens);
  generation_tokens_ += static_cast<uint64_t>(r.completion_tokens);
  cached_tokens_ += static_cast<uint64_t>(r.cached_tokens);
  if (r.completion_tokens > 0) ttft_.observe(r.time_to_first_token);
  e2e_.observe(r.e2e_latency);
}

void Metrics::on_http(int status) {
  std::lock_guard lock(mu_);
  if (status >= 500) ++http_5xx_;
  else if (status >= 400) ++http_4xx_;
  else ++http_2xx_;
}

std::string Metrics::render(const std::vector<EngineStats>& replicas) const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  auto gauge = [&](const char* name, const char* help, auto value_of) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
    for (size_t r = 0; r < replicas.size(); ++r)
      out += fmt::format("{}{{dp_rank=\"{}\"}} {}\n", name, r, static_cast<double>(value_of(replicas[r])));
  };
  std::lock_guard lock(mu_);
  counter("sgl:num_requests_total", "Finished generation requests (samples).", requests_);
  counter("sgl:num_aborted_requests_total", "Requests that finished with an abort.", aborted_);
  counter("sgl:prompt_tokens_total", "Prompt tokens of finished requests.", prompt_tokens_);
  counter("sgl:generation_tokens_total", "Generated tokens of finished requests.", generation_tokens_);
  counter("sgl:cached_tokens_total", "Prompt tokens served from the radix cache.", cached_tokens_);
  out += "# HELP sgl:http_responses_total HTTP responses by status class.\n# TYPE sgl:http_responses_total counter\n";
  out += fmt::format("sgl:http_responses_total{{code=\"2xx\"}} {}\n", http_2xx_);
  out += fmt::format("sgl:http_responses_total{{code=\"4xx\"}} {}\n", http_4xx_);
  out += fmt::format("sgl:http_responses_total{{code=\"5xx\"}} {}\n", http_5xx_);
  ttft_.render(out, "sgl:time_to_first_token_seconds", "Time from submit to the first output token.");
  e2e_.render(out, "sgl:e2e_request_latency_seconds", "Time from submit to finish.");
  using S = const EngineStats&;
  gauge("sgl:num_running_reqs", "Requests in the running batch.", [](S s) { return s.running_requests; });
  gauge("sgl:num_queue_reqs", "Requests waiting to be scheduled.", [](S s) { return s.waiting_requests; });
  gauge("sgl:kv_pages_total", "KV cache pages in the pool.", [](S s) { return s.kv_pages_total; });
  gauge("sgl:kv_pages_used", "KV cache pages held by requests or the radix cache.", [](S s) { return s.kv_pages_used; });
  gauge("sgl:kv_pages_free", "Free KV cache pages.", [](S s) { return s.kv_pages_free; });
  gauge("sgl:token_usage", "Fraction of KV pages in use.", [](S s) {
    return s.kv_pages_total > 0 ? static_cast<double>(s.kv_pages_used) / static_cast<double>(s.kv_pages_total) : 0.0;
  });
  gauge("sgl:cache_hit_rate", "Prefix cache hit rate (tokens) since start or flush.", [](S s) { return s.cache_hit_rate; });
  gauge("sgl:cached_tokens", "Tokens held by the radix cache.", [](S s) { return s.cached_tokens; });
  gauge("sgl:gen_throughput", "Recent decode tokens per second.", [](S s) { return s.decode_tokens_per_s; });
  gauge("sgl:num_requests_submitted", "Requests submitted to the replica since start.", [](S s) { return s.total_requests; });
  gauge("sgl:forward_steps", "Scheduler steps run by the replica since start.", [](S s) { return s.forward_steps; });
  return out;
}

}  // namespace sgl::server
