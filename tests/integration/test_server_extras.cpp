// sgl-server's SGLang extras: /v1/tokenize and /v1/detokenize (and the short spellings),
// /abort_request by rid or abort_all, /get_loads, and usage.prompt_tokens_details.cached_tokens.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server_fixture.hpp"

using namespace sgl;
using sgl::test::json;
using sgl::test::post_json;

namespace {
test::ServerFixture& srv() {
  static test::ServerFixture s;
  return s;
}
}  // namespace

TEST_CASE("/v1/tokenize and /v1/detokenize round-trip; /tokenize and /detokenize too") {
  auto c = srv().client();
  int st = 0;
  json t = post_json(*c, "/v1/tokenize", {{"prompt", "Once upon a time"}, {"add_special_tokens", false}}, &st);
  REQUIRE(st == 200);
  CHECK(t["tokens"] == json(srv().engine().tokenize("Once upon a time", false)));
  CHECK(t["count"] == t["tokens"].size());
  CHECK(t["max_model_len"].get<int64_t>() > 0);
  json d = post_json(*c, "/v1/detokenize", {{"tokens", t["tokens"]}}, &st);
  REQUIRE(st == 200);
  CHECK(d["text"] == "Once upon a time");

  json many = post_json(*c, "/tokenize", {{"prompt", {"a b", "c"}}, {"add_special_tokens", false}}, &st);
  REQUIRE(st == 200);
  REQUIRE(many["tokens"].size() == 2);
  CHECK(many["count"][1] == many["tokens"][1].size());
  json texts = post_json(*c, "/detokenize", {{"tokens", many["tokens"]}}, &st);
  REQUIRE(st == 200);
  CHECK(texts["text"] == json({"a b", "c"}));

  json e = post_json(*c, "/v1/detokenize", {{"tokens", {1, 999999}}}, &st);
  CHECK(st == 400);
  CHECK(e["error"]["message"].get<std::string>().find("tokens") != std::string::npos);
  post_json(*c, "/v1/tokenize", {{"prompt", 5}}, &st);
  CHECK(st == 400);
  post_json(*c, "/v1/tokenize", {{"nope", "x"}}, &st);
  CHECK(st == 400);
}

TEST_CASE("/abort_request cancels a running request by rid; unknown rids are 404; abort_all") {
  auto c = srv().client();
  int st = 0;
  post_json(*c, "/abort_request", {{"rid", "no-such-request"}}, &st);
  CHECK(st == 404);
  post_json(*c, "/abort_request", json::object(), &st);
  CHECK(st == 400);

  for (bool all : {false, true}) {
    CAPTURE(all);
    std::atomic<bool> started{false};
    std::string body;
    std::thread t([&] {
      auto sc = srv().client(120);
      json req = {{"text", "Once"}, {"rid", "long-one"}, {"stream", true},
                  {"sampling_params", {{"max_new_tokens", 100000}, {"ignore_eos", true}, {"temperature", 0}}}};
      httplib::Request hr;
      hr.method = "POST";
      hr.path = "/generate";
      hr.body = req.dump();
      hr.set_header("Content-Type", "application/json");
      hr.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        body.append(data, n);
        started = true;
        return true;
      };
      sc->send(hr);
    });
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    json a = all ? json{{"abort_all", true}} : json{{"rid", "long-one"}};
    post_json(*c, "/abort_request", a, &st);
    CHECK(st == 200);
    t.join();
    auto events = test::sse_events(body);
    REQUIRE(events.size() >= 2);
    CHECK(events.back() == "[DONE]");
    json last = json::parse(events[events.size() - 2]);
    CHECK(last["meta_info"]["finish_reason"]["type"] == "abort");
  }
}

