// sgl-server request parsing and response formatting, without an engine: every malformed input
// gets a 400 naming the field, and the JSON shapes match SGLang's and OpenAI's.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "api_error.hpp"
#include "request_parser.hpp"
#include "response_writer.hpp"

using namespace sgl;
using namespace sgl::server;
using nlohmann::json;

namespace {

// Runs `f`, expects an ApiError with `status` whose message contains `part`; returns its param.
template <typename F>
std::string expect_error(F&& f, int status, const std::string& part) {
  try {
    f();
  } catch (const ApiError& e) {
    CHECK(e.status() == status);
    INFO("message: " << e.message());
    CHECK(e.message().find(part) != std::string::npos);
    return e.param();
  }
  FAIL("no ApiError thrown (expected " << part << ")");
  return {};
}

std::string chat(const json& extra) {
  json j = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  j.update(extra);
  return j.dump();
}

}  // namespace

TEST_CASE("chat: fields map to sampling params") {
  auto pr = parse_chat(chat({{"temperature", 0.5},
                             {"top_p", 0.9},
                             {"max_completion_tokens", 7},
                             {"stop", "END"},
                             {"n", 2},
                             {"seed", 42},
                             {"frequency_penalty", 0.5},
                             {"presence_penalty", -0.5},
                             {"logprobs", true},
                             {"top_logprobs", 3},
                             {"stream", true},
                             {"stream_options", {{"include_usage", true}}},
                             {"top_k", 5},
                             {"min_p", 0.1},
                             {"repetition_penalty", 1.1},
                             {"ignore_eos", true}}));
  REQUIRE(pr.prompts.size() == 1);
  const SamplingParams& sp = pr.prompts[0].sampling;
  CHECK(sp.temperature == doctest::Approx(0.5));
  CHECK(sp.top_p == doctest::Approx(0.9));
  CHECK(sp.max_new_tokens == 7);
  CHECK(sp.stop == std::vector<std::string>{"END"});
  CHECK(sp.n == 2);
  CHECK(pr.n == 2);
  CHECK(sp.seed == 42u);
  CHECK(sp.frequency_penalty == doctest::Approx(0.5));
  CHECK(sp.presence_penalty == doctest::Approx(-0.5));
  CHECK(sp.return_logprob);
  CHECK(sp.top_logprobs_num == 3);
  CHECK(pr.stream);
  CHECK(pr.include_usage);
  CHECK(sp.top_k == 5);
  CHECK(sp.min_p == doctest::Approx(0.1));
  CHECK(sp.repetition_penalty == doctest::Approx(1.1));
  CHECK(sp.ignore_eos);
  REQUIRE(pr.prompts[0].messages.size() == 1);
  CHECK(pr.prompts[0].messages[0].role == "user");
  CHECK(pr.prompts[0].messages[0].content == "hi");
}

TEST_CASE("chat: content parts, developer role, response_format") {
  json msgs = json::array({{{"role", "developer"}, {"content", "be brief"}},
                           {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}})}}});
  auto pr = parse_chat(json({{"messages", msgs}, {"response_format", {{"type", "json_object"}}}}).dump());
  CHECK(pr.prompts[0].messages[0].role == "system");
  CHECK(pr.prompts[0].messages[1].content == "ab");
  CHECK(json::parse(pr.prompts[0].sampling.json_schema) == json({{"type", "object"}}));

  json schema = {{"type", "object"}, {"properties", {{"x", {{"type", "integer"}}}}}, {"required", {"x"}}};
  pr = parse_chat(chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", schema}}}}}}));
  CHECK(json::parse(pr.prompts[0].sampling.json_schema) == schema);
  pr = parse_chat(chat({{"response_format", {{"type", "text"}}}, {"regex", "[a-z]+"}}));
  CHECK(pr.prompts[0].sampling.json_schema.empty());
  CHECK(pr.prompts[0].sampling.regex == "[a-z]+");
}

