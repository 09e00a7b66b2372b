// SGLang's frontend language as a client: the request shapes python/sglang/lang/backend/
// runtime_endpoint.py sends (../shared/specs/SERVING.md), replayed against sgl-server, checking
// the fields the frontend reads — get_model_info, gen (whole and streamed cumulative text),
// select (prefill with max_new_tokens 0, then input_token_logprobs as [logprob, id, text] from
// logprob_start_len = prompt_tokens - 2), unconditional likelihoods by input_ids, fork (the
// shared prefix is prefilled once and the branches find it cached), flush_cache, get_server_info.
#include <doctest/doctest.h>

#include <cmath>

#include "server_fixture.hpp"

using namespace sgl;
using sgl::test::json;
using sgl::test::post_json;

namespace {
test::ServerFixture& srv() {
  static test::ServerFixture s;
  return s;
}
const std::string kPrefix = "Once upon a time, there was a little girl who loved the sea.";
}  // namespace

TEST_CASE("start-up: get_model_info names the model; health_generate answers") {
  auto c = srv().client();
  auto r = c->Get("/get_model_info");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body)["model_path"].is_string());
  r = c->Get("/health_generate");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("gen: sampling params as the frontend sends them; streamed text is cumulative") {
  auto c = srv().client();
  int st = 0;
  json sp = {{"max_new_tokens", 8}, {"stop", json::array()}, {"stop_token_ids", json::array()}, {"temperature", 0},
             {"top_p", 1.0}, {"top_k", -1}, {"min_p", 0.0}, {"frequency_penalty", 0.0}, {"presence_penalty", 0.0},
             {"ignore_eos", true}};
  json whole = post_json(*c, "/generate", {{"text", kPrefix}, {"sampling_params", sp}}, &st);
  REQUIRE(st == 200);
  CHECK(whole["meta_info"]["completion_tokens"] == 8);
  auto res = c->Post("/generate", json{{"text", kPrefix}, {"sampling_params", sp}, {"stream", true}}.dump(), "application/json");
  REQUIRE(res);
  auto events = test::sse_events(res->body);
  REQUIRE(events.size() >= 2);
  CHECK(events.back() == "[DONE]");
  std::string prev;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    std::string t = json::parse(events[i])["text"];
    CHECK(t.rfind(prev, 0) == 0);  // each event extends the last one
    prev = t;
  }
  CHECK(prev == whole["text"]);
  json rx = post_json(*c, "/generate", {{"text", kPrefix}, {"sampling_params", {{"max_new_tokens", 4}, {"regex", "[0-9]+"}}}}, &st);
  REQUIRE(st == 200);
  CHECK(rx["text"].get<std::string>().find_first_not_of("0123456789") == std::string::npos);
}

TEST_CASE("select: prompt length by a 0-token prefill, then input_token_logprobs of each choice") {
  auto c = srv().client();
  int st = 0;
  json pre = post_json(*c, "/generate", {{"text", kPrefix}, {"sampling_params", {{"max_new_tokens", 0}}}}, &st);
  REQUIRE(st == 200);
  CHECK(pre["text"] == "");
  const int64_t prompt_len = pre["meta_info"]["prompt_tokens"];
  REQUIRE(prompt_len > 4);
  const std::vector<std::string> choices = {" It was sunny.", " The end.", " She swam"};
  json texts = json::array();
  for (const auto& ch : choices) texts.push_back(kPrefix + ch);
  json batch = post_json(*c, "/generate",
                         {{"text", texts}, {"sampling_params", {{"max_new_tokens", 0}, {"temperature", 0}}},
                          {"return_logprob", true}, {"return_text_in_logprobs", true}, {"logprob_start_len", prompt_len - 2}},
                         &st);
  REQUIRE(st == 200);
  REQUIRE(batch.is_array());
  REQUIRE(batch.size() == choices.size());
  for (size_t i = 0; i < choices.size(); ++i) {
    CAPTURE(i);
    const json& m = batch[i]["meta_info"];
    const json& in = m["input_token_logprobs"];
    CHECK(static_cast<int64_t>(in.size()) == m["prompt_tokens"].get<int64_t>() - (prompt_len - 2));
    std::string tail;
    for (const auto& t : in) {
      REQUIRE(t.size() == 3);
      CHECK(t[0].is_number());
      CHECK(t[0].get<double>() <= 0.0);
      CHECK(t[1].is_number_integer());
      tail += t[2].get<std::string>();
    }
    CHECK(m["output_token_logprobs"].empty());
    CHECK(std::isfinite(m["normalized_prompt_logprob"].get<double>()));
    CHECK(kPrefix.size() + choices[i].size() >= tail.size());
  }
  // Unconditional likelihoods: the choices alone as token ids.
  json ids = json::array();
  for (const auto& ch : choices) ids.push_back(srv().engine().tokenize(ch, false));
  json unc = post_json(*c, "/generate",
                       {{"input_ids", ids}, {"sampling_params", {{"max_new_tokens", 0}}}, {"return_logprob", true},
                        {"logprob_start_len", 0}},
                       &st);
  REQUIRE(st == 200);
  REQUIRE(unc.size() == choices.size());
  const json& first = unc[0]["meta_info"]["input_token_logprobs"];
  REQUIRE(first.size() == ids[0].size());
  CHECK(first[0][0].is_null());  // the first token has no context
}

TEST_CASE("input_token_logprobs agree with the logprob of the same token sampled after the prefix") {
  auto c = srv().client();
  int st = 0;
  std::vector<int32_t> prompt = srv().engine().tokenize(kPrefix, true);
  json g = post_json(*c, "/generate",
                     {{"input_ids", prompt}, {"sampling_params", {{"max_new_tokens", 1}, {"temperature", 0}}}, {"return_logprob", true}},
                     &st);
  REQUIRE(st == 200);
  const json& out = g["meta_info"]["output_token_logprobs"][0];
  std::vector<int32_t> longer = prompt;
  longer.push_back(out[1].get<int32_t>());
  json s = post_json(*c, "/generate",
                     {{"input_ids", longer}, {"sampling_params", {{"max_new_tokens", 0}}}, {"return_logprob", true},
                      {"logprob_start_len", static_cast<int64_t>(prompt.size())}},
                     &st);
  REQUIRE(st == 200);
  const json& in = s["meta_info"]["input_token_logprobs"];
  REQUIRE(in.size() == 1);
  CHECK(in[0][1] == out[1]);
  CHECK(in[0][0].get<double>() == doctest::Approx(out[0].get<double>()).epsilon(1e-3));
}

TEST_CASE("fork: the prefix is prefilled once and every branch finds it cached; flush_cache, get_server_info") {
  auto c = srv().client();
  int st = 0;
  const std::string prefix = kPrefix + " Every morning she walked to the beach to look for shells.";
  json pre = post_json(*c, "/generate", {{"text", prefix}, {"sampling_params", {{"max_new_tokens", 0}}}}, &st);
  REQUIRE(st == 200);
  const int64_t p = pre["meta_info"]["prompt_tokens"];
  for (const char* branch : {" One day", " At night", " Later"}) {
    json b = post_json(*c, "/generate", {{"text", prefix + branch}, {"sampling_params", {{"max_new_tokens", 2}}}}, &st);
    REQUIRE(st == 200);
    CHECK(b["meta_info"]["cached_tokens"].get<int64_t>() >= p - 1);
  }
  auto r = c->Post("/flush_cache", "", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = c->Get("/get_server_info");
  REQUIRE(r);
  CHECK(r->status == 200);
}
