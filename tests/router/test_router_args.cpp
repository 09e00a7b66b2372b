// sgl-router's command line against SGLang's (../shared/specs/SERVING.md): the defaults of a bare
// `sgl-router`, and the reference spelling with argparse-style prefixes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "router_args.hpp"

using sgl::router::RouterArgs;

namespace {

int parse(std::vector<std::string> words, RouterArgs& a) {
  words.insert(words.begin(), "sgl-router");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return sgl::router::parse_router_args(static_cast<int>(argv.size()), argv.data(), a);
}

}  // namespace

TEST_CASE("router defaults are SGLang's") {
  RouterArgs a;
  REQUIRE(parse({}, a) == -1);
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 30000);
  CHECK(a.policy.name == "cache_aware");
  CHECK(a.policy.cache_threshold == doctest::Approx(0.3));
  CHECK(a.policy.balance_abs_threshold == 64);
  CHECK(a.policy.balance_rel_threshold == doctest::Approx(1.5));
  CHECK(a.eviction_interval_secs == doctest::Approx(120));
  CHECK(a.policy.max_tree_size == (size_t{1} << 26));
  CHECK(a.health.failure_threshold == 3);
  CHECK(a.health.success_threshold == 2);
  CHECK(a.health.endpoint == "/health");
  CHECK(a.health.startup_timeout_secs == doctest::Approx(600));
  CHECK(a.retry.max_retries == 5);
  CHECK(a.retry.initial_backoff_ms == doctest::Approx(50));
  CHECK(a.retry.max_backoff_ms == doctest::Approx(5000));
  CHECK(a.retry.backoff_multiplier == doctest::Approx(2.0));
  CHECK(a.retry.jitter_factor == doctest::Approx(0.1));
  CHECK(a.cb.failure_threshold == 5);
  CHECK(a.cb.success_threshold == 2);
  CHECK(a.cb.timeout_secs == doctest::Approx(30));
  CHECK(a.cb.window_secs == doctest::Approx(60));
  CHECK(a.prometheus_host == "0.0.0.0");
  CHECK(a.prometheus_port == 29000);
  CHECK_FALSE(a.dp_aware);
}

TEST_CASE("the reference launch line parses, with argparse prefixes") {
  RouterArgs a;
  REQUIRE(parse({"--host", "0.0.0.0", "--worker-urls", "http://10.0.0.1:5000", "--policy", "round_robin",
                 "--cache-thr", "0.5"},
                a) == -1);
  CHECK(a.host == "0.0.0.0");
  CHECK(a.worker_urls == std::vector<std::string>{"http://10.0.0.1:5000"});
  CHECK(a.policy.name == "round_robin");
  CHECK(a.policy.cache_threshold == doctest::Approx(0.5));
}