TEST_CASE("chat: malformed inputs are 400s naming the field") {
  expect_error([] { parse_chat("{not json"); }, 400, "not valid JSON");
  expect_error([] { parse_chat(""); }, 400, "empty");
  expect_error([] { parse_chat("[1,2]"); }, 400, "must be a JSON object");
  CHECK(expect_error([] { parse_chat(R"({"model":"m"})"); }, 400, "messages is required") == "messages");
  CHECK(expect_error([] { parse_chat(R"({"messages":[]})"); }, 400, "must not be empty") == "messages");
  CHECK(expect_error([] { parse_chat(R"({"messages":"hi"})"); }, 400, "must be an array") == "messages");
  CHECK(expect_error([] { parse_chat(chat({{"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}})); }, 400,
                     "'wizard'") == "messages[0].role");
  CHECK(expect_error([] { parse_chat(chat({{"messages", json::array({{{"role", "user"}}})}})); }, 400,
                     "content is required") == "messages[0].content");
  CHECK(expect_error([] { parse_chat(chat({{"max_tokens", -1}})); }, 400, "max_tokens must be >= 0 (got -1)") == "max_tokens");
  CHECK(expect_error([] { parse_chat(chat({{"max_tokens", "ten"}})); }, 400, "must be an integer") == "max_tokens");
  CHECK(expect_error([] { parse_chat(chat({{"max_tokens", 1.5}})); }, 400, "must be an integer") == "max_tokens");
  CHECK(expect_error([] { parse_chat(chat({{"temperature", "hot"}})); }, 400, "must be a number") == "temperature");
  CHECK(expect_error([] { parse_chat(chat({{"temperature", -1}})); }, 400, "temperature must be in") == "temperature");
  CHECK(expect_error([] { parse_chat(chat({{"n", 0}})); }, 400, "n must be >= 1") == "n");
  CHECK(expect_error([] { parse_chat(chat({{"stream", "yes"}})); }, 400, "must be a boolean") == "stream");
  CHECK(expect_error([] { parse_chat(chat({{"stop", 5}})); }, 400, "string or an array") == "stop");
  CHECK(expect_error([] { parse_chat(chat({{"top_logprobs", 2}})); }, 400, "requires logprobs") == "top_logprobs");
  CHECK(expect_error([] { parse_chat(chat({{"logprobs", true}, {"top_logprobs", 99}})); }, 400, "<= 20") == "top_logprobs");
  CHECK(expect_error([] { parse_chat(chat({{"response_format", {{"type", "yaml"}}}})); }, 400, "yaml") ==
        "response_format.type");
  CHECK(expect_error([] { parse_chat(chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}}}}}})); },
                     400, "schema is required") == "response_format.json_schema.schema");
  expect_error([] { parse_chat(chat({{"regex", "a"}, {"ebnf", "root ::= \"a\""}})); }, 400, "at most one");
  expect_error([] { parse_chat(chat({{"tools", json::array({{{"type", "function"}}})}})); }, 400, "tools[0].function is required");
  expect_error([] { parse_chat(chat({{"logit_bias", {{"x", 5}}}})); }, 400, "logit_bias keys must be token ids");
  expect_error([] { parse_chat(chat({{"logit_bias", {{"3", 101}}}})); }, 400, "[-100, 100]");
  CHECK(parse_generate(R"({"text":"a","sampling_params":{"logit_bias":{"4":1.5}}})").prompts[0].sampling.logit_bias ==
        std::vector<std::pair<int32_t, float>>{{4, 1.5f}});
  expect_error([] { parse_generate(R"({"text":"a","sampling_params":{"logit_bias":{"4":"x"}}})"); }, 400,
               "sampling_params.logit_bias[4] must be a number");
  CHECK(parse_chat(chat({{"logit_bias", {{"3", -100}, {"7", 2.5}}}})).prompts[0].sampling.logit_bias ==
        std::vector<std::pair<int32_t, float>>{{3, -100.0f}, {7, 2.5f}});
  // 10,000 stop strings are capped with a clear message.
  json many = json::array();
  for (int i = 0; i < 10000; ++i) many.push_back("s" + std::to_string(i));
  CHECK(expect_error([&] { parse_chat(chat({{"stop", many}})); }, 400, "at most 64") == "stop");
  CHECK(expect_error([] { parse_chat(chat({{"stop", json::array({std::string(20000, 'x')})}})); }, 400, "too long") == "stop");
}

