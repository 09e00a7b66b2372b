// sgl-server --dp-size 2 on stories260K: 32 concurrent clients keep both replicas busy (each
// replica's own request and step counters), and every request gets the same greedy text as
// with one engine, under each --load-balance-method; data_parallel_rank pins a request; the
// per-replica /get_server_info, /get_loads and /metrics entries are there.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "engine_group.hpp"
#include "server_fixture.hpp"

using namespace sgl;
using namespace sgl::test;

namespace {

// An in-process sgl-server over `dp` replicas of stories260K.
class DpServer {
 public:
  DpServer(const std::string& model, int dp, const std::string& method) {
    args_.engine.model_path = model;
    args_.engine.threads = 1;
    args_.engine.max_total_tokens = 8192;
    args_.host = "127.0.0.1";
    args_.port = 0;
    args_.enable_metrics = true;
    args_.log_level = "warning";
    args_.dp_size = dp;
    args_.load_balance_method = method;
    args_.validate();
    replicas_ = server::make_replicas(args_.engine, dp);
    std::vector<Engine*> e;
    for (auto& r : replicas_) e.push_back(r.get());
    server_ = std::make_unique<server::HttpServer>(e, args_);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->serve(); });
  }
  ~DpServer() {
    server_->stop();
    thread_.join();
    server_.reset();
    replicas_.clear();
  }
  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(120, 0);
    return c;
  }
  json server_info() const {
    auto r = client()->Get("/get_server_info");
    REQUIRE(r);
    return json::parse(r->body);
  }

 private:
  server::ServerArgs args_;
  std::vector<std::unique_ptr<Engine>> replicas_;
  std::unique_ptr<server::HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
};

constexpr int kClients = 32;

json request(int i) {
  static const char* starts[] = {"Once upon a time", "The little dog", "Lily was", "One day, a bird",
                                 "Tom and his mom", "The sun was", "A girl named Sue", "In the park"};
  return {{"text", std::string(starts[i % 8]) + (i >= 8 ? std::string(static_cast<size_t>(i / 8), ' ') + "there" : "")},
          {"sampling_params", {{"max_new_tokens", 24}, {"temperature", 0}}}};
}

// Sends the 32 requests at once; returns their texts ("" for a failure, with a message).
std::vector<std::string> run_clients(const DpServer& s) {
  std::vector<std::string> texts(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      int status = 0;
      auto c = s.client();
      json out = post_json(*c, "/generate", request(i), &status);
      if (status == 200 && out.contains("text")) texts[static_cast<size_t>(i)] = out["text"].get<std::string>();
    });
  for (auto& t : threads) t.join();
  return texts;
}

}  // namespace

TEST_CASE("--dp-size 2: both replicas serve 32 concurrent clients with dp 1's greedy texts") {
  auto shared = require_shared("sgl-server --dp-size on stories260K");
  if (!shared) return;
  const std::string model = (*shared / "models/stories260K.gguf").string();

  std::vector<std::string> want;
  {
    DpServer one(model, 1, "round_robin");
    want = run_clients(one);
    for (const auto& t : want) REQUIRE(!t.empty());
    CHECK(one.server_info()["dp_size"] == 1);
  }

  for (const char* method : {"round_robin", "shortest_queue", "minimum_tokens"}) {
    CAPTURE(method);
    DpServer two(model, 2, method);
    auto got = run_clients(two);
    for (int i = 0; i < kClients; ++i) {
      CAPTURE(i);
      CHECK(got[static_cast<size_t>(i)] == want[static_cast<size_t>(i)]);
    }
    json info = two.server_info();
    CHECK(info["dp_size"] == 2);
    CHECK(info["load_balance_method"] == method);
    REQUIRE(info["internal_states"].size() == 2);
    int64_t dispatched = 0;
    for (int r = 0; r < 2; ++r) {
      const json& st = info["internal_states"][static_cast<size_t>(r)];
      CAPTURE(r);
      CHECK(st["dp_rank"] == r);
      // The replica's own counters: it took requests and ran steps for them.
      CHECK(st["total_requests"].get<int64_t>() >= 4);
      CHECK(st["finished_requests"].get<int64_t>() == st["total_requests"].get<int64_t>());
      CHECK(st["forward_steps"].get<int64_t>() > 0);
      CHECK(st["dispatched_requests"] == st["total_requests"]);
      CHECK(st["in_flight_requests"] == 0);
      dispatched += st["dispatched_requests"].get<int64_t>();
    }
    CHECK(dispatched == kClients);
    if (std::string(method) == "round_robin") {
      CHECK(info["internal_states"][0]["total_requests"] == kClients / 2);
      CHECK(info["internal_states"][1]["total_requests"] == kClients / 2);
    }
  }
}

TEST_CASE("--dp-size 2: data_parallel_rank pins a request; per-replica loads and metrics") {
  auto shared = require_shared("sgl-server --dp-size on stories260K");
  if (!shared) return;
  DpServer s((*shared / "models/stories260K.gguf").string(), 2, "round_robin");
  auto c = s.client();
  for (const char* route : {"/generate", "/v1/completions"}) {
    for (int k = 0; k < 3; ++k) {
      json body = std::string(route) == "/generate"
                      ? json{{"text", "Once upon a time"}, {"sampling_params", {{"max_new_tokens", 4}}}, {"data_parallel_rank", 1}}
                      : json{{"prompt", "Once upon a time"}, {"max_tokens", 4}, {"data_parallel_rank", 1}};
      int status = 0;
      post_json(*c, route, body, &status);
      CHECK(status == 200);
    }
  }
  json info = s.server_info();
  CHECK(info["internal_states"][0]["total_requests"] == 0);
  CHECK(info["internal_states"][1]["total_requests"] == 6);

  int status = 0;
  json err = post_json(*c, "/generate", {{"text", "x"}, {"data_parallel_rank", 2}}, &status);
  CHECK(status == 400);
  CHECK(err.dump().find("data_parallel_rank 2 is not a replica") != std::string::npos);
  post_json(*c, "/generate", {{"text", "x"}, {"data_parallel_rank", -1}}, &status);
  CHECK(status == 400);

  auto loads = c->Get("/get_loads");
  REQUIRE(loads);
  json l = json::parse(loads->body);
  REQUIRE(l.size() == 2);
  CHECK(l[1]["dp_rank"] == 1);
  auto m = c->Get("/metrics");
  REQUIRE(m);
  CHECK(m->body.find("sgl:num_requests_submitted{dp_rank=\"0\"} 0") != std::string::npos);
  CHECK(m->body.find("sgl:num_requests_submitted{dp_rank=\"1\"} 6") != std::string::npos);
  CHECK(m->body.find("sgl:kv_pages_total{dp_rank=\"1\"}") != std::string::npos);
  auto h = c->Get("/health_generate");
  REQUIRE(h);
  CHECK(h->status == 200);
}
