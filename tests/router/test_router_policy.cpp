// Routing policies: cache-aware affinity, misses to the least loaded, the imbalanced mode, and
// the simple policies; plus the circuit breaker and admission queue the router builds on.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "admission.hpp"
#include "cache_aware_policy.hpp"
#include "circuit_breaker.hpp"
#include "policy.hpp"
#include "request_text.hpp"
#include "sgl/error.hpp"
#include "worker_registry.hpp"

using namespace sgl::router;

namespace {
std::vector<Candidate> workers(std::vector<int64_t> loads) {
  std::vector<Candidate> c;
  for (size_t i = 0; i < loads.size(); ++i) c.push_back({"http://w" + std::to_string(i) + ":1", loads[i]});
  return c;
}
const std::string kPrefix(200, 'p');
}  // namespace

TEST_CASE("cache_aware: a miss goes to the least-loaded worker, a repeat follows its prefix") {
  CacheAwarePolicy p(PolicyConfig{});
  auto c = workers({3, 1, 2});
  CHECK(p.select(c, kPrefix + "first") == 1);  // miss -> least loaded
  c = workers({3, 4, 2});                      // w1 is now busier, but holds the prefix
  CHECK(p.select(c, kPrefix + "second") == 1);
  CHECK(p.stats().cache_hits == 1);
  // A different prompt misses and goes to the least loaded, not the smallest tree.
  CHECK(p.select(c, std::string(200, 'q')) == 2);
}

TEST_CASE("cache_aware: below the cache threshold the match is ignored") {
  PolicyConfig cfg;
  cfg.cache_threshold = 0.5;
  CacheAwarePolicy p(cfg);
  CHECK(p.select(workers({0, 1}), "abcdefghij") == 0);
  // 4 of 14 bytes shared (< 0.5): least loaded wins.
  CHECK(p.select(workers({1, 0}), "abcdXXXXXXXXXX") == 1);
}

TEST_CASE("cache_aware: imbalanced load keeps affinity only among the not-overloaded workers") {
  PolicyConfig cfg;
  cfg.balance_abs_threshold = 4;
  cfg.balance_rel_threshold = 1.5;
  CacheAwarePolicy p(cfg);
  CHECK(p.select(workers({0, 0, 0}), kPrefix + "a") == 0);
  CHECK(p.select(workers({9, 0, 0}), kPrefix + "b") == 1);  // w0 overloaded (9-0 > 4, 9 > 0): w1 gets it
  CHECK(p.stats().imbalanced == 1);
  // w0 and w1 hold the prefix; w0 is overloaded, w1 is not: affinity to w1 although w2 is idler.
  CHECK(p.select(workers({9, 2, 0}), kPrefix + "c") == 1);
  // Balanced again (max - min <= 4): the longest match wins, w1 ("c" inserted last also on w1).
  CHECK(p.select(workers({3, 1, 0}), kPrefix + "c") == 1);
}

TEST_CASE("cache_aware: a removed worker is forgotten and eviction trims the tree") {
  PolicyConfig cfg;
  cfg.max_tree_size = 10;
  CacheAwarePolicy p(cfg);
  auto c = workers({0, 1});
  CHECK(p.select(c, kPrefix) == 0);
  p.on_worker_removed(c[0].url);
  CHECK(p.select(workers({5, 1}), kPrefix) == 1);  // no affinity left to w0
  CHECK(p.evict() > 0);
  CHECK(p.tree().tenant_size(c[1].url) <= 10);
}

TEST_CASE("round_robin cycles; power_of_two never picks the busier of its two; random stays in range") {
  PolicyConfig cfg;
  cfg.name = "round_robin";
  auto rr = make_policy(cfg);
  auto c = workers({0, 0, 0});
  CHECK(rr->select(c, "") == 0);
  CHECK(rr->select(c, "") == 1);
  CHECK(rr->select(c, "") == 2);
  CHECK(rr->select(c, "") == 0);
  cfg.name = "power_of_two";
  cfg.seed = 7;
  auto p2 = make_policy(cfg);
  auto two = workers({10, 0});
  for (int i = 0; i < 20; ++i) CHECK(p2->select(two, "") == 1);
  cfg.name = "random";
  auto rnd = make_policy(cfg);
  std::set<size_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(rnd->select(c, ""));
  CHECK(seen.size() == 3);
  cfg.name = "nope";
  CHECK_THROWS_WITH_AS(make_policy(cfg), doctest::Contains("--policy must be"), sgl::Error);
}