TEST_CASE("completions: prompts, batch, echo, defaults") {
  auto pr = parse_completions(R"({"prompt":"Once upon","logprobs":2,"echo":true})");
  REQUIRE(pr.prompts.size() == 1);
  CHECK(pr.prompts[0].text == "Once upon");
  CHECK(pr.prompts[0].sampling.max_new_tokens == 16);  // OpenAI's default
  CHECK(pr.logprobs);
  CHECK(pr.top_logprobs == 2);
  CHECK(pr.echo);
  pr = parse_completions(R"({"prompt":["a","b","c"],"n":2})");
  CHECK(pr.prompts.size() == 3);
  CHECK(pr.n == 2);
  pr = parse_completions(R"({"prompt":[1,2,3]})");
  CHECK(pr.prompts[0].input_ids == std::vector<int32_t>{1, 2, 3});
  pr = parse_completions(R"({"prompt":[[1,2],[3]]})");
  CHECK(pr.prompts.size() == 2);
  expect_error([] { parse_completions(R"({"max_tokens":3})"); }, 400, "prompt is required");
  expect_error([] { parse_completions(R"({"prompt":{"a":1}})"); }, 400, "prompt must be");
  expect_error([] { parse_completions(R"({"prompt":[1,-2]})"); }, 400, "prompt[1] must be in");
  expect_error([] { parse_completions(R"({"prompt":[1,2],"echo":true})"); }, 400, "echo");
  expect_error([] { parse_completions(R"({"prompt":["a",[1,2]]})"); }, 400, "only strings or only token arrays");
  expect_error([] { parse_completions(R"({"prompt":[[1],"a","b"]})"); }, 400, "prompt[1] is a string");
}

TEST_CASE("JSON routes: Content-Type must be JSON or absent") {
  for (const char* ok : {"", "application/json", "Application/JSON", " application/json ; charset=utf-8",
                         "application/problem+json"})
    CHECK_NOTHROW(check_json_content_type(ok));
  for (const char* bad : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                          "text/json+xml", "+json", "application/jsonx"})
    expect_error([&] { check_json_content_type(bad); }, 400, "is not JSON; send the body as application/json");
}

TEST_CASE("generate: SGLang native fields") {
  auto pr = parse_generate(R"({"text":"hello","sampling_params":{"max_new_tokens":5,"temperature":0,
      "stop":["x","y"],"regex":"[0-9]+","n":1},"stream":true,"return_logprob":true,"top_logprobs_num":2,
      "logprob_start_len":-1,"rid":"abc"})");
  REQUIRE(pr.prompts.size() == 1);
  const SamplingParams& sp = pr.prompts[0].sampling;
  CHECK(sp.max_new_tokens == 5);
  CHECK(sp.temperature == 0.0f);
  CHECK(sp.stop.size() == 2);
  CHECK(sp.regex == "[0-9]+");
  CHECK(sp.return_logprob);
  CHECK(sp.top_logprobs_num == 2);
  CHECK(pr.stream);
  CHECK_FALSE(pr.batch);
  CHECK(pr.prompts[0].rid == "abc");
  pr = parse_generate(R"({"input_ids":[[1,2],[3,4]],"sampling_params":{"json_schema":{"type":"object"}}})");
  CHECK(pr.prompts.size() == 2);
  CHECK(pr.batch);
  CHECK(json::parse(pr.prompts[1].sampling.json_schema) == json({{"type", "object"}}));
  CHECK(expect_error([] { parse_generate(R"({"text":"a","input_ids":[1]})"); }, 400, "exactly one") == "text");
  CHECK(expect_error([] { parse_generate(R"({"text":"a","sampling_params":{"max_new_tokens":-3}})"); }, 400,
                     "sampling_params.max_new_tokens must be >= 0 (got -3)") == "sampling_params.max_new_tokens");
  CHECK(expect_error([] { parse_generate(R"({"text":"a","sampling_params":{"bogus":1}})"); }, 400, "unknown field 'bogus'") ==
        "sampling_params.bogus");
  CHECK(parse_generate(R"({"text":"a","return_logprob":true,"logprob_start_len":3})").prompts[0].sampling.logprob_start_len == 3);
  CHECK(parse_generate(R"({"text":"a","logprob_start_len":3})").prompts[0].sampling.logprob_start_len == -1);  // no logprobs asked
  expect_error([] { parse_generate(R"({"input_ids":[]})"); }, 400, "non-empty");
  expect_error([] { parse_generate(R"({"input_ids":["a"]})"); }, 400, "input_ids[0] must be an integer");
  expect_error([] { parse_generate(R"({"text":5})"); }, 400, "text must be a string");
}

TEST_CASE("error body has OpenAI's shape") {
  json e = json::parse(error_body(ApiError(400, "max_tokens must be >= 0", "max_tokens")));
  CHECK(e["error"]["message"] == "max_tokens must be >= 0");
  CHECK(e["error"]["type"] == "invalid_request_error");
  CHECK(e["error"]["param"] == "max_tokens");
  CHECK(e["error"]["code"] == 400);
  e = json::parse(error_body(ApiError(401, "invalid API key")));
  CHECK(e["error"]["type"] == "authentication_error");
  CHECK(e["error"]["param"].is_null());
  CHECK(from_engine_error(sgl::Error(Status::kOutOfMemory, "queue is full")).status() == 503);
  CHECK(from_engine_error(sgl::Error(Status::kParseError, "bad regex")).status() == 400);
  // Invalid UTF-8 in a message does not throw.
  CHECK_NOTHROW(error_body(ApiError(400, std::string("bad \xff byte"))));
}

