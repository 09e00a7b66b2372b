// bench_grammar_decode: what constrained decoding costs the Engine's decode throughput.
//
// Runs the same batch of requests (same prompts, seeds and a fixed output length) in three
// modes, interleaved round by round so a shared machine's load hits all of them alike:
//   plain    no constraint
//   schema   a JSON schema, jump-forward off (every token sampled under the mask)
//   schema+jf  the same schema with jump-forward on (forced tokens appended unsampled)
// and reports the median decode tok/s per mode and the ratios. The schema cannot end before the
// token budget (an array with many required items), so every request produces exactly
// --tokens tokens in every mode and the counts compare like for like.
//
// Usage: bench_grammar_decode [--model PATH] [--threads N] [--requests N] [--tokens N]
//                             [--rounds N] [--temperature T]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/support/log.hpp"
#include "sgl/engine.hpp"
#include "sgl/error.hpp"

using namespace sgl;

namespace {

struct Args {
  std::string model = "/work/models/llama-110m-f16.gguf";
  int threads = 2;
  int requests = 4;
  int tokens = 64;
  int rounds = 5;
  float temperature = 0.0f;
};

// Records with long fixed keys (jump-forward material) and free-form values; 40 required items
// keep the array open for any budget this benchmark uses.
const char* kSchema = R"({"type":"array","minItems":40,"items":{"type":"object","properties":{
  "identifier":{"type":"integer"},"display_name":{"type":"string"},"is_active":{"type":"boolean"}},
  "required":["identifier","display_name","is_active"],"additionalProperties":false}})";

struct Outcome {
  double tok_s = 0;  // output tokens / wall time after the first token of every request
  int64_t tokens = 0, forced = 0;
  bool ok = true;
};

Outcome run(Engine& eng, const Args& a, bool constrained) {
  std::vector<RequestHandle> hs;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < a.requests; ++i) {
    Request r;
    r.input_ids = {1, 450, 1243, 3229, 322, 263, 4663, 1203, static_cast<int32_t>(500 + i)};
    r.sampling.temperature = a.temperature;
    r.sampling.seed = 100 + static_cast<uint64_t>(i);
    r.sampling.max_new_tokens = a.tokens;
    r.sampling.ignore_eos = true;
    if (constrained) r.sampling.json_schema = kSchema;
    hs.push_back(eng.submit(std::move(r)));
  }
  Outcome o;
  double ttft_max = 0, e2e_max = 0;
  for (auto& h : hs) {
    Result res = h.result();
    if (!res.ok() || res.completion_tokens != a.tokens) {
      std::fprintf(stderr, "request ended early: %s after %lld tokens (%s)\n", res.finish.type(),
                   static_cast<long long>(res.completion_tokens), res.finish.message.c_str());
      o.ok = false;
    }
    o.tokens += res.completion_tokens;
    o.forced += res.forced_tokens;
    ttft_max = std::max(ttft_max, res.time_to_first_token);
    e2e_max = std::max(e2e_max, res.e2e_latency);
  }
  (void)t0;
  // Decode phase: from the moment every request had its first token to the last finish.
  const double decode_s = e2e_max - ttft_max;
  o.tok_s = decode_s > 0 ? static_cast<double>(o.tokens - a.requests) / decode_s : 0;
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--model") a.model = val();
    else if (k == "--threads") a.threads = std::stoi(val());
    else if (k == "--requests") a.requests = std::stoi(val());
    else if (k == "--tokens") a.tokens = std::stoi(val());
    else if (k == "--rounds") a.rounds = std::stoi(val());
    else if (k == "--temperature") a.temperature = std::stof(val());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    set_log_level(LogLevel::kWarn);
    EngineConfig c;
    c.model_path = a.model;
    c.threads = a.threads;
    c.max_total_tokens = 16384;
    c.random_seed = 1;
    c.grammar_jump_forward = false;
    Engine off(c);
    c.grammar_jump_forward = true;
    Engine on(c);
    // Warm-up: weights paged in, the vocabulary index and the schema's classifications built.
    run(off, a, false);
    run(off, a, true);
    run(on, a, true);
    std::vector<double> plain, schema, jump, jump_forced;
    for (int r = 0; r < a.rounds; ++r) {
      Outcome p = run(off, a, false), s = run(off, a, true), j = run(on, a, true);
      std::printf("round %d: plain %.1f tok/s, schema %.1f tok/s, schema+jump-forward %.1f tok/s (%lld of %lld forced)\n",
                  r, p.tok_s, s.tok_s, j.tok_s, static_cast<long long>(j.forced), static_cast<long long>(j.tokens));
      if (!p.ok || !s.ok || !j.ok) return 1;
      plain.push_back(p.tok_s), schema.push_back(s.tok_s), jump.push_back(j.tok_s);
      jump_forced.push_back(static_cast<double>(j.forced) / static_cast<double>(j.tokens));
    }
    const double mp = median(plain), ms = median(schema), mj = median(jump);
    std::printf("%s, %d threads, %d requests x %d tokens, temperature %.1f, %d rounds (medians):\n", a.model.c_str(),
                a.threads, a.requests, a.tokens, a.temperature, a.rounds);
    std::printf("  plain %.1f tok/s | schema (jump-forward off) %.1f tok/s = %.1f%% overhead | schema + jump-forward %.1f tok/s "
                "(%.0f%% of tokens forced) = %.2fx plain\n",
                mp, ms, 100.0 * (mp / ms - 1.0), mj, 100.0 * median(jump_forced), mj / mp);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
