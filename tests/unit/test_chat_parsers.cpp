// The reasoning and tool-call parsers on known model output: the result is checked against the
// expected split, and the same text fed in every chunk size from 1 to 8 bytes (plus an uneven
// 1,2,3,... chunking) must give exactly the same result.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "reasoning_parser.hpp"
#include "sgl/error.hpp"
#include "json_scanner.hpp"
#include "tool_call_parser.hpp"

using sgl::server::ReasoningParser;
using sgl::server::ToolCallParser;

namespace {

std::vector<std::vector<std::string>> chunkings(const std::string& s) {
  std::vector<std::vector<std::string>> all;
  for (size_t k = 1; k <= 8; ++k) {
    std::vector<std::string> c;
    for (size_t i = 0; i < s.size(); i += k) c.push_back(s.substr(i, k));
    all.push_back(std::move(c));
  }
  std::vector<std::string> uneven;
  for (size_t i = 0, k = 1; i < s.size(); i += k, k = k % 8 + 1) uneven.push_back(s.substr(i, k));
  all.push_back(std::move(uneven));
  all.push_back({s});
  return all;
}

struct Split {
  std::string reasoning, content;
};

Split run_reasoning(const std::string& kind, const std::vector<std::string>& chunks) {
  ReasoningParser p(kind);
  Split s;
  for (const auto& c : chunks) {
    auto d = p.feed(c);
    s.reasoning += d.reasoning;
    s.content += d.content;
  }
  auto d = p.finish();
  s.reasoning += d.reasoning;
  s.content += d.content;
  return s;
}

void check_reasoning(const std::string& kind, const std::string& text, const std::string& reasoning,
                     const std::string& content) {
  for (const auto& ch : chunkings(text)) {
    CAPTURE(kind);
    CAPTURE(text);
    CAPTURE(ch.size());
    Split s = run_reasoning(kind, ch);
    CHECK(s.reasoning == reasoning);
    CHECK(s.content == content);
  }
}

struct Calls {
  std::string content;
  std::vector<std::string> calls;  // "name args", args the concatenated fragments
  size_t pieces = 0;               // argument fragments received
};

// Assembles the streamed pieces as an OpenAI client does (by index), checking the order: a call's
// first piece carries its name, and every later piece of it only argument text.
Calls run_tools(ToolCallParser& p, const std::vector<std::string>& chunks) {
  Calls out;
  auto take = [&](ToolCallParser::Delta d) {
    out.content += d.content;
    for (auto& c : d.calls) {
      if (!c.name.empty()) {
        CHECK(c.index == static_cast<int>(out.calls.size()));
        CHECK(c.arguments.empty());
        out.calls.push_back(c.name + " ");
      } else {
        REQUIRE(c.index >= 0);
        REQUIRE(static_cast<size_t>(c.index) < out.calls.size());  // never before its name
        CHECK(!c.arguments.empty());
        out.calls[static_cast<size_t>(c.index)] += c.arguments;
        ++out.pieces;
      }
    }
  };
  for (const auto& c : chunks) take(p.feed(c));
  take(p.finish());
  return out;
}

Calls run_tools(const std::string& kind, const std::vector<std::string>& chunks) {
  auto p = ToolCallParser::create(kind);
  return run_tools(*p, chunks);
}

void check_tools(const std::string& kind, const std::string& text, const std::string& content,
                 const std::vector<std::string>& calls) {
  for (const auto& ch : chunkings(text)) {
    CAPTURE(kind);
    CAPTURE(text);
    CAPTURE(ch.size());
    Calls c = run_tools(kind, ch);
    CHECK(c.content == content);
    CHECK(c.calls == calls);
  }
}

}  // namespace

TEST_CASE("deepseek-r1: reasoning with or without the opening tag") {
  check_reasoning("deepseek-r1", "<think>\nLet me think.\n</think>\n\nThe answer is 4.", "Let me think.", "The answer is 4.");
  check_reasoning("deepseek-r1", "Let me think.</think>The answer", "Let me think.", "The answer");
  check_reasoning("deepseek-r1", "  still thinking, never closed <", "still thinking, never closed <", "");
  check_reasoning("deepseek-r1", "a < b and </thin k> </think> x </think>", "a < b and </thin k>", "x </think>");
  check_reasoning("deepseek-r1", "", "", "");
}