TEST_CASE("responses: completion / chat / generate shapes") {
  Result r;
  r.rid = "r1";
  r.text = "hi there";
  r.output_ids = {5, 6};
  r.finish.kind = FinishKind::kLength;
  r.prompt_tokens = 4;
  r.completion_tokens = 2;
  r.cached_tokens = 1;
  r.output_logprobs = {TokenLogprob{5, -0.5f, {{5, -0.5f}, {7, -1.5f}}}, TokenLogprob{6, -0.25f, {{6, -0.25f}, {8, -2.0f}}}};
  SampleOutput s;
  s.result = r;
  TokenText tt = [](int32_t id) { return "t" + std::to_string(id); };
  ResponseContext ctx{"chatcmpl-1", "model-x", 123, tt};

  ParsedRequest pr = parse_chat(chat({{"logprobs", true}, {"top_logprobs", 2}}));
  json c = chat_response(ctx, pr, {s}, {json{{"role", "assistant"}, {"content", r.text}}}, {false});
  CHECK(c["object"] == "chat.completion");
  CHECK(c["choices"][0]["message"]["role"] == "assistant");
  CHECK(c["choices"][0]["message"]["content"] == "hi there");
  CHECK(c["choices"][0]["finish_reason"] == "length");
  CHECK(c["choices"][0]["logprobs"]["content"][0]["token"] == "t5");
  CHECK(c["choices"][0]["logprobs"]["content"][0]["bytes"] == json::array({'t', '5'}));
  CHECK(c["choices"][0]["logprobs"]["content"][1]["top_logprobs"][1]["token"] == "t8");
  CHECK(c["usage"]["prompt_tokens"] == 4);
  CHECK(c["usage"]["total_tokens"] == 6);
  CHECK(c["usage"]["prompt_tokens_details"]["cached_tokens"] == 1);

  pr = parse_completions(R"({"prompt":"P:","logprobs":2,"echo":true})");
  json k = completion_response(ctx, pr, {s}, {"P:"});
  CHECK(k["object"] == "text_completion");
  CHECK(k["choices"][0]["text"] == "P:hi there");
  CHECK(k["choices"][0]["logprobs"]["tokens"] == json::array({"t5", "t6"}));
  CHECK(k["choices"][0]["logprobs"]["text_offset"] == json::array({2, 4}));
  CHECK(k["choices"][0]["logprobs"]["top_logprobs"][0]["t7"] == doctest::Approx(-1.5));

  pr = parse_generate(R"({"text":"x","return_logprob":true,"top_logprobs_num":2,"return_text_in_logprobs":true})");
  json g = generate_json(s, "r1", pr, tt);
  CHECK(g["text"] == "hi there");
  CHECK(g["meta_info"]["id"] == "r1");
  CHECK(g["meta_info"]["finish_reason"] == json({{"type", "length"}, {"length", 2}}));
  CHECK(g["meta_info"]["prompt_tokens"] == 4);
  CHECK(g["meta_info"]["cached_tokens"] == 1);
  CHECK(g["meta_info"]["output_token_logprobs"][0] == json::array({-0.5, 5, "t5"}));
  CHECK(g["meta_info"]["output_top_logprobs"][1][1][1] == 8);

  r.finish = FinishReason{};
  r.finish.kind = FinishKind::kStop;
  r.finish.matched_str = "END";
  CHECK(finish_reason_json(&r) == json({{"type", "stop"}, {"matched", "END"}}));
  r.finish.matched_str.clear();
  r.finish.matched_token = 2;
  CHECK(finish_reason_json(&r) == json({{"type", "stop"}, {"matched", 2}}));
  CHECK(finish_reason_json(nullptr).is_null());

  json ch = chat_chunk(ctx, 1, true, "he", nullptr, nullptr);
  CHECK(ch["object"] == "chat.completion.chunk");
  CHECK(ch["choices"][0]["index"] == 1);
  CHECK(ch["choices"][0]["delta"] == json({{"role", "assistant"}, {"content", "he"}}));
  CHECK(ch["choices"][0]["finish_reason"].is_null());
  json u = usage_chunk(ctx, parse_chat(chat(json::object())), usage_json(3, 4, 0));
  CHECK(u["choices"].empty());
  CHECK(u["usage"]["total_tokens"] == 7);
}
