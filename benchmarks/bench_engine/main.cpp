// bench_engine: the Engine end to end on synthetic models.
//  1. multi-turn chat: 8 conversations x 6 turns sharing a 500-token system prompt, run
//     concurrently; reports the radix cache hit rate and TTFT.
//  2. TTFT of a request whose 1,000-token prefix is cached vs the same request, cache off.
//  3. batched decode throughput at 1, 4 and 16 concurrent requests on the synthetic 110M llama
//     (dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000).
// Usage: bench_engine [--threads N] [--device cpu] [--dir DIR] [--weights f16|q8_0]
//                     [--decode-tokens N] [--skip-chat] [--skip-ttft] [--skip-decode]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/model/synthetic_model.hpp"
#include "core/support/log.hpp"
#include "sgl/engine.hpp"
#include "sgl/error.hpp"

using namespace sgl;
namespace fs = std::filesystem;

namespace {

struct Args {
  int threads = 2;
  std::string device = "cpu";
  std::string dir = "/tmp/sgl_bench_engine";
  std::string weights = "f16";
  int decode_tokens = 32;
  bool chat = true, ttft = true, decode = true;
};

std::string ensure_model(const Args& a, const std::string& name, SyntheticSpec spec) {
  fs::create_directories(a.dir);
  std::string path = (fs::path(a.dir) / (name + ".gguf")).string();
  if (!fs::exists(path)) {
    std::fprintf(stderr, "writing %s ...\n", path.c_str());
    write_synthetic_gguf(spec, path);
  }
  return path;
}

std::vector<int32_t> random_ids(std::mt19937& rng, int n, int32_t vocab) {
  std::uniform_int_distribution<int32_t> d(3, vocab - 1);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& t : v) t = d(rng);
  return v;
}