TEST_CASE("a non-streamed request aborted by /abort_request answers 200 with finish_reason abort, like SGLang") {
  // SGLang raises an HTTP error only for aborts with a status (a rejected input, an overloaded or
  // failing scheduler); a user abort returns the response with finish_reason {"type": "abort"}.
  for (const char* route : {"/generate", "/v1/completions"}) {
    CAPTURE(route);
    const bool native = std::string(route) == "/generate";
    json req = native ? json{{"text", "Once"}, {"rid", "long-plain"},
                             {"sampling_params", {{"max_new_tokens", 100000}, {"ignore_eos", true}, {"temperature", 0}}}}
                      : json{{"prompt", "Once"}, {"rid", "long-plain"}, {"max_tokens", 100000}, {"ignore_eos", true},
                             {"temperature", 0}};
    int st = 0;
    json r;
    std::thread t([&] {
      auto sc = srv().client(120);
      r = post_json(*sc, route, req, &st);
    });
    auto c = srv().client();
    int ast = 404;
    for (int i = 0; i < 2000 && ast == 404; ++i) {  // until the request is registered
      post_json(*c, "/abort_request", {{"rid", "long-plain"}}, &ast);
      if (ast == 404) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(ast == 200);
    t.join();
    CHECK(st == 200);
    if (native) CHECK(r["meta_info"]["finish_reason"]["type"] == "abort");
    else CHECK(r["choices"][0]["finish_reason"] == "abort");
  }
}

TEST_CASE("/get_loads reports one rank's queue and token use") {
  auto c = srv().client();
  auto r = c->Get("/get_loads");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  json l = json::parse(r->body);
  REQUIRE(l.is_array());
  REQUIRE(l.size() == 1);
  CHECK(l[0]["dp_rank"] == 0);
  for (const char* k : {"num_reqs", "num_running_reqs", "num_waiting_reqs", "num_tokens", "max_total_num_tokens", "token_usage"})
    CHECK(l[0].contains(k));
  CHECK(l[0]["max_total_num_tokens"].get<int64_t>() > 0);
}

TEST_CASE("usage.prompt_tokens_details.cached_tokens is always present, and counts a repeated prefix") {
  auto c = srv().client();
  int st = 0;
  json req = {{"prompt", "The same long prompt, sent twice in a row to hit the cache."}, {"max_tokens", 1}, {"temperature", 0}};
  json a = post_json(*c, "/v1/completions", req, &st);
  REQUIRE(st == 200);
  CHECK(a["usage"]["prompt_tokens_details"]["cached_tokens"].is_number_integer());
  json b = post_json(*c, "/v1/completions", req, &st);
  REQUIRE(st == 200);
  CHECK(b["usage"]["prompt_tokens_details"]["cached_tokens"].get<int64_t>() > 0);
  json chat = post_json(*c, "/v1/chat/completions",
                        {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 1}}, &st);
  REQUIRE(st == 200);
  CHECK(chat["usage"]["prompt_tokens_details"]["cached_tokens"].is_number_integer());
}

TEST_CASE("logit_bias +100 makes greedy decoding pick that token; out-of-vocabulary ids are 400") {
  auto c = srv().client();
  int st = 0;
  const int32_t tok = 100;
  const std::string piece = srv().engine().detokenize({tok}, false);
  json r = post_json(*c, "/v1/chat/completions",
                     {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 4}, {"temperature", 0},
                      {"ignore_eos", true}, {"logprobs", true}, {"logit_bias", {{std::to_string(tok), 100}}}},
                     &st);
  REQUIRE(st == 200);
  const json& content = r["choices"][0]["logprobs"]["content"];
  REQUIRE(content.size() == 4);
  for (const auto& t : content) CHECK(t["token"] == piece);
  post_json(*c, "/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}, {"logit_bias", {{"999999", 1}}}}, &st);
  CHECK(st == 400);
}

TEST_CASE("JSON schema formats are enforced; keywords the grammar cannot enforce are a 400 naming them") {
  auto c = srv().client();
  int st = 0;
  for (const char* f : {"ipv6", "hostname", "email", "date-time"}) {
    CAPTURE(f);
    json schema = {{"type", "object"}, {"properties", {{"v", {{"type", "string"}, {"format", f}}}}},
                   {"required", {"v"}}, {"additionalProperties", false}};
    json r = post_json(*c, "/v1/chat/completions",
                       {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 120}, {"temperature", 0},
                        {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", schema}}}}}},
                       &st);
    REQUIRE(st == 200);
    if (r["choices"][0]["finish_reason"] == "stop") {
      json v = json::parse(r["choices"][0]["message"]["content"].get<std::string>());
      CHECK(v["v"].is_string());
    }
  }
  for (auto [schema, kw] : std::vector<std::pair<json, std::string>>{
           {{{"type", "string"}, {"format", "idn-email"}}, "format"},
           {{{"not", {{"type", "string"}}}}, "not"},
           {{{"type", "array"}, {"uniqueItems", true}}, "uniqueItems"}}) {
    CAPTURE(kw);
    json e = post_json(*c, "/generate",
                       {{"text", "x"}, {"sampling_params", {{"max_new_tokens", 4}, {"json_schema", schema.dump()}}}}, &st);
    CHECK(st == 400);
    CHECK(e["error"]["message"].get<std::string>().find("'" + kw + "'") != std::string::npos);
  }
}
