// Chat templates in sgl-server: --chat-template NAME|FILE, chat_template_kwargs, and the 400
// naming --chat-template for a model that ships no template.
#include <doctest/doctest.h>

#include <fstream>

#include "server_fixture.hpp"

using namespace sgl;
using sgl::test::json;
using sgl::test::post_json;

namespace {

json chat_body(const std::string& text, json extra = json::object()) {
  json b = {{"messages", json::array({{{"role", "user"}, {"content", text}}})}, {"max_tokens", 2}, {"temperature", 0}};
  for (auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

}  // namespace

TEST_CASE("--chat-template FILE renders chat_template_kwargs as template variables") {
  auto dir = test::scratch_dir("chat_tpl");
  std::ofstream(dir / "t.jinja") << "{% if prefix is defined %}{{ prefix }}{% endif %}"
                                    "{% for m in messages %}{{ m['content'] }}{% endfor %}";
  test::ServerFixture srv([&](server::ServerArgs& a) { a.chat_template = (dir / "t.jinja").string(); });
  auto c = srv.client();
  int st = 0;
  json plain = post_json(*c, "/v1/chat/completions", chat_body("hello"), &st);
  REQUIRE(st == 200);
  json longer = post_json(*c, "/v1/chat/completions",
                          chat_body("hello", {{"chat_template_kwargs", {{"prefix", "a much longer prefix text "}}}}), &st);
  REQUIRE(st == 200);
  const int64_t p0 = plain["usage"]["prompt_tokens"], p1 = longer["usage"]["prompt_tokens"];
  CHECK(p0 == static_cast<int64_t>(srv.engine().tokenize("hello", false).size()));
  CHECK(p1 > p0);
  CHECK(longer["usage"]["prompt_tokens_details"].contains("cached_tokens"));
  post_json(*c, "/v1/chat/completions", chat_body("hello", {{"chat_template_kwargs", "x"}}), &st);
  CHECK(st == 400);
}

TEST_CASE("--chat-template NAME picks a built-in template") {
  test::ServerFixture srv([](server::ServerArgs& a) { a.chat_template = "llama-3"; });
  auto c = srv.client();
  int st = 0;
  json r = post_json(*c, "/v1/chat/completions", chat_body("hi"), &st);
  REQUIRE(st == 200);
  // llama-3 wraps the message in header tokens: far more than the message's own tokens.
  CHECK(r["usage"]["prompt_tokens"].get<int64_t>() > static_cast<int64_t>(srv.engine().tokenize("hi", false).size()) + 4);
}

TEST_CASE("a model without a chat template: chat answers 400 naming --chat-template; the flag fixes it") {
  auto shared = test::require_shared("stories260K chat template");
  if (!shared) return;
  const std::string model = (*shared / "models/stories260K.gguf").string();
  {
    test::ServerFixture srv([&](server::ServerArgs& a) { a.engine.model_path = model; });
    auto c = srv.client();
    int st = 0;
    json e = post_json(*c, "/v1/chat/completions", chat_body("hi"), &st);
    CHECK(st == 400);
    CHECK(e["error"]["message"].get<std::string>().find("--chat-template") != std::string::npos);
  }
  {
    test::ServerFixture srv([&](server::ServerArgs& a) {
      a.engine.model_path = model;
      a.chat_template = "chatml";
    });
    auto c = srv.client();
    int st = 0;
    json r = post_json(*c, "/v1/chat/completions", chat_body("hi"), &st);
    CHECK(st == 200);
    CHECK(r["choices"][0]["message"]["role"] == "assistant");
  }
}

// ---- reasoning and tool calls on known output: a regex forces the tiny model to write `text` ----

namespace {

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (std::string("\\^$.|?*+()[]{}").find(ch) != std::string::npos) out += '\\';
    out += ch;
  }
  return out;
}

json forced_chat(const std::string& text, json extra = json::object()) {
  json b = chat_body("go", {{"regex", regex_escape(text)}, {"max_tokens", 400}});
  for (auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

// Concatenates streamed deltas: content, reasoning and tool calls by index.
struct Streamed {
  std::string content, reasoning;
  json calls = json::array();
  std::string finish;
  bool role_first = false;
  bool name_before_args = true;
};

Streamed stream(httplib::Client& c, json body) {
  body["stream"] = true;
  auto res = c.Post("/v1/chat/completions", body.dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  Streamed s;
  bool first = true;
  for (const auto& ev : test::sse_events(res->body)) {
    if (ev == "[DONE]") break;
    json j = json::parse(ev);
    REQUIRE(j["choices"].size() == 1);
    const json& ch = j["choices"][0];
    const json& d = ch["delta"];
    if (first) s.role_first = d.value("role", "") == "assistant";
    first = false;
    if (d.contains("content") && d["content"].is_string()) s.content += d["content"].get<std::string>();
    if (d.contains("reasoning_content")) s.reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("tool_calls"))
      for (const auto& tc : d["tool_calls"]) {
        size_t i = tc["index"];
        if (i >= s.calls.size()) {
          s.name_before_args &= tc.contains("id") && tc["function"].contains("name");
          s.calls.push_back({{"id", tc.value("id", "")}, {"name", tc["function"].value("name", "")}, {"arguments", ""}});
        }
        s.calls[i]["arguments"] = s.calls[i]["arguments"].get<std::string>() + tc["function"].value("arguments", "");
      }
    if (!ch["finish_reason"].is_null()) s.finish = ch["finish_reason"];
  }
  return s;
}

}  // namespace

TEST_CASE("--reasoning-parser deepseek-r1 splits reasoning_content, whole and streamed") {
  test::ServerFixture srv([](server::ServerArgs& a) { a.reasoning_parser = "deepseek-r1"; });
  auto c = srv.client();
  int st = 0;
  const std::string text = "Think about 2+2.</think>The answer is 4.";  // R1: no opening tag
  json r = post_json(*c, "/v1/chat/completions", forced_chat(text), &st);
  REQUIRE(st == 200);
  const json& m = r["choices"][0]["message"];
  CHECK(m["reasoning_content"] == "Think about 2+2.");
  CHECK(m["content"] == "The answer is 4.");
  Streamed s = stream(*c, forced_chat(text));
  CHECK(s.role_first);
  CHECK(s.reasoning == "Think about 2+2.");
  CHECK(s.content == "The answer is 4.");
  CHECK(s.finish == "stop");
  // stream_reasoning false: the same text, reasoning sent whole.
  Streamed w = stream(*c, forced_chat(text, {{"stream_reasoning", false}}));
  CHECK(w.reasoning == "Think about 2+2.");
  CHECK(w.content == "The answer is 4.");
  // separate_reasoning false: the raw text.
  json raw = post_json(*c, "/v1/chat/completions", forced_chat(text, {{"separate_reasoning", false}}), &st);
  CHECK(raw["choices"][0]["message"]["content"] == text);
}

TEST_CASE("--reasoning-parser qwen3 with enable_thinking false leaves the text alone") {
  test::ServerFixture srv([](server::ServerArgs& a) { a.reasoning_parser = "qwen3"; });
  auto c = srv.client();
  int st = 0;
  json r = post_json(*c, "/v1/chat/completions", forced_chat("<think>a</think>b"), &st);
  REQUIRE(st == 200);
  CHECK(r["choices"][0]["message"]["reasoning_content"] == "a");
  CHECK(r["choices"][0]["message"]["content"] == "b");
  r = post_json(*c, "/v1/chat/completions",
                forced_chat("<think>a</think>b", {{"chat_template_kwargs", {{"enable_thinking", false}}}}), &st);
  REQUIRE(st == 200);
  CHECK(r["choices"][0]["message"]["content"] == "<think>a</think>b");
}

namespace {
const json kTools = json::array(
    {{{"type", "function"},
      {"function",
       {{"name", "get_weather"},
        {"parameters",
         {{"type", "object"},
          {"properties", {{"city", {{"type", "string"}, {"maxLength", 6}}}}},
          {"required", {"city"}},
          {"additionalProperties", false}}}}}}});
}

TEST_CASE("--tool-call-parser qwen25: tool_calls whole and streamed (id and name, then arguments)") {
  test::ServerFixture srv([](server::ServerArgs& a) { a.tool_call_parser = "qwen25"; });
  auto c = srv.client();
  int st = 0;
  const std::string text = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
  json r = post_json(*c, "/v1/chat/completions", forced_chat(text, {{"tools", kTools}}), &st);
  REQUIRE(st == 200);
  const json& ch = r["choices"][0];
  CHECK(ch["finish_reason"] == "tool_calls");
  CHECK(ch["message"]["content"] == "Checking.\n");
  REQUIRE(ch["message"]["tool_calls"].size() == 1);
  const json& call = ch["message"]["tool_calls"][0];
  CHECK(call["type"] == "function");
  CHECK(call["id"].get<std::string>().rfind("call_", 0) == 0);
  CHECK(call["function"]["name"] == "get_weather");
  CHECK(json::parse(call["function"]["arguments"].get<std::string>()) == json{{"city", "Paris"}});

  Streamed s = stream(*c, forced_chat(text, {{"tools", kTools}}));
  CHECK(s.finish == "tool_calls");
  CHECK(s.content == "Checking.\n");
  REQUIRE(s.calls.size() == 1);
  CHECK(s.name_before_args);
  CHECK(s.calls[0]["name"] == "get_weather");
  CHECK(json::parse(s.calls[0]["arguments"].get<std::string>()) == json{{"city", "Paris"}});

  // tool_choice none: the text is content.
  r = post_json(*c, "/v1/chat/completions", forced_chat(text, {{"tools", kTools}, {"tool_choice", "none"}}), &st);
  REQUIRE(st == 200);
  CHECK(r["choices"][0]["message"]["content"] == text);
  CHECK(r["choices"][0]["finish_reason"] == "stop");
}

TEST_CASE("tool_choice named and required are enforced by a grammar from the tools' schemas") {
  test::ServerFixture srv([](server::ServerArgs& a) { a.tool_call_parser = "qwen25"; });
  auto c = srv.client();
  int st = 0;
  json named = chat_body("weather?", {{"tools", kTools},
                                      {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
                                      {"max_tokens", 64}});
  json r = post_json(*c, "/v1/chat/completions", named, &st);
  REQUIRE(st == 200);
  const json& ch = r["choices"][0];
  CHECK(ch["finish_reason"] == "tool_calls");
  REQUIRE(ch["message"]["tool_calls"].size() == 1);
  CHECK(ch["message"]["tool_calls"][0]["function"]["name"] == "get_weather");
  json args = json::parse(ch["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>());
  CHECK(args.is_object());
  CHECK(args["city"].is_string());
  size_t chars = 0;  // maxLength counts code points
  for (unsigned char ch : args["city"].get<std::string>()) chars += (ch & 0xC0) != 0x80;
  CHECK(chars <= 6);

  Streamed s = stream(*c, named);
  CHECK(s.finish == "tool_calls");
  REQUIRE(s.calls.size() == 1);
  CHECK(s.name_before_args);

  json req = chat_body("weather?", {{"tools", kTools}, {"tool_choice", "required"}, {"max_tokens", 200}});
  r = post_json(*c, "/v1/chat/completions", req, &st);
  REQUIRE(st == 200);
  const json& rc = r["choices"][0];
  if (rc["finish_reason"] == "tool_calls") {
    for (const auto& tc : rc["message"]["tool_calls"]) CHECK(tc["function"]["name"] == "get_weather");
  } else {
    // The tiny model kept adding calls: the ones begun are calls (the last one's arguments cut
    // short, as OpenAI's are at "length"), or, cut before the first name, the JSON is content.
    CHECK(rc["finish_reason"] == "length");
    if (rc["message"].contains("tool_calls")) {
      for (const auto& tc : rc["message"]["tool_calls"]) CHECK(tc["function"]["name"] == "get_weather");
    } else {
      CHECK(rc["message"]["content"].get<std::string>().rfind("[{\"name\"", 0) == 0);
    }
  }

  post_json(*c, "/v1/chat/completions",
            chat_body("x", {{"tools", kTools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}), &st);
  CHECK(st == 400);
  post_json(*c, "/v1/chat/completions", chat_body("x", {{"tool_choice", "required"}}), &st);
  CHECK(st == 400);
}
