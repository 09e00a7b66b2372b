// The summary table and JSONL record, with SGLang bench_serving's labels and key names so existing
// scripts that read its output read ours.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_serving.hpp"
#include "core/support/check.hpp"

namespace sgl::bench {
namespace {

struct Stats {
  double mean = 0, median = 0, std = 0, p95 = 0, p99 = 0, max = 0;
};

// numpy's default (linear) percentile, so p50/p99 match SGLang's on the same samples.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

Stats stats_ms(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  for (double& x : v) x *= 1000.0;
  std::sort(v.begin(), v.end());
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(var / static_cast<double>(v.size()));
  s.median = percentile(v, 50);
  s.p95 = percentile(v, 95);
  s.p99 = percentile(v, 99);
  s.max = v.back();
  return s;
}

void row(const std::string& k, const std::string& v) { std::printf("%-40s %-10s\n", (k + ":").c_str(), v.c_str()); }
void row(const std::string& k, double v) { row(k, fmt::format("{:.2f}", v)); }
void title(const std::string& t, char fill) {
  size_t w = 50, left = (w - std::min(w, t.size())) / 2;
  std::printf("%s%s%s\n", std::string(left, fill).c_str(), t.c_str(), std::string(w - left - t.size(), fill).c_str());
}

}  // namespace

void report(const Args& a, const std::vector<Outcome>& outs, double duration) {
  std::vector<double> e2e, ttft, tpot, itl;
  long long in_tok = 0, out_tok = 0, cached_tok = 0;
  int completed = 0, failed = 0;
  bool cached_known = false;
  for (const auto& o : outs) {
    if (!o.success) {
      ++failed;
      continue;
    }
    ++completed;
    in_tok += o.prompt_len;
    out_tok += o.output_len;
    if (o.cached_tokens >= 0) cached_known = true, cached_tok += o.cached_tokens;
    e2e.push_back(o.latency);
    ttft.push_back(o.ttft);
    if (o.output_len > 1) tpot.push_back((o.latency - o.ttft) / (o.output_len - 1));
    itl.insert(itl.end(), o.itl.begin(), o.itl.end());
  }
  const double dur = std::max(duration, 1e-9);
  const double concurrency = std::accumulate(e2e.begin(), e2e.end(), 0.0) / dur;
  Stats se = stats_ms(e2e), st = stats_ms(ttft), sp = stats_ms(tpot), si = stats_ms(itl);
  const bool inf_rate = !(a.request_rate > 0) || std::isinf(a.request_rate);
  const std::string rate = inf_rate ? "inf" : fmt::format("{}", a.request_rate);
  const std::string maxc = a.max_concurrency > 0 ? std::to_string(a.max_concurrency) : "not set";

  std::printf("\n");
  title(" Serving Benchmark Result ", '=');
  row("Backend", a.backend);
  row("Traffic request rate", rate);
  row("Max request concurrency", maxc);
  row("Successful requests", std::to_string(completed));
  if (failed) row("Failed requests", std::to_string(failed));
  row("Benchmark duration (s)", duration);
  row("Total input tokens", std::to_string(in_tok));
  row("Total generated tokens", std::to_string(out_tok));
  // sgl extra: the share of prompt tokens the server(s) found in their prefix cache, from
  // meta_info.cached_tokens / usage.prompt_tokens_details.cached_tokens.
  const double cached_share = in_tok > 0 ? static_cast<double>(cached_tok) / static_cast<double>(in_tok) : 0.0;
  if (cached_known) {
    row("Total cached prompt tokens", std::to_string(cached_tok));
    row("Cached prompt token share", cached_share);
  }
  row("Request throughput (req/s)", completed / dur);
  row("Input token throughput (tok/s)", in_tok / dur);
  row("Output token throughput (tok/s)", out_tok / dur);
  row("Total token throughput (tok/s)", (in_tok + out_tok) / dur);
  row("Concurrency", concurrency);
  title("End-to-End Latency", '-');
  row("Mean E2E Latency (ms)", se.mean);
  row("Median E2E Latency (ms)", se.median);
  row("P99 E2E Latency (ms)", se.p99);
  title("Time to First Token", '-');
  row("Mean TTFT (ms)", st.mean);
  row("Median TTFT (ms)", st.median);
  row("P99 TTFT (ms)", st.p99);
  title("Time per Output Token (excl. 1st token)", '-');
  row("Mean TPOT (ms)", sp.mean);
  row("Median TPOT (ms)", sp.median);
  row("P99 TPOT (ms)", sp.p99);
  title("Inter-Token Latency", '-');
  row("Mean ITL (ms)", si.mean);
  row("Median ITL (ms)", si.median);
  row("P95 ITL (ms)", si.p95);
  row("P99 ITL (ms)", si.p99);
  row("Max ITL (ms)", si.max);
  title("", '=');
  std::fflush(stdout);

  if (a.output_file.empty()) return;
  nlohmann::json j = {
      {"tag", a.tag},
      {"backend", a.backend},
      {"dataset_name", a.dataset_name},
      {"request_rate", inf_rate ? nlohmann::json("inf") : nlohmann::json(a.request_rate)},
      {"max_concurrency", a.max_concurrency > 0 ? nlohmann::json(a.max_concurrency) : nlohmann::json(nullptr)},
      {"sharegpt_output_len", a.sharegpt_output_len > 0 ? nlohmann::json(a.sharegpt_output_len) : nlohmann::json(nullptr)},
      {"random_input_len", a.random_input_len},
      {"random_output_len", a.random_output_len},
      {"random_range_ratio", a.random_range_ratio},
      {"num_prompts", static_cast<int>(outs.size())},
      {"duration", duration},
      {"completed", completed},
      {"failed", failed},
      {"total_input_tokens", in_tok},
      {"total_output_tokens", out_tok},
      {"request_throughput", completed / dur},
      {"input_throughput", in_tok / dur},
      {"output_throughput", out_tok / dur},
      {"total_throughput", (in_tok + out_tok) / dur},
      {"mean_e2e_latency_ms", se.mean},
      {"median_e2e_latency_ms", se.median},
      {"std_e2e_latency_ms", se.std},
      {"p99_e2e_latency_ms", se.p99},
      {"mean_ttft_ms", st.mean},
      {"median_ttft_ms", st.median},
      {"std_ttft_ms", st.std},
      {"p99_ttft_ms", st.p99},
      {"mean_tpot_ms", sp.mean},
      {"median_tpot_ms", sp.median},
      {"std_tpot_ms", sp.std},
      {"p99_tpot_ms", sp.p99},
      {"mean_itl_ms", si.mean},
      {"median_itl_ms", si.median},
      {"std_itl_ms", si.std},
      {"p95_itl_ms", si.p95},
      {"p99_itl_ms", si.p99},
      {"max_itl_ms", si.max},
      {"concurrency", concurrency},
      {"total_cached_tokens", cached_known ? nlohmann::json(cached_tok) : nlohmann::json(nullptr)},
      {"cached_tokens_share", cached_known ? nlohmann::json(cached_share) : nlohmann::json(nullptr)},
  };
  if (a.output_details) {  // SGLang's --output-details fields, one entry per request in order
    nlohmann::json in = nlohmann::json::array(), outl = in, ttfts = in, itls = in, texts = in, errors = in;
    for (const auto& o : outs) {
      in.push_back(o.prompt_len);
      outl.push_back(o.output_len);
      ttfts.push_back(o.ttft);
      itls.push_back(o.itl);
      texts.push_back(o.generated_text);
      errors.push_back(o.error);
    }
    j["input_lens"] = in;
    j["output_lens"] = outl;
    j["ttfts"] = ttfts;
    j["itls"] = itls;
    j["generated_texts"] = texts;
    j["errors"] = errors;
  }
  std::ofstream f(a.output_file, std::ios::app);
  if (!f) SGL_THROW(Status::kIoError, "cannot open --output-file '{}' for appending", a.output_file);
  f << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";  // texts may hold cut UTF-8
  if (!f) SGL_THROW(Status::kIoError, "cannot write --output-file '{}'", a.output_file);
}

}  // namespace sgl::bench
