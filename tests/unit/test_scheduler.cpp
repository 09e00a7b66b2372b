// Scheduler behaviour through the Engine: greedy outputs are bitwise identical alone vs in a
// batch of 16 mixed lengths, with the radix cache on/off, chunked prefill on/off, every
// schedule policy, page sizes > 1, and in a KV pool far too small for the load (eviction and
// retraction); after any workload plus flush every page is free again.
#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>

#include "engine_test_util.hpp"

using namespace sgl;
using namespace sgl::test;

namespace {

struct Workload {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int> max_new;
};

// 16 requests of mixed lengths; half share a common 24-token prefix so the cache matters.
Workload mixed_workload(uint32_t seed) {
  std::mt19937 rng(seed);
  Workload w;
  auto shared = random_prompt(rng, 24);
  for (int i = 0; i < 16; ++i) {
    auto p = random_prompt(rng, 3 + (i * 7) % 40);
    if (i % 2 == 0) p.insert(p.begin(), shared.begin(), shared.end());
    w.prompts.push_back(p);
    w.max_new.push_back(4 + (i * 5) % 24);
  }
  return w;
}

// Reference: each request alone on a fresh engine with no cache and no chunking.
std::vector<std::vector<int32_t>> run_alone(const Workload& w) {
  EngineConfig c = tiny_config();
  c.disable_radix_cache = true;
  c.chunked_prefill_size = -1;
  Engine eng(c);
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i < w.prompts.size(); ++i) {
    Result r = eng.generate(greedy_request(w.prompts[i], w.max_new[i]));
    REQUIRE(r.ok());
    out.push_back(r.output_ids);
  }
  return out;
}

// Submits everything at once (so requests batch together), checks every output against `want`,
// then checks that a flush leaves the pool empty.
EngineStats run_batched(const EngineConfig& c, const Workload& w, const std::vector<std::vector<int32_t>>& want,
                        int rounds = 1) {
  Engine eng(c);
  for (int round = 0; round < rounds; ++round) {
    std::vector<RequestHandle> hs;
    for (size_t i = 0; i < w.prompts.size(); ++i) hs.push_back(eng.submit(greedy_request(w.prompts[i], w.max_new[i])));
    for (size_t i = 0; i < hs.size(); ++i) {
      Result r = hs[i].result();
      INFO("request " << i << " round " << round << ": " << r.finish.message);
      CHECK(r.ok());
      CHECK(r.output_ids == want[i]);
    }
  }
  EngineStats s = eng.stats();
  CHECK(eng.flush_cache());
  EngineStats after = eng.stats();
  CHECK(after.kv_pages_used == 0);
  CHECK(after.kv_pages_free == after.kv_pages_total);
  CHECK(after.cached_tokens == 0);
  return s;
}

}  // namespace

TEST_CASE("greedy outputs are identical alone and in a batch of 16, cache on/off, chunking on/off") {
  Workload w = mixed_workload(11);
  auto want = run_alone(w);
  // Spot-check the reference itself against the bare forward pass.
  CHECK(want[3] == direct_greedy(tiny_model_path(), tiny_config().device, w.prompts[3], w.max_new[3]));

  EngineConfig c = tiny_config();
  SUBCASE("radix on, default chunking") {
    EngineStats s = run_batched(c, w, want, 2);
    CHECK(s.cache_hit_rate > 0.3);  // the second round reuses almost everything
  }
  SUBCASE("radix off") {
    c.disable_radix_cache = true;
    run_batched(c, w, want);
  }
  SUBCASE("tiny chunks and a small per-step prefill budget") {
    c.chunked_prefill_size = 5;
    c.max_prefill_tokens = 7;
    run_batched(c, w, want, 2);
  }
  SUBCASE("mixed chunked prefill: 3 prompt tokens per decoding step") {
    c.mixed_prefill_tokens = 3;
    run_batched(c, w, want, 2);
  }
  SUBCASE("page size 4 with chunks of 6") {
    c.page_size = 4;
    c.chunked_prefill_size = 6;
    run_batched(c, w, want, 2);
  }
  SUBCASE("policies") {
    for (const char* p : {"fcfs", "random", "dfs-weight", "lpm"}) {
      INFO("policy " << p);
      c.schedule_policy = p;
      run_batched(c, w, want);
    }
  }
  SUBCASE("max_running_requests = 3") {
    c.max_running_requests = 3;
    run_batched(c, w, want);
  }
}

TEST_CASE("a KV pool far too small for the load completes every request (eviction + retraction)") {
  Workload w = mixed_workload(12);
  auto want = run_alone(w);
  EngineConfig c = tiny_config();
  c.max_total_tokens = 96;  // the 16 requests need ~800 tokens at once
  SUBCASE("page size 1") {
    EngineStats s = run_batched(c, w, want, 2);
    CHECK(s.retracted_requests > 0);
    CHECK(s.evicted_tokens > 0);
  }
  SUBCASE("page size 4, chunked") {
    c.page_size = 4;
    c.chunked_prefill_size = 8;
    EngineStats s = run_batched(c, w, want, 2);
    CHECK(s.retracted_requests > 0);
  }
  SUBCASE("radix off") {
    c.disable_radix_cache = true;
    run_batched(c, w, want, 2);
  }
}

TEST_CASE("eviction and recompute give the same tokens") {
  Workload w = mixed_workload(13);
  auto want = run_alone(w);
  EngineConfig c = tiny_config();
  c.max_total_tokens = 160;
  Engine eng(c);
  // Sequentially: each request evicts some earlier cached prefix; then run them all again.
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < w.prompts.size(); ++i) {
      Result r = eng.generate(greedy_request(w.prompts[i], w.max_new[i]));
      CHECK(r.output_ids == want[i]);
      if (round == 1 && i % 2 == 0 && i > 0) CHECK(r.cached_tokens >= 24);  // shared prefix still cached
    }
  CHECK(eng.stats().evicted_tokens > 0);
  CHECK(eng.flush_cache());
  CHECK(eng.stats().kv_pages_used == 0);
}

