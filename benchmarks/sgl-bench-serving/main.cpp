// sgl-bench-serving: `python -m sglang.bench_serving` in C++. Requests arrive as a Poisson process
// (--request-rate, inf = all at once), at most --max-concurrency in flight, each on its own thread
// with its own connection; every request has a deadline, so a stuck server cannot hang the run.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench_serving.hpp"
#include "core/support/cli11_parse.hpp"
#include "sgl/error.hpp"

namespace sgl::bench {
namespace {

using Clock = std::chrono::steady_clock;

// A counting gate for --max-concurrency (0 = none).
class Gate {
 public:
  explicit Gate(int n) : free_(n) {}
  void acquire() {
    if (free_ < 0) return;
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return free_ > 0; });
    --free_;
  }
  void release() {
    if (free_ < 0) return;
    {
      std::lock_guard lk(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

class Progress {
 public:
  Progress(int total, bool on) : total_(total), on_(on && isatty(STDERR_FILENO)) {}
  void tick() {
    std::lock_guard lk(mu_);  // count and draw under one lock so the bar never goes backwards
    int d = ++done_;
    if (!on_) return;
    int w = 40, fill = total_ ? d * w / total_ : w;
    std::fprintf(stderr, "\r%3d%%|%s%s| %d/%d", total_ ? d * 100 / total_ : 100, std::string(fill, '#').c_str(),
                 std::string(w - fill, ' ').c_str(), d, total_);
    if (d == total_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  int total_;
  bool on_;
  int done_ = 0;
  std::mutex mu_;
};

// OpenAI backends need a model name; ask the server like SGLang does, else send "default".
std::string discover_model(const Args& a) {
  std::string base = base_url_of(a);
  auto scheme = base.find("://");
  auto slash = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  httplib::Client cli(base.substr(0, slash));
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(10, 0);
  std::string prefix = slash == std::string::npos ? "" : base.substr(slash);
  if (auto r = cli.Get((prefix + "/v1/models").c_str()); r && r->status == 200) {
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_object() && j.contains("data") && j["data"].is_array() && !j["data"].empty() && j["data"][0].is_object() &&
        j["data"][0].contains("id") && j["data"][0]["id"].is_string())
      return j["data"][0]["id"].get<std::string>();
  }
  return "default";
}

int run(int argc, char** argv) {
  Args a;
  std::string rate = "inf";
  CLI::App app{"sgl-bench-serving: online serving benchmark compatible with python -m sglang.bench_serving"};
  app.add_option("--backend", a.backend, "sglang (native /generate), sglang-oai, vllm, openai, openai-chat")
      ->check(CLI::IsMember({"sglang", "sglang-native", "sglang-oai", "vllm", "openai", "lmdeploy", "openai-chat",
                             "sglang-oai-chat", "vllm-chat"}))
      ->capture_default_str();
  app.add_option("--host", a.host)->capture_default_str();
  app.add_option("--port", a.port, "Server port (default 30000)");
  app.add_option("--base-url", a.base_url, "Server URL, overrides --host/--port");
  app.add_option("--model", a.model, "Model name for OpenAI requests (default: the server's /v1/models)");
  app.add_option("--dataset-name", a.dataset_name)
      ->check(CLI::IsMember({"sharegpt", "random", "generated-shared-prefix"}))
      ->capture_default_str();
  app.add_option("--dataset-path", a.dataset_path, "Local ShareGPT JSON file");
  app.add_option("--tokenizer", a.tokenizer, "GGUF, tokenizer.json or HF directory used to build exact-length prompts");
  app.add_option("--num-prompts", a.num_prompts)->capture_default_str()->check(CLI::Range(1, 10000000));
  app.add_option("--sharegpt-output-len", a.sharegpt_output_len);
  app.add_option("--random-input-len", a.random_input_len)->capture_default_str()->check(CLI::Range(1, 10000000));
  app.add_option("--random-output-len", a.random_output_len)->capture_default_str()->check(CLI::Range(1, 10000000));
  app.add_option("--random-range-ratio", a.random_range_ratio)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--gsp-num-groups", a.gsp_num_groups)->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--gsp-prompts-per-group", a.gsp_prompts_per_group)->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--gsp-system-prompt-len", a.gsp_system_prompt_len)->capture_default_str()->check(CLI::Range(1, 10000000));
  app.add_option("--gsp-question-len", a.gsp_question_len)->capture_default_str()->check(CLI::Range(1, 10000000));
  app.add_option("--gsp-output-len", a.gsp_output_len)->capture_default_str()->check(CLI::Range(1, 10000000));
  app.add_option("--request-rate", rate, "Requests per second (Poisson arrivals); inf sends all at once")
      ->capture_default_str();
  app.add_option("--max-concurrency", a.max_concurrency, "Most requests in flight (default: unlimited)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seed", a.seed)->capture_default_str();
  app.add_option("--output-file", a.output_file, "Append one JSONL record with the results");
  app.add_flag("--disable-stream", a.disable_stream);
  app.add_flag("--disable-tqdm", a.disable_tqdm);
  app.add_flag("--disable-ignore-eos", a.disable_ignore_eos);
  app.add_option("--request-timeout", a.timeout_s, "Seconds one request may take in all (sgl extra)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 1e6));
  app.add_option("--tag", a.tag, "Free text stored in the JSONL record");
  app.add_flag("--output-details", a.output_details,
               "Store per-request input_lens, output_lens, ttfts, itls, generated_texts and errors in the JSONL record");
  try {
    cli11_parse_with_prefixes(app, argc, argv);  // argparse-style prefixes: --random-input 1000
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (rate == "inf" || rate == "Inf" || rate == "infinity") {
    a.request_rate = INFINITY;
  } else {
    try {
      a.request_rate = std::stod(rate);
    } catch (const std::exception&) {
      std::cerr << "error: --request-rate must be a number or inf (got '" << rate << "')\n";
      return 2;
    }
    if (!(a.request_rate > 0)) {
      std::cerr << "error: --request-rate must be > 0 or inf\n";
      return 2;
    }
  }
  if (a.backend == "sglang-native") a.backend = "sglang";
  if (a.backend == "sglang-oai-chat" || a.backend == "vllm-chat") a.backend = "openai-chat";
  if (a.backend != "sglang" && a.model.empty()) a.model = discover_model(a);

  auto prompts = make_prompts(a);
  const int n = static_cast<int>(prompts.size());
  std::cerr << "#Input tokens: " << [&] { long long s = 0; for (auto& p : prompts) s += p.input_len; return s; }()
            << "\n#Output tokens: " << [&] { long long s = 0; for (auto& p : prompts) s += p.output_len; return s; }()
            << "\n";

  std::vector<Outcome> outs(static_cast<size_t>(n));
  Gate gate(a.max_concurrency > 0 ? a.max_concurrency : -1);
  Progress progress(n, !a.disable_tqdm);
  std::mt19937_64 rng(a.seed);
  std::exponential_distribution<double> gap(std::isinf(a.request_rate) ? 1.0 : a.request_rate);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(n));
  const auto t0 = Clock::now();
  auto next = t0;
  for (int i = 0; i < n; ++i) {
    if (!std::isinf(a.request_rate)) {
      std::this_thread::sleep_until(next);
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
    }
    threads.emplace_back([&, i] {
      gate.acquire();
      try {
        outs[static_cast<size_t>(i)] = send_request(a, prompts[static_cast<size_t>(i)]);
      } catch (const std::exception& e) {
        outs[static_cast<size_t>(i)].error = e.what();
      }
      gate.release();
      progress.tick();
    });
  }
  for (auto& t : threads) t.join();
  const double duration = std::chrono::duration<double>(Clock::now() - t0).count();

  int shown = 0;
  for (const auto& o : outs)
    if (!o.success && shown++ < 5) std::cerr << "request failed: " << o.error << "\n";
  report(a, outs, duration);
  bool any = false;
  for (const auto& o : outs) any |= o.success;
  return any ? 0 : 1;
}

}  // namespace
}  // namespace sgl::bench

int main(int argc, char** argv) {
  try {
    return sgl::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sgl-bench-serving: " << e.what() << "\n";
    return 2;
  }
}
