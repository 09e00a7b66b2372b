#include "chat_fields.hpp"

#include <fmt/format.h>

#include "api_error.hpp"
#include "json_fields.hpp"

namespace sgl::server {
namespace {

constexpr size_t kMaxTools = 128;

// Text content: a string, or an array of {type: "text", text} parts joined.
std::string text_content(const json& c, const std::string& where) {
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) bad_field(where, where + " must be a string or an array of text parts");
  std::string out;
  for (size_t k = 0; k < c.size(); ++k) {
    const json& part = c[k];
    std::string pw = fmt::format("{}[{}]", where, k);
    if (!part.is_object()) bad_field(pw, pw + " must be an object");
    std::string ptype = get_string(part, "type", pw + ".type", 64).value_or("");
    if (ptype != "text") bad_field(pw + ".type", fmt::format("{}.type '{}' is not supported (only text)", pw, ptype));
    auto t = get_string(part, "text", pw + ".text");
    if (!t) bad_field(pw + ".text", pw + ".text is required");
    out += *t;
  }
  return out;
}

json parse_tool_calls(const json& calls, const std::string& where) {
  if (!calls.is_array()) bad_field(where, where + " must be an array");
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    std::string w = fmt::format("{}[{}]", where, i);
    if (!c.is_object()) bad_field(w, w + " must be an object");
    const json* f = field(c, "function");
    if (!f || !f->is_object()) bad_field(w + ".function", w + ".function must be an object");
    auto name = get_string(*f, "name", w + ".function.name", 256);
    if (!name || name->empty()) bad_field(w + ".function.name", w + ".function.name is required");
    json args = json::object();
    if (const json* a = field(*f, "arguments")) {
      if (a->is_string()) {
        // Templates print arguments with `| tojson`, expecting the object (as SGLang passes it).
        args = json::parse(a->get<std::string>(), nullptr, false);
        if (args.is_discarded()) bad_field(w + ".function.arguments", w + ".function.arguments is not valid JSON");
      } else if (a->is_object()) {
        args = *a;
      } else {
        bad_field(w + ".function.arguments", w + ".function.arguments must be a JSON string or an object");
      }
    }
    json call = {{"type", "function"}, {"function", {{"name", *name}, {"arguments", args}}}};
    if (auto id = get_string(c, "id", w + ".id", 256)) call["id"] = *id;
    out.push_back(std::move(call));
  }
  return out;
}

}  // namespace

json parse_chat_messages(const json& msgs, std::vector<ChatMessage>& plain) {
  json out = json::array();
  for (size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) bad_field(where, where + " must be an object");
    std::string role = get_string(m, "role", where + ".role", 64).value_or("");
    if (role.empty()) bad_field(where + ".role", where + ".role is required");
    if (role == "developer") role = "system";  // OpenAI's newer name for the system role
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      bad_field(where + ".role", fmt::format("{}.role must be system, user, assistant or tool (got '{}')", where, role));
    json nm = {{"role", role}};
    const json* c = field(m, "content");
    const json* calls = role == "assistant" ? field(m, "tool_calls") : nullptr;
    std::string content;
    if (c) {
      content = text_content(*c, where + ".content");
      nm["content"] = content;
    } else if (calls) {
      nm["content"] = nullptr;  // an assistant turn that only calls tools
    } else {
      bad_field(where + ".content", where + ".content is required");
    }
    if (calls) nm["tool_calls"] = parse_tool_calls(*calls, where + ".tool_calls");
    if (role == "tool") {
      if (auto id = get_string(m, "tool_call_id", where + ".tool_call_id", 256)) nm["tool_call_id"] = *id;
    }
    if (auto name = get_string(m, "name", where + ".name", 256)) nm["name"] = *name;
    if (role == "assistant")
      if (auto rc = get_string(m, "reasoning_content", where + ".reasoning_content")) nm["reasoning_content"] = *rc;
    plain.push_back(ChatMessage{role, content});
    out.push_back(std::move(nm));
  }
  return out;
}

json parse_tools(const json* tools) {
  json out = json::array();
  if (!tools) return out;
  if (!tools->is_array()) bad_field("tools", "tools must be an array");
  if (tools->size() > kMaxTools) bad_field("tools", fmt::format("tools has more than {} entries", kMaxTools));
  for (size_t i = 0; i < tools->size(); ++i) {
    const json& t = (*tools)[i];
    std::string w = fmt::format("tools[{}]", i);
    if (!t.is_object()) bad_field(w, w + " must be an object");
    std::string type = get_string(t, "type", w + ".type", 64).value_or("function");
    if (type != "function") bad_field(w + ".type", fmt::format("{}.type must be \"function\" (got '{}')", w, type));
    const json* f = field(t, "function");
    if (!f || !f->is_object()) bad_field(w + ".function", w + ".function is required and must be an object");
    auto name = get_string(*f, "name", w + ".function.name", 256);
    if (!name || name->empty()) bad_field(w + ".function.name", w + ".function.name is required");
    json fn = {{"name", *name}};
    if (auto d = get_string(*f, "description", w + ".function.description")) fn["description"] = *d;
    if (const json* p = field(*f, "parameters")) {
      if (!p->is_object()) bad_field(w + ".function.parameters", w + ".function.parameters must be a JSON schema object");
      fn["parameters"] = *p;
    }
    if (auto s = get_bool(*f, "strict", w + ".function.strict")) fn["strict"] = *s;
    for (const auto& prev : out)
      if (prev["function"]["name"] == *name) bad_field(w + ".function.name", fmt::format("tool name '{}' is given twice", *name));
    out.push_back({{"type", "function"}, {"function", std::move(fn)}});
  }
  return out;
}

ToolChoice parse_tool_choice(const json* choice, const json& tools) {
  ToolChoice tc;
  if (!choice) {
    tc.kind = tools.empty() ? ToolChoice::Kind::kNone : ToolChoice::Kind::kAuto;
    return tc;
  }
  if (choice->is_string()) {
    std::string s = choice->get<std::string>();
    if (s == "auto") tc.kind = ToolChoice::Kind::kAuto;
    else if (s == "none") tc.kind = ToolChoice::Kind::kNone;
    else if (s == "required") tc.kind = ToolChoice::Kind::kRequired;
    else bad_field("tool_choice", fmt::format("tool_choice must be auto, none, required or a function object (got '{}')", s));
  } else if (choice->is_object()) {
    const json* f = field(*choice, "function");
    auto name = f && f->is_object() ? get_string(*f, "name", "tool_choice.function.name", 256) : std::nullopt;
    if (!name) bad_field("tool_choice.function.name", "tool_choice.function.name is required");
    tc.kind = ToolChoice::Kind::kNamed;
    tc.name = *name;
    bool found = false;
    for (const auto& t : tools) found |= t["function"]["name"] == *name;
    if (!found) bad_field("tool_choice", fmt::format("tool_choice names '{}', which is not among tools", *name));
  } else {
    bad_field("tool_choice", "tool_choice must be a string or an object");
  }
  if ((tc.kind == ToolChoice::Kind::kRequired) && tools.empty())
    bad_field("tool_choice", "tool_choice \"required\" needs at least one tool");
  return tc;
}

}  // namespace sgl::server