TEST_CASE("LoadGuard releases the load on every exit path") {
  auto w = std::make_shared<Worker>(parse_worker_url("http://127.0.0.1:8000"), -1, CircuitBreakerConfig{});
  {
    LoadGuard a(w);
    CHECK(w->load == 1);
    try {
      LoadGuard b(w);
      CHECK(w->load == 2);
      throw std::runtime_error("boom");
    } catch (const std::runtime_error&) {
    }
    CHECK(w->load == 1);
  }
  CHECK(w->load == 0);
}

TEST_CASE("worker urls are validated with the reason") {
  CHECK(parse_worker_url("http://localhost:8000/").url == "http://localhost:8000");
  CHECK(parse_worker_url("127.0.0.1:9").port == 9);
  CHECK_THROWS_WITH_AS(parse_worker_url("https://x:1"), doctest::Contains("https is not supported"), sgl::Error);
  CHECK_THROWS_WITH_AS(parse_worker_url("http://x:1/v1"), doctest::Contains("without a path"), sgl::Error);
  CHECK_THROWS_WITH_AS(parse_worker_url("http://x:99999"), doctest::Contains("port must be"), sgl::Error);
  CHECK_THROWS_WITH_AS(parse_worker_url("http://x"), doctest::Contains("host:port"), sgl::Error);
}

TEST_CASE("circuit breaker: opens after consecutive failures, half-opens after the timeout, closes on successes") {
  CircuitBreakerConfig cfg;
  cfg.failure_threshold = 3;
  cfg.success_threshold = 2;
  cfg.timeout_secs = 10;
  CircuitBreaker cb(cfg);
  auto t = CircuitBreaker::Clock::now();
  cb.record(false, t);
  cb.record(false, t);
  cb.record(true, t);  // a success resets the count
  cb.record(false, t);
  cb.record(false, t);
  CHECK(cb.allow(t));
  cb.record(false, t);
  CHECK(cb.state() == CircuitBreaker::State::kOpen);
  CHECK_FALSE(cb.allow(t + std::chrono::seconds(5)));
  CHECK(cb.allow(t + std::chrono::seconds(11)));
  CHECK(cb.state() == CircuitBreaker::State::kHalfOpen);
  cb.record(true, t + std::chrono::seconds(11));
  CHECK(cb.state() == CircuitBreaker::State::kHalfOpen);
  cb.record(true, t + std::chrono::seconds(12));
  CHECK(cb.state() == CircuitBreaker::State::kClosed);
}

TEST_CASE("admission: a full queue is refused, a waiter gets the freed slot") {
  Admission a(1, 1, 5.0);
  Admission::Ticket t1;
  REQUIRE(a.acquire(t1) == Admission::Outcome::kAdmitted);
  Admission::Outcome waited{};
  std::thread waiter([&] {
    Admission::Ticket t2;
    waited = a.acquire(t2);
  });
  while (a.waiting() == 0) std::this_thread::yield();
  Admission::Ticket t3;
  CHECK(a.acquire(t3) == Admission::Outcome::kQueueFull);
  t1 = Admission::Ticket();  // release
  waiter.join();
  CHECK(waited == Admission::Outcome::kAdmitted);
  CHECK(a.active() == 0);
  Admission none(1, 0, 0.0);
  Admission::Ticket u1, u2;
  REQUIRE(none.acquire(u1) == Admission::Outcome::kAdmitted);
  CHECK(none.acquire(u2) == Admission::Outcome::kQueueFull);
}

TEST_CASE("request text: prompts, token ids and chat messages") {
  using nlohmann::json;
  CHECK(request_text(json{{"text", "hi"}}, TextSource::kGenerate) == "hi");
  CHECK(request_text(json{{"input_ids", {1, 2}}}, TextSource::kGenerate) == "1,2,");
  CHECK(request_text(json{{"prompt", {"a", "b"}}}, TextSource::kCompletions) == "ab");
  json chat = {{"messages", {{{"role", "user"}, {"content", "x"}},
                             {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "y"}}}}}}}};
  CHECK(request_text(chat, TextSource::kChat) == "user: x\nuser: y\n");
  CHECK(request_text(json::array(), TextSource::kChat).empty());
}
