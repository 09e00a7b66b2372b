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
  forced_ = pr.tool_choice.kind == ToolChoice::Kind::kRequired || pr.tool_choice.kind == ToolChoice::Kind::kNamed;
  // A forced tool_choice makes the output grammar-constrained JSON: read as calls, no reasoning.
  if (!forced_ && !reasoning_parser.empty() && pr.separate_reasoning && !(reasoning_parser == "qwen3" && thinking_off))
    reasoning_.emplace(reasoning_parser);
  if (forced_)
    tools_ = ToolCallParser::create_forced(pr.tool_choice.kind == ToolChoice::Kind::kNamed ? pr.tool_choice.name : "");
  else if (pr.tool_choice.kind == ToolChoice::Kind::kAuto && !pr.tools.empty() && !tool_call_parser.empty())
    tools_ = ToolCallParser::create(tool_call_parser);
}

// OpenAI's stream of a call: one delta with index, id, type, name and empty arguments, then
// deltas with index and an arguments fragment.
void ChatOutput::add_pieces(const std::vector<ToolCallPiece>& pieces, std::vector<json>& out) {
  static const char* kHex = "0123456789abcdef";
  for (const auto& p : pieces) {
    if (!p.name.empty()) {
      std::string id = "call_";
      for (int i = 0; i < 24; ++i) id += kHex[rng_() % 16];
      ++calls_;
      out.push_back({{"tool_calls",
                      json::array({{{"index", p.index}, {"id", id}, {"type", "function"},
                                    {"function", {{"name", p.name}, {"arguments", ""}}}}})}});
    }
    if (!p.arguments.empty())
      out.push_back({{"tool_calls", json::array({{{"index", p.index}, {"function", {{"arguments", p.arguments}}}}})}});
  }
}

void ChatOutput::take(const std::string& reasoning, const ToolCallParser::Delta& d, std::vector<json>& out) {
  if (!reasoning.empty()) {
    if (stream_reasoning_) out.push_back({{"reasoning_content", reasoning}});
    else held_reasoning_ += reasoning;
  }
  std::vector<json> calls;
  add_pieces(d.calls, calls);
  if ((!d.content.empty() || !calls.empty()) && !held_reasoning_.empty()) {
    out.push_back({{"reasoning_content", held_reasoning_}});
    held_reasoning_.clear();
  }
  if (!d.content.empty()) out.push_back({{"content", d.content}});
  out.insert(out.end(), calls.begin(), calls.end());
}

void ChatOutput::take(const std::string& reasoning, const std::string& content, std::vector<json>& out) {
  ToolCallParser::Delta d;
  if (tools_ && !content.empty()) d = tools_->feed(content);
  else d.content = content;
  take(reasoning, d, out);
}

std::vector<json> ChatOutput::feed(const std::string& text) {
  std::vector<json> out;
  if (reasoning_) {
    auto d = reasoning_->feed(text);
    take(d.reasoning, d.content, out);
  } else {
    take("", text, out);
  }
  return out;
}

std::vector<json> ChatOutput::finish() {
  std::vector<json> out;
  ReasoningParser::Delta d;
  if (reasoning_) d = reasoning_->finish();
  take(d.reasoning, d.content, out);
  if (tools_) take("", tools_->finish(), out);
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