TEST_CASE("qwen3: reasoning only when the output opens with <think>") {
  check_reasoning("qwen3", "<think>\nhmm ü\n</think>\n\nHello ü!", "hmm ü", "Hello ü!");
  check_reasoning("qwen3", "\n<think>x</think>y", "x", "y");
  check_reasoning("qwen3", "Hello <think>not reasoning</think>", "", "Hello <think>not reasoning</think>");
  check_reasoning("qwen3", "  <thi", "", "  <thi");
  check_reasoning("qwen3", "<think>\n\n</think>\n\nok", "", "ok");
}

TEST_CASE("unknown reasoning parser names are refused") {
  CHECK_THROWS_AS(ReasoningParser("gpt"), sgl::Error);
  CHECK_THROWS_AS(ToolCallParser::create("pythonic2"), sgl::Error);
}

TEST_CASE("qwen25 tool calls") {
  check_tools("qwen25",
              "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"n\": [1, 2]}}\n"
              "</tool_call>\n<tool_call>\n{\"name\": \"t2\", \"arguments\": {\"q\": \"a}b\\\"c\"}}\n</tool_call>",
              "Let me check.\n\n", {"get_weather {\"city\":\"Paris\",\"n\":[1,2]}", "t2 {\"q\":\"a}b\\\"c\"}"});
  check_tools("qwen25", "no calls here < tool_call", "no calls here < tool_call", {});
  // A finished object is a call without its closing tag; cut short inside the arguments, the
  // call keeps what was written (it started streaming); before the arguments began, it is text.
  check_tools("qwen25", "<tool_call>{\"name\": \"f\", \"arguments\": {}}", "", {"f {}"});
  check_tools("qwen25", "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": [1, tr", "", {"f {\"a\":[1,tr"});
  check_tools("qwen25", "<tool_call>{\"name\": \"f\", \"argu", "<tool_call>{\"name\": \"f\", \"argu", {});
  check_tools("qwen25", "<tool_call>{\"name\": \"f\"}</tool_call>", "", {"f {}"});
  check_tools("qwen25", "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 2}\"}</tool_call>", "", {"f {\"x\":2}"});
  check_tools("qwen25", "<tool_call>{\"name\": 3, \"arguments\": {}}</tool_call>!", "<tool_call>{\"name\": 3, \"arguments\": {}}</tool_call>!", {});
  check_tools("qwen25", "<tool_call>not json</tool_call>after", "<tool_call>not json</tool_call>after", {});
}

TEST_CASE("llama3 tool calls") {
  check_tools("llama3", "{\"name\": \"f\", \"parameters\": {\"x\": 1}}; {\"name\": \"g\", \"parameters\": {}}", "",
              {"f {\"x\":1}", "g {}"});
  check_tools("llama3", "Sure.<|python_tag|>{\"name\": \"f\", \"parameters\": {\"s\": \"{[\"}}", "Sure.", {"f {\"s\":\"{[\"}"});
  check_tools("llama3", "The set {1, 2} is small.", "The set {1, 2} is small.", {});
  check_tools("llama3", "Hello {not a call}", "Hello {not a call}", {});
}

TEST_CASE("mistral tool calls") {
  check_tools("mistral", "[TOOL_CALLS] [{\"name\": \"f\", \"arguments\": {\"a\": \"x\"}}, {\"name\": \"g\", \"arguments\": {}}]",
              "", {"f {\"a\":\"x\"}", "g {}"});
  check_tools("mistral", "Text first [TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}] tail", "Text first  tail", {"f {}"});
  check_tools("mistral", "[TOOL_CALL] nope", "[TOOL_CALL] nope", {});
}

TEST_CASE("deepseekv3 tool calls") {
  const std::string call1 =
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Tokyo\"}\n```<｜tool▁call▁end｜>";
  const std::string call2 = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```<｜tool▁call▁end｜>";
  check_tools("deepseekv3", "I will look.<｜tool▁calls▁begin｜>" + call1 + "\n" + call2 + "<｜tool▁calls▁end｜>",
              "I will look.", {"get_weather {\"city\":\"Tokyo\"}", "now {}"});
  check_tools("deepseekv3", "plain ｜ text", "plain ｜ text", {});
}

TEST_CASE("tool-call arguments stream in fragments as they are written") {
  // Fed a byte at a time, the name goes out as soon as the arguments object opens and the
  // arguments follow in many pieces that add up to the whole object.
  const std::string text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>";
  auto p = ToolCallParser::create("qwen25");
  const size_t open = text.find("{\"city");
  bool named = false;
  std::string args;
  for (size_t i = 0; i < text.size(); ++i) {
    auto d = p->feed(text.substr(i, 1));
    for (auto& c : d.calls) {
      if (!c.name.empty()) {
        CHECK(i == open);  // the '{' of the arguments, not the end of the call
        named = true;
      }
      args += c.arguments;
    }
    if (i + 1 == text.find("Paris")) CHECK(args == "{\"city\":\"");
  }
  CHECK(p->finish().calls.empty());
  CHECK(named);
  CHECK(args == "{\"city\":\"Paris\",\"days\":3}");
  // Every chunking: more than one fragment when the chunks are small, the same arguments always.
  auto ch = chunkings(text);
  Calls one = run_tools("qwen25", ch[0]);
  CHECK(one.pieces > 10);
  for (const auto& c : ch) CHECK(run_tools("qwen25", c).calls == std::vector<std::string>{"get_weather " + args});
}

TEST_CASE("forced tool_choice output is read as calls") {
  auto named = [](const std::string& text) {
    std::vector<Calls> r;
    for (const auto& ch : chunkings(text)) {
      auto p = ToolCallParser::create_forced("get_weather");
      r.push_back(run_tools(*p, ch));
    }
    return r;
  };
  for (const auto& c : named(" {\"city\": \"Oslo\"}")) {
    CHECK(c.content.empty());
    CHECK(c.calls == std::vector<std::string>{"get_weather {\"city\":\"Oslo\"}"});
  }
  for (const auto& c : named("oops")) CHECK(c.content == "oops");
  const std::string list = "[{\"name\": \"a\", \"parameters\": {\"x\": 1}}, {\"name\": \"b\", \"parameters\": {}}]";
  for (const auto& ch : chunkings(list)) {
    auto p = ToolCallParser::create_forced("");
    Calls c = run_tools(*p, ch);
    CHECK(c.content.empty());
    CHECK(c.calls == std::vector<std::string>{"a {\"x\":1}", "b {}"});
  }
}

TEST_CASE("JsonScanner validates and compacts incrementally") {
  using sgl::server::JsonScanner;
  auto scan = [](const std::string& s) {
    JsonScanner j;
    for (char c : s)
      if (j.push(c) != JsonScanner::Status::kMore) break;
    return j;
  };
  JsonScanner a = scan("{ \"a\" : [1, -2.5e+3, true, null], \"b\": \"x \\\" \\u00e9\"} tail");
  CHECK(a.status() == JsonScanner::Status::kDone);
  CHECK(a.compact() == "{\"a\":[1,-2.5e+3,true,null],\"b\":\"x \\\" \\u00e9\"}");
  REQUIRE(a.member("a"));
  CHECK(a.value(*a.member("a")) == "[1,-2.5e+3,true,null]");
  CHECK(a.value(*a.member("b")) == "\"x \\\" \\u00e9\"");
  CHECK(scan("{\"a\": 1").status() == JsonScanner::Status::kMore);
  CHECK(scan("{\"a\": 1").value(*scan("{\"a\": 1").member("a")) == "1");
  for (const char* bad : {"x", "{a:1}", "{\"a\" 1}", "[01]", "[1.]", "[tru ]", "{\"a\":1,}", "[\"\n\"]", "[\"\\x\"]", "{]"}) {
    CAPTURE(bad);
    CHECK(scan(bad).status() == JsonScanner::Status::kInvalid);
  }
}