TEST_CASE("no page leaks with cancellations and retractions under pressure") {
  Workload w = mixed_workload(14);
  EngineConfig c = tiny_config();
  c.max_total_tokens = 80;
  c.page_size = 2;
  c.chunked_prefill_size = 6;
  Engine eng(c);
  std::mt19937 rng(99);
  for (int round = 0; round < 3; ++round) {
    std::vector<RequestHandle> hs;
    for (size_t i = 0; i < w.prompts.size(); ++i) hs.push_back(eng.submit(greedy_request(w.prompts[i], w.max_new[i] + 10)));
    // Cancel a third of them at different moments.
    for (size_t i = 0; i < hs.size(); ++i) {
      if (rng() % 3 == 0) hs[i].cancel();
      if (i % 4 == 0) (void)hs[i].next_for(std::chrono::milliseconds(5));
    }
    int cancelled = 0;
    for (auto& h : hs) {
      Result r = h.wait()[0];
      if (r.finish.kind == FinishKind::kAbort) {
        CHECK(r.finish.message == "cancelled");
        ++cancelled;
      } else {
        CHECK(r.finish.kind == FinishKind::kLength);
      }
    }
    CHECK(cancelled > 0);
  }
  CHECK(eng.stats().retracted_requests > 0);
  CHECK(eng.flush_cache());
  EngineStats s = eng.stats();
  CHECK(s.kv_pages_used == 0);
  CHECK(s.running_requests == 0);
  CHECK(s.waiting_requests == 0);
}

TEST_CASE("flush_cache refuses while a request holds cached pages") {
  std::mt19937 rng(15);
  Engine eng(tiny_config());
  RequestHandle h = eng.submit(greedy_request(random_prompt(rng, 30), 400));
  (void)h.next();  // it is running now and locks its prefix
  CHECK_FALSE(eng.flush_cache());
  h.cancel();
  h.wait();
  CHECK(eng.flush_cache());
  CHECK(eng.stats().kv_pages_used == 0);
}

namespace {

// Runs request A (short prompt, long output) and, once A decodes, submits B (a 300-token prompt).
// Returns how many of A's tokens were streamed after B's submission returned and before B's
// first token; outputs go to *a_out / *b_out. Callbacks run on the scheduler thread in step
// order, and within a step decodes stream before prefills, so this counts the steps that carried
// B's prefill and also decoded A.
int decodes_during_prefill(const EngineConfig& c, std::vector<int32_t>* a_out, std::vector<int32_t>* b_out) {
  std::mt19937 rng(5);
  std::mutex mu;
  std::condition_variable cv;
  std::string events;  // 'a' per token of A, 'b' per token of B, in streaming order
  Engine eng(c);       // after what its callbacks touch, so it stops first
  auto tap = [&](char who) {
    return [&, who](const StreamChunk& ch) {
      std::lock_guard lk(mu);
      events.append(ch.token_ids.size(), who);
      cv.notify_all();
    };
  };
  Request a = greedy_request(random_prompt(rng, 8), 120);
  a.on_chunk = tap('a');
  RequestHandle ha = eng.submit(std::move(a));
  {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return events.size() >= 2; });
  }
  Request b = greedy_request(random_prompt(rng, 300), 4);
  b.on_chunk = tap('b');
  RequestHandle hb = eng.submit(std::move(b));
  size_t mark;
  {
    std::lock_guard lk(mu);
    mark = events.size();
  }
  Result rb = hb.result(), ra = ha.result();
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  *a_out = ra.output_ids;
  *b_out = rb.output_ids;
  std::lock_guard lk(mu);
  const size_t first_b = events.find('b', mark);
  REQUIRE(first_b != std::string::npos);
  return static_cast<int>(std::count(events.begin() + static_cast<std::ptrdiff_t>(mark),
                                     events.begin() + static_cast<std::ptrdiff_t>(first_b), 'a'));
}

}  // namespace

TEST_CASE("mixed chunked prefill: a long prompt arriving while another request decodes never stalls it") {
  EngineConfig c = tiny_config();
  std::vector<int32_t> a_alone, b_alone, a_out, b_out;
  {
    EngineConfig solo = c;
    solo.chunked_prefill_size = -1;
    decodes_during_prefill(solo, &a_alone, &b_alone);  // reference tokens (no chunking at all)
  }
  SUBCASE("a budget of 16 prompt tokens per decoding step") {
    c.mixed_prefill_tokens = 16;
    // B's 300 prompt tokens take ceil(300/16) = 19 steps, and every one of them decodes A; at
    // most one of them may have streamed before `mark` was taken.
    const int n = decodes_during_prefill(c, &a_out, &b_out);
    CHECK(n >= 18);
  }
  SUBCASE("no separate bound: B's whole prefill is one step, A gets at most two tokens meanwhile") {
    c.mixed_prefill_tokens = -1;
    const int n = decodes_during_prefill(c, &a_out, &b_out);
    CHECK(n <= 2);
  }
  CHECK(a_out == a_alone);
  CHECK(b_out == b_alone);
}

TEST_CASE("mixed_prefill_tokens is validated") {
  EngineConfig c = tiny_config();
  c.mixed_prefill_tokens = 0;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("mixed_prefill_tokens must be -1 (no bound) or >= 1 (got 0)"),
                       sgl::Error);
}
