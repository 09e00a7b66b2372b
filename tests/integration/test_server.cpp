// sgl-server end to end over raw HTTP: every route, streaming, errors, malformed input (the server
// keeps serving), auth, body limit and the 503 on a full queue. Tiny synthetic model, greedy
// decoding, small max_tokens, only 127.0.0.1.
#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <future>
#include <string>

#include "server_fixture.hpp"

using namespace sgl;
using namespace sgl::test;

namespace {

ServerFixture& srv() {
  static ServerFixture s;
  return s;
}

json chat_body(const json& extra = json::object()) {
  json j = {{"model", "sgl-tiny"},
            {"messages", json::array({{{"role", "system"}, {"content", "You are terse."}},
                                      {{"role", "user"}, {"content", "Tell me a story."}}})},
            {"max_tokens", 8},
            {"temperature", 0}};
  j.update(extra);
  return j;
}

}  // namespace

TEST_CASE("info routes") {
  auto c = srv().client();
  auto r = c->Get("/health");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = c->Get("/health_generate");
  REQUIRE(r);
  CHECK(r->status == 200);

  r = c->Get("/get_model_info");
  REQUIRE(r);
  CHECK(r->status == 200);
  json mi = json::parse(r->body);
  CHECK(mi["model_path"] == tiny_model_path());
  CHECK(mi["is_generation"] == true);
  CHECK(mi["vocab_size"] == 512);

  r = c->Get("/get_server_info");
  REQUIRE(r);
  json si = json::parse(r->body);
  CHECK(si["served_model_name"] == "sgl-tiny");
  CHECK(si["internal_states"][0]["kv_pages_total"].get<int64_t>() > 0);
  CHECK(si["internal_states"][0].contains("kv_pages_used"));

  r = c->Get("/v1/models");
  REQUIRE(r);
  json models = json::parse(r->body);
  CHECK(models["object"] == "list");
  CHECK(models["data"][0]["id"] == "sgl-tiny");
  CHECK(models["data"][0]["object"] == "model");

  r = c->Post("/flush_cache", "", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);

  r = c->Get("/no/such/route");
  REQUIRE(r);
  CHECK(r->status == 404);
  json e = json::parse(r->body);
  CHECK(e["error"]["code"] == 404);
  CHECK(e["error"]["message"].get<std::string>().find("/no/such/route") != std::string::npos);
}