Request greedy(std::vector<int32_t> ids, int max_new) {
  Request r;
  r.input_ids = std::move(ids);
  r.sampling.temperature = 0.0f;
  r.sampling.max_new_tokens = max_new;
  r.sampling.ignore_eos = true;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// A mid-sized model for the prefill-heavy parts: large enough that prefill dominates TTFT.
SyntheticSpec mid_spec(const Args& a) {
  SyntheticSpec s = synthetic_preset("tiny");
  s.name = "bench-mid";
  s.n_vocab = 4096;
  s.n_embd = 256;
  s.n_layer = 4;
  s.n_head = 8;
  s.n_head_kv = 4;
  s.n_ff = 768;
  s.n_ctx = 8192;
  s.weight_type = a.weights == "q8_0" ? kernels::DType::Q8_0 : kernels::DType::F16;
  return s;
}

EngineConfig base_config(const Args& a, const std::string& model) {
  EngineConfig c;
  c.model_path = model;
  c.device = a.device;
  c.threads = a.threads;
  c.max_total_tokens = 32768;
  c.random_seed = 1;
  return c;
}

void bench_chat(const Args& a) {
  std::string model = ensure_model(a, "bench-mid-" + a.weights, mid_spec(a));
  Engine eng(base_config(a, model));
  const int32_t vocab = static_cast<int32_t>(eng.vocab_size());
  std::mt19937 rng(42);
  const auto system = random_ids(rng, 500, vocab);
  const int kConvs = 8, kTurns = 6, kUser = 40, kReply = 24;
  std::vector<std::vector<double>> ttft(kConvs);
  std::vector<int64_t> prompt_tok(kConvs, 0), cached_tok(kConvs, 0);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < kConvs; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 r(static_cast<uint32_t>(1000 + c));
      std::vector<int32_t> history = system;
      for (int t = 0; t < kTurns; ++t) {
        auto user = random_ids(r, kUser, vocab);
        history.insert(history.end(), user.begin(), user.end());
        Result res = eng.generate(greedy(history, kReply));
        if (!res.ok()) std::fprintf(stderr, "chat request failed: %s\n", res.finish.message.c_str());
        ttft[c].push_back(res.time_to_first_token);
        prompt_tok[c] += res.prompt_tokens;
        cached_tok[c] += res.cached_tokens;
        history.insert(history.end(), res.output_ids.begin(), res.output_ids.end());
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EngineStats s = eng.stats();
  std::vector<double> first, later;
  int64_t p = 0, k = 0;
  for (int c = 0; c < kConvs; ++c) {
    first.push_back(ttft[c][0]);
    later.insert(later.end(), ttft[c].begin() + 1, ttft[c].end());
    p += prompt_tok[c];
    k += cached_tok[c];
  }
  std::printf("[chat] %d conversations x %d turns, 500-token system prompt, model dim 256 x 4 layers (%s)\n", kConvs,
              kTurns, a.weights.c_str());
  std::printf("[chat] wall %.2f s; prompt tokens %lld, served from cache %lld (%.1f%%); radix hit rate %.1f%%\n", secs,
              static_cast<long long>(p), static_cast<long long>(k), 100.0 * static_cast<double>(k) / static_cast<double>(p),
              100.0 * s.cache_hit_rate);
  std::printf("[chat] median TTFT: turn 1 %.1f ms, turns 2-6 %.1f ms\n", 1e3 * median(first), 1e3 * median(later));
}

void bench_ttft(const Args& a) {
  std::string model = ensure_model(a, "bench-mid-" + a.weights, mid_spec(a));
  std::mt19937 rng(7);
  auto prefix = random_ids(rng, 1000, 4096);
  std::vector<double> cached, uncached;
  for (bool radix : {true, false}) {
    EngineConfig c = base_config(a, model);
    c.disable_radix_cache = !radix;
    Engine eng(c);
    (void)eng.generate(greedy(prefix, 0));  // warm: prefill and cache the prefix
    for (int rep = 0; rep < 3; ++rep) {
      auto ids = prefix;
      auto tail = random_ids(rng, 16, 4096);
      ids.insert(ids.end(), tail.begin(), tail.end());
      Result r = eng.generate(greedy(ids, 1));
      (radix ? cached : uncached).push_back(r.time_to_first_token);
    }
  }
  double mc = median(cached), mu = median(uncached);
  std::printf("[ttft] 1,000-token prefix + 16 new tokens: cached %.2f ms, cache off %.2f ms, speed-up %.1fx\n", 1e3 * mc,
              1e3 * mu, mu / mc);
}

void bench_decode(const Args& a) {
  SyntheticSpec s = synthetic_preset("110m");
  s.weight_type = a.weights == "q8_0" ? kernels::DType::Q8_0 : kernels::DType::F16;
  std::string model = ensure_model(a, "synthetic-110m-" + a.weights, s);
  EngineConfig c = base_config(a, model);
  c.max_total_tokens = 8192;
  Engine eng(c);
  std::mt19937 rng(3);
  double single = 0;
  (void)eng.generate(greedy(random_ids(rng, 8, 32000), 2));  // warm-up (page in weights)
  for (int batch : {1, 4, 16}) {
    std::vector<RequestHandle> hs;
    for (int i = 0; i < batch; ++i) hs.push_back(eng.submit(greedy(random_ids(rng, 16, 32000), a.decode_tokens)));
    double max_first = 0, max_end = 0;
    int64_t tokens = 0;
    for (auto& h : hs) {
      Result r = h.result();
      max_first = std::max(max_first, r.time_to_first_token);
      max_end = std::max(max_end, r.e2e_latency);
      tokens += r.completion_tokens - 1;
    }
    double tps = static_cast<double>(tokens) / (max_end - max_first);
    if (batch == 1) single = tps;
    std::printf("[decode] 110M llama (%s), %2d concurrent: %7.1f tok/s total (%.2fx single stream)\n", a.weights.c_str(),
                batch, tps, tps / single);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (k == "--threads") a.threads = std::stoi(val());
    else if (k == "--device") a.device = val();
    else if (k == "--dir") a.dir = val();
    else if (k == "--weights") a.weights = val();
    else if (k == "--decode-tokens") a.decode_tokens = std::stoi(val());
    else if (k == "--skip-chat") a.chat = false;
    else if (k == "--skip-ttft") a.ttft = false;
    else if (k == "--skip-decode") a.decode = false;
    else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      return 2;
    }
  }
  if (a.weights != "f16" && a.weights != "q8_0") {
    std::fprintf(stderr, "--weights must be f16 or q8_0\n");
    return 2;
  }
  try {
    if (a.chat) bench_chat(a);
    if (a.ttft) bench_ttft(a);
    if (a.decode) bench_decode(a);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
