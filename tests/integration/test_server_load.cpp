// sgl-server under load: 64 concurrent streaming clients plus 16 that hang up after their first
// chunk. Every completed stream is well-formed SSE ending in [DONE], none is lost, the 16
// disconnects cancel their requests, and after a cache flush every KV page is free again.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server_fixture.hpp"

using namespace sgl;
using namespace sgl::test;

TEST_CASE("64 streaming clients + 16 early disconnects") {
  ServerFixture s([](server::ServerArgs& a) { a.engine.max_total_tokens = 65536; });
  constexpr int kStreams = 64, kQuitters = 16;
  std::atomic<int> well_formed{0}, bad{0}, quit_ok{0};
  std::vector<std::string> problems(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      auto c = s.client(120);
      json body = {{"model", "sgl-tiny"},
                   {"messages", json::array({{{"role", "user"}, {"content", "Story number " + std::to_string(i)}}})},
                   {"max_tokens", 8},
                   {"temperature", 0.7},
                   {"seed", i},
                   {"stream", true},
                   {"stream_options", {{"include_usage", true}}}};
      auto r = c->Post("/v1/chat/completions", body.dump(), "application/json");
      if (!r || r->status != 200) {
        problems[i] = r ? "status " + std::to_string(r->status) : "no response: " + httplib::to_string(r.error());
        ++bad;
        return;
      }
      bool ok = false;
      auto ev = sse_events(r->body, &ok);
      int finishes = 0;
      bool usage = false;
      for (size_t k = 0; ok && k + 1 < ev.size(); ++k) {
        json j = json::parse(ev[k], nullptr, false);
        if (j.is_discarded() || j.contains("error")) {
          ok = false;
          break;
        }
        if (j["choices"].empty()) usage = j["usage"]["completion_tokens"].get<int>() >= 1;
        else if (!j["choices"][0]["finish_reason"].is_null()) ++finishes;
      }
      if (ok && !ev.empty() && ev.back() == "[DONE]" && finishes == 1 && usage) {
        ++well_formed;
      } else {
        problems[i] = r->body.substr(0, 400);
        ++bad;
      }
    });
  }
  for (int i = 0; i < kQuitters; ++i) {
    threads.emplace_back([&, i] {
      auto c = s.client(120);
      json body = {{"input_ids", {1, 10 + i, 20, 30}},
                   {"sampling_params", {{"max_new_tokens", 1500}, {"ignore_eos", true}, {"temperature", 0}}},
                   {"stream", true}};
      httplib::Request req;
      req.method = "POST";
      req.path = "/generate";
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
      int chunks = 0;
      req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 2; };
      auto r = c->send(req);  // ends with Error::Canceled once the receiver says stop
      if (chunks >= 2) ++quit_ok;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kStreams; ++i)
    if (!problems[i].empty()) MESSAGE("stream " << i << ": " << problems[i]);
  CHECK(well_formed == kStreams);
  CHECK(bad == 0);
  CHECK(quit_ok == kQuitters);

  // The quitters' requests are cancelled, not run to 1500 tokens: the engine drains quickly.
  auto c = s.client();
  json st;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto r = c->Get("/get_server_info");
    REQUIRE(r);
    st = json::parse(r->body)["internal_states"][0];
    if (st["running_requests"] == 0 && st["waiting_requests"] == 0) break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(st["finished_requests"] == st["total_requests"]);
  auto m = c->Get("/metrics");
  REQUIRE(m);
  CHECK(m->body.find("sgl:num_aborted_requests_total 16\n") != std::string::npos);
  CHECK(m->body.find("sgl:num_requests_total 80\n") != std::string::npos);
  // Cancelled early: far fewer tokens than 16 x 1500.
  auto at = m->body.find("\nsgl:generation_tokens_total ");
  REQUIRE(at != std::string::npos);
  long generated = std::stol(m->body.substr(at + 29));
  CHECK(generated >= kStreams);
  CHECK(generated < kStreams * 8 + kQuitters * 1500 / 2);

  // Nothing leaked: after a flush every page is free.
  auto f = c->Post("/flush_cache", "", "application/json");
  REQUIRE(f);
  CHECK(f->status == 200);
  auto r = c->Get("/get_server_info");
  REQUIRE(r);
  st = json::parse(r->body)["internal_states"][0];
  CHECK(st["kv_pages_used"] == 0);
  CHECK(st["kv_pages_free"] == st["kv_pages_total"]);
}
