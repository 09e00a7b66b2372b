#include "chat_output.hpp"

#include <fmt/format.h>

namespace sgl::server {

using json = nlohmann::json;

namespace {

json parameters_of(const json& tool) {
  const json& f = tool["function"];
  return f.contains("parameters") ? f["parameters"] : json{{"type", "object"}};
}

}  // namespace

std::string forced_tool_schema(const ParsedRequest& pr) {
  const ToolChoice& tc = pr.tool_choice;
  if (tc.kind == ToolChoice::Kind::kNamed) {
    for (const auto& t : pr.tools)
      if (t["function"]["name"] == tc.name) return parameters_of(t).dump();
  }
  if (tc.kind != ToolChoice::Kind::kRequired) return {};
  json any = json::array();
  for (const auto& t : pr.tools)
    any.push_back({{"type", "object"},
                   {"properties", {{"name", {{"const", t["function"]["name"]}}}, {"parameters", parameters_of(t)}}},
                   {"required", {"name", "parameters"}},
                   {"additionalProperties", false}});
  return json{{"type", "array"}, {"minItems", 1}, {"items", any.size() == 1 ? any[0] : json{{"anyOf", any}}}}.dump();
}

ChatOutput::ChatOutput(const std::string& reasoning_parser, const std::string& tool_call_parser, const ParsedRequest& pr)
    : stream_reasoning_(pr.stream_reasoning), rng_(std::random_device{}()) {
  // Qwen3 with enable_thinking false writes no reasoning; its template says so.
  bool thinking_off = pr.chat_template_kwargs.is_object() && pr.chat_template_kwargs.contains("enable_thinking") &&
                      pr.chat_template_kwargs["enable_thinking"] == false;
  if (!reasoning_parser.empty() && pr.separate_reasoning && !(reasoning_parser == "qwen3" && thinking_off))
    reasoning_.emplace(reasoning_parser);
  forced_ = pr.tool_choice.kind;
  forced_name_ = pr.tool_choice.name;
  if (forced_ == ToolChoice::Kind::kAuto && !pr.tools.empty() && !tool_call_parser.empty())
    tools_ = ToolCallParser::create(tool_call_parser);
}

void ChatOutput::add_call(const std::string& name, const std::string& args, std::vector<json>& out) {
  static const char* kHex = "0123456789abcdef";
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kHex[rng_() % 16];
  const int index = calls_++;
  out.push_back({{"tool_calls",
                  json::array({{{"index", index}, {"id", id}, {"type", "function"},
                                {"function", {{"name", name}, {"arguments", ""}}}}})}});
  out.push_back({{"tool_calls", json::array({{{"index", index}, {"function", {{"arguments", args}}}}})}});
}

void ChatOutput::take(const std::string& reasoning, const std::string& content, std::vector<json>& out) {
  if (!reasoning.empty()) {
    if (stream_reasoning_) out.push_back({{"reasoning_content", reasoning}});
    else held_reasoning_ += reasoning;
  }
  std::string text = content;
  std::vector<json> calls;
  if (tools_ && !content.empty()) {
    auto d = tools_->feed(content);
    text = d.content;
    for (const auto& c : d.calls) add_call(c.name, c.arguments, calls);
  }
  if ((!text.empty() || !calls.empty()) && !held_reasoning_.empty()) {
    out.push_back({{"reasoning_content", held_reasoning_}});
    held_reasoning_.clear();
  }
  if (!text.empty()) out.push_back({{"content", text}});
  out.insert(out.end(), calls.begin(), calls.end());
}

std::vector<json> ChatOutput::feed(const std::string& text) {
  std::vector<json> out;
  if (forced_ == ToolChoice::Kind::kRequired || forced_ == ToolChoice::Kind::kNamed) {
    forced_text_ += text;  // grammar-constrained JSON: turned into calls when complete
    return out;
  }
  if (reasoning_) {
    auto d = reasoning_->feed(text);
    take(d.reasoning, d.content, out);
  } else {
    take("", text, out);
  }
  return out;
}

void ChatOutput::finish_forced(std::vector<json>& out) {
  json v = json::parse(forced_text_, nullptr, false);
  if (forced_ == ToolChoice::Kind::kNamed && v.is_object()) {
    add_call(forced_name_, v.dump(), out);
  } else if (forced_ == ToolChoice::Kind::kRequired && v.is_array()) {
    for (const auto& c : v)
      if (c.is_object() && c.contains("name") && c["name"].is_string())
        add_call(c["name"].get<std::string>(), c.value("parameters", json::object()).dump(), out);
  }
  if (calls_ == 0 && !forced_text_.empty()) out.push_back({{"content", forced_text_}});  // cut short (length)
}

std::vector<json> ChatOutput::finish() {
  std::vector<json> out;
  if (forced_ == ToolChoice::Kind::kRequired || forced_ == ToolChoice::Kind::kNamed) {
    finish_forced(out);
    return out;
  }
  ReasoningParser::Delta d;
  if (reasoning_) d = reasoning_->finish();
  take(d.reasoning, d.content, out);
  if (tools_) {
    auto t = tools_->finish();
    std::vector<json> calls;
    for (const auto& c : t.calls) add_call(c.name, c.arguments, calls);
    if (!t.content.empty()) out.push_back({{"content", t.content}});
    out.insert(out.end(), calls.begin(), calls.end());
  }
  if (!held_reasoning_.empty()) out.push_back({{"reasoning_content", held_reasoning_}});
  held_reasoning_.clear();
  return out;
}

json ChatOutput::message(const std::string& text) {
  std::vector<json> deltas = feed(text);
  for (auto& d : finish()) deltas.push_back(std::move(d));
  std::string content, reasoning;
  json calls = json::array();
  for (const auto& d : deltas) {
    if (d.contains("content")) content += d["content"].get<std::string>();
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("tool_calls"))
      for (const auto& c : d["tool_calls"]) {
        size_t i = c["index"].get<size_t>();
        if (i >= calls.size()) calls.push_back({{"id", c["id"]}, {"type", "function"}, {"function", c["function"]}});
        else calls[i]["function"]["arguments"] = calls[i]["function"]["arguments"].get<std::string>() +
                                                 c["function"]["arguments"].get<std::string>();
      }
  }
  json m = {{"role", "assistant"}};
  bool blank = content.find_first_not_of(" \n\t\r") == std::string::npos;
  m["content"] = calls.empty() || !blank ? json(content) : json(nullptr);
  if (reasoning_) m["reasoning_content"] = reasoning.empty() ? json(nullptr) : json(reasoning);
  if (!calls.empty()) m["tool_calls"] = calls;
  return m;
}

}  // namespace sgl::server
