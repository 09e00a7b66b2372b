// The reasoning and tool-call parsers on known model output: the result is checked against the
// expected split, and the same text fed in every chunk size from 1 to 8 bytes (plus an uneven
// 1,2,3,... chunking) must give exactly the same result.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "reasoning_parser.hpp"
#include "sgl/error.hpp"
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
  std::vector<std::string> calls;  // "name args"
};

Calls run_tools(const std::string& kind, const std::vector<std::string>& chunks) {
  auto p = ToolCallParser::create(kind);
  Calls out;
  int expect_index = 0;
  auto take = [&](ToolCallParser::Delta d) {
    out.content += d.content;
    for (auto& c : d.calls) {
      CHECK(c.index == expect_index++);
      out.calls.push_back(c.name + " " + c.arguments);
    }
  };
  for (const auto& c : chunks) take(p->feed(c));
  take(p->finish());
  return out;
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
  check_tools("qwen25", "<tool_call>{\"name\": \"f\", \"arguments\": {}}", "<tool_call>{\"name\": \"f\", \"arguments\": {}}", {});
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

TEST_CASE("json_extent finds complete values only") {
  CHECK(sgl::server::json_extent("{\"a\": \"}\"} tail") == 10);
  CHECK(sgl::server::json_extent("[1, [2]]x") == 8);
  CHECK(sgl::server::json_extent("{\"a\": 1") == 0);
  CHECK(sgl::server::json_extent("x") == 0);
}
