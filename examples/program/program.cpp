// sgl-program: the shape of an SGLang frontend program, written against the C++ API —
//
//   s += prefix                      (a shared prefix, prefilled once: max_new_tokens = 0)
//   forks = s.fork(3); forks[i] += gen(...)   (each branch resends its whole text; the radix
//                                    cache serves the prefix, cached_tokens shows it)
//   s += select(["happy", "sad", "sleepy"])   (SGLang's greedy_token_selection method: a regex
//                                    alternation decoded greedily picks the choice the model
//                                    prefers token by token)
//   s += gen(regex="[1-9][0-9]?")    (constrained generation)
//
// Usage: sgl-program MODEL [THREADS]. Prints one JSON object per step on stdout.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sgl/engine.hpp"

namespace {

using json = nlohmann::json;

sgl::Result run(sgl::Engine& e, const std::string& text, int max_new, float temperature, uint64_t seed,
                const std::string& regex = "") {
  sgl::Request r;
  r.text = text;
  r.sampling.max_new_tokens = max_new;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.sampling.regex = regex;
  return e.generate(std::move(r));
}

void print(const json& j) { std::printf("%s\n", j.dump(-1, ' ', false, json::error_handler_t::replace).c_str()); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [THREADS]\n", argv[0]);
    return 2;
  }
  try {
    sgl::EngineConfig cfg;
    cfg.model_path = argv[1];
    cfg.threads = argc > 2 ? std::atoi(argv[2]) : 0;
    cfg.max_total_tokens = 16384;
    sgl::Engine engine(cfg);

    const std::string prefix = "Once upon a time, there was a little girl named Lily. She loved to play outside.";
    // fork: prefill the shared prefix once.
    sgl::Result pre = run(engine, prefix, 0, 0.0f, 1);
    if (!pre.ok()) throw sgl::Error(sgl::Status::kInternal, "prefix prefill failed: " + pre.finish.message);
    print({{"step", "prefix"}, {"prompt_tokens", pre.prompt_tokens}, {"cached_tokens", pre.cached_tokens}});

    for (int b = 0; b < 3; ++b) {
      sgl::Result r = run(engine, prefix + " One day,", 16, 0.8f, 100 + static_cast<uint64_t>(b));
      print({{"step", "branch"}, {"branch", b}, {"text", r.text}, {"prompt_tokens", r.prompt_tokens},
             {"cached_tokens", r.cached_tokens}});
    }

    const std::vector<std::string> choices = {"happy", "sad", "sleepy"};
    std::string alt;
    for (const auto& c : choices) alt += (alt.empty() ? "" : "|") + c;
    sgl::Result sel = run(engine, prefix + " She felt very ", 8, 0.0f, 1, "(" + alt + ")");
    print({{"step", "select"}, {"choices", choices}, {"choice", sel.text}, {"cached_tokens", sel.cached_tokens}});

    sgl::Result age = run(engine, prefix + " She was ", 4, 0.0f, 1, "[1-9][0-9]?");
    print({{"step", "gen_regex"}, {"regex", "[1-9][0-9]?"}, {"text", age.text}, {"cached_tokens", age.cached_tokens}});
  } catch (const sgl::Error& e) {
    std::fprintf(stderr, "sgl-program: %s\n", e.what());
    return 1;
  }
  return 0;
}
