// The chat-only fields of /v1/chat/completions: messages (with assistant tool_calls and tool
// results), tools, tool_choice and chat_template_kwargs, validated with a 400 naming the field and
// normalized into the JSON the chat template reads (tool-call arguments as objects, as Hugging
// Face templates expect).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sgl/tokenizer.hpp"

namespace sgl::server {

struct ToolChoice {
  enum class Kind { kAuto, kNone, kRequired, kNamed };
  Kind kind = Kind::kAuto;
  std::string name;  // kNamed
};

// `msgs` is the request's messages array (already known to be a non-empty array). Returns the
// normalized messages; `plain` gets role + text content of each (for logs and old callers).
nlohmann::json parse_chat_messages(const nlohmann::json& msgs, std::vector<ChatMessage>& plain);

// tools: null/absent -> empty array; else every entry {type: "function", function: {name,
// description?, parameters?: object, strict?}}.
nlohmann::json parse_tools(const nlohmann::json* tools);

// tool_choice: "auto" | "none" | "required" | {type: "function", function: {name}}; a named
// function must be among `tools`. Absent: auto (none when there are no tools).
ToolChoice parse_tool_choice(const nlohmann::json* choice, const nlohmann::json& tools);

}  // namespace sgl::server