TEST_CASE("/generate: text, input_ids, logprobs, cache, stream") {
  auto c = srv().client();
  json req = {{"text", "Once upon a time"}, {"sampling_params", {{"max_new_tokens", 6}, {"temperature", 0}}}};
  int status = 0;
  json a = post_json(*c, "/generate", req, &status);
  REQUIRE(status == 200);
  CHECK(a["text"].is_string());
  const json& m = a["meta_info"];
  CHECK(m["prompt_tokens"].get<int>() > 0);
  CHECK(m["completion_tokens"].get<int>() >= 1);
  CHECK(m["completion_tokens"].get<int>() <= 6);
  CHECK(m["e2e_latency"].get<double>() >= 0.0);
  CHECK(m["id"].is_string());
  std::string ftype = m["finish_reason"]["type"];
  CHECK((ftype == "length" || ftype == "stop"));
  if (ftype == "length") CHECK(m["finish_reason"]["length"] == 6);
  CHECK(a["output_ids"].size() == m["completion_tokens"].get<size_t>());

  // The same prompt again: same greedy text, and the prefix comes from the radix cache.
  json b = post_json(*c, "/generate", req, &status);
  REQUIRE(status == 200);
  CHECK(b["text"] == a["text"]);
  CHECK(b["meta_info"]["cached_tokens"].get<int>() > 0);

  // input_ids with logprobs.
  json ids = post_json(*c, "/generate",
                       {{"input_ids", {1, 100, 200, 300}},
                        {"sampling_params", {{"max_new_tokens", 4}, {"temperature", 0}, {"ignore_eos", true}}},
                        {"return_logprob", true},
                        {"top_logprobs_num", 3},
                        {"return_text_in_logprobs", true}},
                       &status);
  REQUIRE(status == 200);
  CHECK(ids["meta_info"]["prompt_tokens"] == 4);
  CHECK(ids["meta_info"]["completion_tokens"] == 4);
  REQUIRE(ids["meta_info"]["output_token_logprobs"].size() == 4);
  const json& t0 = ids["meta_info"]["output_token_logprobs"][0];
  CHECK(t0[0].get<double>() <= 0.0);
  CHECK(t0[1] == ids["output_ids"][0]);
  CHECK(t0[2].is_string());
  CHECK(ids["meta_info"]["output_top_logprobs"][0].size() == 3);
  // Greedy: the chosen token is the best alternative.
  CHECK(ids["meta_info"]["output_top_logprobs"][0][0][1] == ids["output_ids"][0]);

  // Streaming: cumulative text, a final chunk with finish_reason, then [DONE]; same text.
  json sreq = req;
  sreq["stream"] = true;
  auto r = c->Post("/generate", sreq.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type").find("text/event-stream") != std::string::npos);
  bool ok = false;
  auto ev = sse_events(r->body, &ok);
  CHECK(ok);
  REQUIRE(ev.size() >= 2);
  CHECK(ev.back() == "[DONE]");
  json last = json::parse(ev[ev.size() - 2]);
  CHECK(last["text"] == a["text"]);
  CHECK(last["meta_info"]["finish_reason"]["type"] == ftype);
  for (size_t i = 0; i + 2 < ev.size(); ++i) CHECK(json::parse(ev[i])["meta_info"]["finish_reason"].is_null());

  // Batch: a list of prompts gives a list of outputs.
  json batch = post_json(*c, "/generate",
                         {{"text", {"Hello", "The cat"}}, {"sampling_params", {{"max_new_tokens", 3}, {"temperature", 0}}}},
                         &status);
  REQUIRE(status == 200);
  REQUIRE(batch.is_array());
  CHECK(batch.size() == 2);
  CHECK(batch[1]["index"] == 1);
}

TEST_CASE("/v1/completions") {
  auto c = srv().client();
  int status = 0;
  json a = post_json(*c, "/v1/completions",
                     {{"model", "sgl-tiny"}, {"prompt", "The little dog"}, {"max_tokens", 5}, {"temperature", 0},
                      {"logprobs", 2}, {"echo", true}},
                     &status);
  REQUIRE(status == 200);
  CHECK(a["object"] == "text_completion");
  CHECK(a["id"].get<std::string>().rfind("cmpl-", 0) == 0);
  CHECK(a["model"] == "sgl-tiny");
  REQUIRE(a["choices"].size() == 1);
  std::string text = a["choices"][0]["text"];
  CHECK(text.rfind("The little dog", 0) == 0);  // echo
  const json& lp = a["choices"][0]["logprobs"];
  CHECK(lp["tokens"].size() == a["usage"]["completion_tokens"].get<size_t>());
  CHECK(lp["top_logprobs"][0].size() == 2);
  CHECK(a["usage"]["total_tokens"] == a["usage"]["prompt_tokens"].get<int>() + a["usage"]["completion_tokens"].get<int>());

  // Streamed with usage: deltas concatenate to the same text (no echo here).
  json plain = post_json(*c, "/v1/completions", {{"prompt", "The little dog"}, {"max_tokens", 5}, {"temperature", 0}}, &status);
  REQUIRE(status == 200);
  auto r = c->Post("/v1/completions",
                   json({{"prompt", "The little dog"}, {"max_tokens", 5}, {"temperature", 0}, {"stream", true},
                         {"stream_options", {{"include_usage", true}}}})
                       .dump(),
                   "application/json");
  REQUIRE(r);
  bool ok = false;
  auto ev = sse_events(r->body, &ok);
  CHECK(ok);
  REQUIRE(ev.size() >= 3);
  CHECK(ev.back() == "[DONE]");
  std::string joined;
  json finish = nullptr;
  for (size_t i = 0; i + 2 < ev.size(); ++i) {
    json ch = json::parse(ev[i]);
    joined += ch["choices"][0]["text"].get<std::string>();
    if (!ch["choices"][0]["finish_reason"].is_null()) finish = ch["choices"][0]["finish_reason"];
  }
  CHECK(joined == plain["choices"][0]["text"]);
  CHECK(finish == plain["choices"][0]["finish_reason"]);
  json usage = json::parse(ev[ev.size() - 2]);
  CHECK(usage["choices"].empty());
  CHECK(usage["usage"]["completion_tokens"] == plain["usage"]["completion_tokens"]);

  // A batch of prompts with n = 2: prompt-major choices.
  json b = post_json(*c, "/v1/completions", {{"prompt", {"A", "B"}}, {"n", 2}, {"max_tokens", 3}, {"temperature", 0.8}, {"seed", 1}},
                     &status);
  REQUIRE(status == 200);
  REQUIRE(b["choices"].size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(b["choices"][i]["index"] == i);
}

TEST_CASE("/v1/chat/completions") {
  auto c = srv().client();
  int status = 0;
  json a = post_json(*c, "/v1/chat/completions", chat_body({{"logprobs", true}, {"top_logprobs", 2}}), &status);
  REQUIRE(status == 200);
  CHECK(a["object"] == "chat.completion");
  CHECK(a["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  REQUIRE(a["choices"].size() == 1);
  CHECK(a["choices"][0]["message"]["role"] == "assistant");
  std::string content = a["choices"][0]["message"]["content"];
  std::string fr = a["choices"][0]["finish_reason"];
  CHECK((fr == "stop" || fr == "length"));
  const json& lpc = a["choices"][0]["logprobs"]["content"];
  CHECK(lpc.size() == a["usage"]["completion_tokens"].get<size_t>());
  if (!lpc.empty()) {
    CHECK(lpc[0]["logprob"].get<double>() <= 0.0);
    CHECK(lpc[0]["top_logprobs"].size() == 2);
    CHECK(lpc[0]["bytes"].is_array());
  }
  CHECK(a["usage"]["prompt_tokens"].get<int>() > 5);  // the chat template wraps the messages

  // max_completion_tokens and n = 2.
  json n2 = post_json(*c, "/v1/chat/completions", chat_body({{"n", 2}, {"max_completion_tokens", 3}, {"temperature", 1.0}}), &status);
  REQUIRE(status == 200);
  REQUIRE(n2["choices"].size() == 2);
  CHECK(n2["choices"][1]["index"] == 1);
  CHECK(n2["usage"]["completion_tokens"].get<int>() <= 6);

  // Streamed: role first, deltas, finish_reason, usage chunk, [DONE]; same text as non-streamed.
  auto r = c->Post("/v1/chat/completions",
                   chat_body({{"stream", true}, {"stream_options", {{"include_usage", true}}}}).dump(), "application/json");
  REQUIRE(r);
  bool ok = false;
  auto ev = sse_events(r->body, &ok);
  CHECK(ok);
  REQUIRE(ev.size() >= 3);
  CHECK(ev.back() == "[DONE]");
  json first = json::parse(ev[0]);
  CHECK(first["object"] == "chat.completion.chunk");
  CHECK(first["choices"][0]["delta"]["role"] == "assistant");
  std::string joined;
  std::string sfr;
  for (size_t i = 0; i + 2 < ev.size(); ++i) {
    json ch = json::parse(ev[i]);
    const json& d = ch["choices"][0]["delta"];
    if (d.contains("content")) joined += d["content"].get<std::string>();
    if (!ch["choices"][0]["finish_reason"].is_null()) sfr = ch["choices"][0]["finish_reason"];
  }
  CHECK(joined == content);
  CHECK(sfr == fr);
  json usage = json::parse(ev[ev.size() - 2]);
  CHECK(usage["usage"]["completion_tokens"] == a["usage"]["completion_tokens"]);

  // A stop string that the greedy output contains ends it there and is trimmed.
  // (Two ASCII letters, so the stop string never splits a UTF-8 sequence.)
  size_t at = 1;
  while (at + 1 < content.size() && !(std::isalpha(static_cast<unsigned char>(content[at])) &&
                                      std::isalpha(static_cast<unsigned char>(content[at + 1]))))
    ++at;
  if (at + 1 < content.size()) {
    std::string stop = content.substr(at, 2);
    json s = post_json(*c, "/v1/chat/completions", chat_body({{"stop", {stop}}}), &status);
    REQUIRE(status == 200);
    CHECK(s["choices"][0]["finish_reason"] == "stop");
    CHECK(s["choices"][0]["message"]["content"].get<std::string>().find(stop) == std::string::npos);
  }
}

TEST_CASE("structured output: response_format and regex") {
  auto c = srv().client();
  int status = 0;
  json schema = {{"type", "object"},
                 // Bounded fields: the random-weight model must close the object within max_tokens.
                 {"properties", {{"name", {{"type", "string"}, {"maxLength", 8}}},
                                 {"age", {{"type", "integer"}, {"minimum", 0}, {"maximum", 999}}}}},
                 {"required", {"name", "age"}},
                 {"additionalProperties", false}};
  json a = post_json(*c, "/v1/chat/completions",
                     chat_body({{"max_tokens", 64},
                                {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "p"}, {"schema", schema}}}}}}),
                     &status);
  REQUIRE_MESSAGE(status == 200, a.dump());
  {
    std::string content = a["choices"][0]["message"]["content"];
    INFO("content: " << content);
    CHECK(a["choices"][0]["finish_reason"] == "stop");
    json v = json::parse(content, nullptr, false);
    REQUIRE(!v.is_discarded());
    CHECK(v.is_object());
    CHECK(v["name"].is_string());
    CHECK(v["age"].is_number_integer());
  }
  // An invalid regex / schema is a 4xx and the server goes on.
  post_json(*c, "/generate", {{"text", "x"}, {"sampling_params", {{"regex", "(unclosed"}, {"max_new_tokens", 2}}}}, &status);
  CHECK(status == 400);
  post_json(*c, "/generate", {{"text", "x"}, {"sampling_params", {{"json_schema", "{not a schema"}, {"max_new_tokens", 2}}}}, &status);
  CHECK(status == 400);
}

TEST_CASE("malformed inputs get 4xx and the server keeps serving") {
  auto c = srv().client();
  auto post = [&](const std::string& path, const std::string& body) {
    auto r = c->Post(path.c_str(), body, "application/json");
    REQUIRE(r);
    return std::make_pair(r->status, json::parse(r->body, nullptr, false));
  };
  json many_stops = json::array();
  for (int i = 0; i < 10000; ++i) many_stops.push_back("stop" + std::to_string(i));
  struct Case {
    std::string path, body, param;
  };
  std::vector<Case> cases = {
      {"/v1/chat/completions", "{\"messages\": [", ""},
      {"/v1/chat/completions", "null", ""},
      {"/v1/chat/completions", chat_body({{"max_tokens", "8"}}).dump(), "max_tokens"},
      {"/v1/chat/completions", chat_body({{"max_tokens", -5}}).dump(), "max_tokens"},
      {"/v1/chat/completions", chat_body({{"temperature", "hot"}}).dump(), "temperature"},
      {"/v1/chat/completions", chat_body({{"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}}).dump(),
       "messages[0].role"},
      {"/v1/chat/completions", chat_body({{"messages", json::array()}}).dump(), "messages"},
      {"/v1/chat/completions", chat_body({{"messages", json::array({42})}}).dump(), "messages[0]"},
      {"/v1/chat/completions", chat_body({{"stop", many_stops}}).dump(), "stop"},
      {"/v1/chat/completions", chat_body({{"n", 1000}}).dump(), "n"},
      {"/v1/completions", R"({"prompt": 12})", "prompt"},
      {"/v1/completions", R"({"prompt": "x", "max_tokens": -1})", "max_tokens"},
      {"/generate", R"({"text": "x", "sampling_params": {"top_p": 7}})", "sampling_params.top_p"},
      {"/generate", R"({"input_ids": [1, 99999999]})", ""},
      {"/generate", R"({"text": "x", "sampling_params": {"regex": "[z-a]"}})", ""},
  };
  for (const auto& k : cases) {
    INFO(k.path << " " << k.body.substr(0, 120));
    auto [st, body] = post(k.path, k.body);
    CHECK(st >= 400);
    CHECK(st < 500);
    REQUIRE(body.is_object());
    CHECK(body["error"]["message"].is_string());
    CHECK(body["error"]["code"] == st);
    if (!k.param.empty()) CHECK(body["error"]["param"] == k.param);
  }
  // A huge body: 413 in the error shape.
  std::string huge = "{\"prompt\": \"" + std::string(2 << 20, 'a') + "\"}";
  auto r = c->Post("/v1/completions", huge, "application/json");
  if (r) {
    CHECK(r->status == 413);
  } else {
    // The server may close before reading the whole body; the client then sees a broken
    // connection instead of the 413. Either way the server must still serve.
    MESSAGE("413 not read back: " << httplib::to_string(r.error()));
  }
  // Still serving.
  auto c2 = srv().client();
  int status = 0;
  json ok = post_json(*c2, "/v1/chat/completions", chat_body(), &status);
  CHECK(status == 200);
  CHECK(ok["choices"].size() == 1);
}

TEST_CASE("400s: a prompt list mixing strings and token arrays, a non-JSON Content-Type, a prompt beyond the context") {
  auto c = srv().client();
  auto expect_400 = [](const httplib::Result& r, const std::string& part, const std::string& param) {
    REQUIRE(r);
    CHECK(r->status == 400);
    json b = json::parse(r->body, nullptr, false);
    REQUIRE(b.is_object());
    INFO(r->body);
    CHECK(b["error"]["message"].get<std::string>().find(part) != std::string::npos);
    if (!param.empty()) CHECK(b["error"]["param"] == param);
  };
  expect_400(c->Post("/v1/completions", R"({"prompt": ["Once", [1, 2, 3]], "max_tokens": 2})", "application/json"),
             "prompt[1] is a token array but prompt[0] is a string", "prompt");
  expect_400(c->Post("/v1/completions", R"({"prompt": [[1, 2], "upon"], "max_tokens": 2})", "application/json"),
             "prompt[1] is a string but prompt[0] is a token array", "prompt");

  const std::string body = chat_body().dump();
  for (const char* path : {"/v1/chat/completions", "/v1/completions", "/generate", "/tokenize", "/abort_request"})
    expect_400(c->Post(path, body, "text/plain"), "Content-Type 'text/plain' is not JSON", "");
  expect_400(c->Post("/generate", R"({"text": "x"})", "application/x-www-form-urlencoded"), "send the body as application/json", "");
  // JSON with parameters or a +json type are fine (no type at all too: test_server_protocol;
  // httplib's client always sends one).
  auto ok = c->Post("/v1/chat/completions", body, "application/json; charset=utf-8");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  ok = c->Post("/v1/chat/completions", body, "application/vnd.api+json");
  REQUIRE(ok);
  CHECK(ok->status == 200);

  // One token beyond the context: 400 naming both lengths.
  auto info = c->Get("/get_server_info");
  REQUIRE(info);
  const int64_t ctx = json::parse(info->body)["context_length"].get<int64_t>();
  json ids = json::array();
  for (int64_t i = 0; i < ctx + 1; ++i) ids.push_back(3 + i % 100);
  json gen = {{"input_ids", ids}, {"sampling_params", {{"max_new_tokens", 2}}}};
  expect_400(c->Post("/generate", gen.dump(), "application/json"),
             "the input (" + std::to_string(ctx + 1) + " tokens) is longer than the model's context length (" +
                 std::to_string(ctx) + " tokens)", "");
  json comp = {{"prompt", ids}, {"max_tokens", 2}};
  expect_400(c->Post("/v1/completions", comp.dump(), "application/json"), "longer than the model's context length", "");

  // Still serving.
  ok = c->Post("/v1/chat/completions", body, "application/json");
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("api key: 401 without or with a wrong key") {
  ServerFixture s([](server::ServerArgs& a) { a.api_key = "sekret"; });
  auto c = s.client();
  auto r = c->Post("/v1/chat/completions", chat_body().dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
  json e = json::parse(r->body);
  CHECK(e["error"]["type"] == "authentication_error");
  r = c->Post("/v1/chat/completions", httplib::Headers{{"Authorization", "Bearer wrong"}}, chat_body().dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
  r = c->Post("/v1/chat/completions", httplib::Headers{{"Authorization", "Bearer sekret"}}, chat_body().dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = c->Get("/health");  // health checks need no key
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("full queue: 503 with Retry-After") {
  ServerFixture s([](server::ServerArgs& a) {
    a.engine.max_running_requests = 1;
    a.engine.max_queued_requests = 1;
  });
  // Six long requests at once: one runs, one waits, the rest must be refused.
  std::vector<std::future<std::pair<int, std::string>>> fs;
  for (int i = 0; i < 6; ++i)
    fs.push_back(std::async(std::launch::async, [&s] {
      auto c = s.client();
      json body = {{"input_ids", {1, 5, 6, 7}},
                   {"sampling_params", {{"max_new_tokens", 200}, {"ignore_eos", true}, {"temperature", 0}}}};
      auto r = c->Post("/generate", body.dump(), "application/json");
      if (!r) return std::make_pair(-1, std::string());
      return std::make_pair(r->status, r->get_header_value("Retry-After"));
    }));
  int ok = 0, refused = 0;
  for (auto& f : fs) {
    auto [st, retry] = f.get();
    if (st == 200) ++ok;
    if (st == 503) {
      ++refused;
      CHECK(retry == "1");
    }
  }
  CHECK(ok >= 1);
  CHECK(refused >= 1);
  CHECK(ok + refused == 6);
}

TEST_CASE("metrics") {
  auto c = srv().client();
  auto r = c->Get("/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
  for (const char* name : {"sgl:num_requests_total", "sgl:prompt_tokens_total", "sgl:generation_tokens_total",
                           "sgl:time_to_first_token_seconds_bucket", "sgl:e2e_request_latency_seconds_count",
                           "sgl:kv_pages_used", "sgl:kv_pages_total", "sgl:cache_hit_rate", "sgl:num_running_reqs"})
    CHECK(r->body.find(name) != std::string::npos);
}
