#include "tool_call_parser.hpp"

#include <nlohmann/json.hpp>

#include "core/support/check.hpp"

namespace sgl::server {
namespace {

using json = nlohmann::json;

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}

size_t partial_suffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

// Content mode shared by the marker formats: emits text up to `marker` (holding back a partial
// one); returns true with pos at the text after the marker once it is found.
bool scan_to_marker(std::string& buf, size_t& pos, std::string_view marker, std::string& content, bool final) {
  std::string_view rest = std::string_view(buf).substr(pos);
  size_t p = rest.find(marker);
  if (p != std::string_view::npos) {
    content.append(rest.substr(0, p));
    pos += p + marker.size();
    return true;
  }
  size_t keep = final ? 0 : partial_suffix(rest, marker);
  content.append(rest.substr(0, rest.size() - keep));
  pos += rest.size() - keep;
  return false;
}

// qwen25: <tool_call> JSON </tool_call>
class Qwen25Parser : public ToolCallParser {
  static constexpr std::string_view kOpen = "<tool_call>", kClose = "</tool_call>";
  bool in_call_ = false;
  void step(Delta& out, bool final) override {
    for (;;) {
      if (!in_call_) {
        if (!scan_to_marker(buf_, pos_, kOpen, out.content, final)) return;
        in_call_ = true;
      }
      std::string_view rest = std::string_view(buf_).substr(pos_);
      size_t p = rest.find(kClose);
      if (p == std::string_view::npos) {
        if (final) {  // an unfinished call: give it back as text
          out.content.append(kOpen).append(rest);
          pos_ = buf_.size();
        }
        return;
      }
      std::string_view body = rest.substr(0, p);
      if (!add_call(out, body)) out.content.append(kOpen).append(rest.substr(0, p + kClose.size()));
      pos_ += p + kClose.size();
      in_call_ = false;
    }
  }
};

// llama3: <|python_tag|> or a leading '{'; objects separated by ';'.
class Llama3Parser : public ToolCallParser {
  static constexpr std::string_view kTag = "<|python_tag|>";
  enum class State { kStart, kText, kCalls, kAfterCall } state_ = State::kStart;
  void step(Delta& out, bool final) override {
    for (;;) {
      std::string_view rest = std::string_view(buf_).substr(pos_);
      if (state_ == State::kStart) {
        size_t i = skip_ws(rest, 0);
        if (i == rest.size() && !final) return;
        if (i < rest.size() && rest[i] == '{') {
          pos_ += i;
          state_ = State::kCalls;
        } else {
          state_ = State::kText;
        }
        continue;
      }
      if (state_ == State::kText) {
        if (!scan_to_marker(buf_, pos_, kTag, out.content, final)) return;
        state_ = State::kCalls;
        continue;
      }
      if (state_ == State::kCalls) {
        size_t i = skip_ws(rest, 0);
        if (i == rest.size()) {
          if (final) pos_ = buf_.size();
          return;
        }
        if (rest[i] != '{') {  // not a call after all: plain text from here on
          state_ = State::kText;
          continue;
        }
        size_t n = json_extent(rest.substr(i));
        if (n == 0) {
          if (final) {
            out.content.append(rest);
            pos_ = buf_.size();
          }
          return;
        }
        if (!add_call(out, rest.substr(i, n))) out.content.append(rest.substr(i, n));
        pos_ += i + n;
        state_ = State::kAfterCall;
        continue;
      }
      // kAfterCall: ';' continues the list, anything else is text
      size_t i = skip_ws(rest, 0);
      if (i == rest.size()) {
        if (final) pos_ = buf_.size();
        return;
      }
      if (rest[i] == ';') {
        pos_ += i + 1;
        state_ = State::kCalls;
      } else {
        pos_ += i;
        state_ = State::kText;
      }
    }
  }
};

// mistral: [TOOL_CALLS] followed by a JSON array of calls (or one object).
class MistralParser : public ToolCallParser {
  static constexpr std::string_view kTag = "[TOOL_CALLS]";
  bool in_calls_ = false;
  void step(Delta& out, bool final) override {
    for (;;) {
      if (!in_calls_) {
        if (!scan_to_marker(buf_, pos_, kTag, out.content, final)) return;
        in_calls_ = true;
      }
      std::string_view rest = std::string_view(buf_).substr(pos_);
      size_t i = skip_ws(rest, 0);
      if (i == rest.size()) {
        if (final) pos_ = buf_.size();
        return;
      }
      if (rest[i] != '[' && rest[i] != '{') {
        in_calls_ = false;
        pos_ += i;
        continue;
      }
      size_t n = json_extent(rest.substr(i));
      if (n == 0) {
        if (final) {
          out.content.append(kTag).append(rest);
          pos_ = buf_.size();
        }
        return;
      }
      std::string_view text = rest.substr(i, n);
      json v = json::parse(text, nullptr, false);
      bool ok = !v.is_discarded();
      if (ok && v.is_object()) {
        ok = add_call(out, text);
      } else if (ok && v.is_array()) {
        Delta tmp;
        int saved = next_index_;
        for (const auto& e : v) ok = ok && add_call(tmp, e.dump());
        if (ok) out.calls.insert(out.calls.end(), tmp.calls.begin(), tmp.calls.end());
        else next_index_ = saved;
      } else {
        ok = false;
      }
      if (!ok) out.content.append(kTag).append(text);
      pos_ += i + n;
      in_calls_ = false;
    }
  }
};

// deepseekv3: calls between <｜tool▁calls▁begin｜> and <｜tool▁calls▁end｜>.
class DeepSeekV3Parser : public ToolCallParser {
  static constexpr std::string_view kBegin = "<｜tool▁calls▁begin｜>", kEnd = "<｜tool▁calls▁end｜>";
  static constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>", kCallEnd = "<｜tool▁call▁end｜>";
  static constexpr std::string_view kSep = "<｜tool▁sep｜>";
  bool in_calls_ = false;

  // "function<｜tool▁sep｜>NAME\n```json\n{...}\n```" -> call.
  bool parse_call(Delta& out, std::string_view body) {
    size_t s = body.find(kSep);
    if (s == std::string_view::npos) return false;
    std::string_view after = body.substr(s + kSep.size());
    size_t nl = after.find('\n');
    if (nl == std::string_view::npos) return false;
    std::string name(after.substr(0, nl));
    while (!name.empty() && is_ws(name.back())) name.pop_back();
    std::string_view args = after.substr(nl + 1);
    size_t b = args.find('{');
    size_t e = args.rfind('}');
    if (name.empty() || b == std::string_view::npos || e == std::string_view::npos || e < b) return false;
    json a = json::parse(args.substr(b, e - b + 1), nullptr, false);
    if (a.is_discarded() || !a.is_object()) return false;
    out.calls.push_back(ParsedToolCall{next_index_++, name, a.dump()});
    return true;
  }

  void step(Delta& out, bool final) override {
    for (;;) {
      if (!in_calls_) {
        if (!scan_to_marker(buf_, pos_, kBegin, out.content, final)) return;
        in_calls_ = true;
      }
      std::string_view rest = std::string_view(buf_).substr(pos_);
      size_t i = skip_ws(rest, 0);
      std::string_view r = rest.substr(i);
      if (r.substr(0, kEnd.size()) == kEnd) {
        pos_ += i + kEnd.size();
        in_calls_ = false;
        continue;
      }
      if (r.substr(0, kCallBegin.size()) == kCallBegin) {
        size_t p = r.find(kCallEnd);
        if (p == std::string_view::npos) {
          if (final) {
            out.content.append(r);
            pos_ = buf_.size();
          }
          return;
        }
        std::string_view body = r.substr(kCallBegin.size(), p - kCallBegin.size());
        if (!parse_call(out, body)) out.content.append(r.substr(0, p + kCallEnd.size()));
        pos_ += i + p + kCallEnd.size();
        continue;
      }
      // Undecided while what is there may still become one of the two markers.
      bool maybe = r.empty() || kEnd.substr(0, std::min(r.size(), kEnd.size())) == r.substr(0, std::min(r.size(), kEnd.size())) ||
                   kCallBegin.substr(0, std::min(r.size(), kCallBegin.size())) == r.substr(0, std::min(r.size(), kCallBegin.size()));
      if (maybe && !final) return;
      // Anything else ends the call region; it is plain text.
      pos_ += i;
      in_calls_ = false;
      if (final && r.empty()) return;
    }
  }
};

}  // namespace

size_t json_extent(std::string_view s) {
  if (s.empty() || (s[0] != '{' && s[0] != '[')) return 0;
  int depth = 0;
  bool in_str = false, esc = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return 0;
}

bool ToolCallParser::add_call(Delta& out, std::string_view object_text) {
  json v = json::parse(object_text, nullptr, false);
  if (v.is_discarded() || !v.is_object() || !v.contains("name") || !v["name"].is_string()) return false;
  json args = json::object();
  for (const char* k : {"arguments", "parameters"})
    if (v.contains(k)) {
      args = v[k];
      break;
    }
  if (args.is_string()) {  // some models write the arguments as a JSON string
    json inner = json::parse(args.get<std::string>(), nullptr, false);
    if (!inner.is_discarded()) args = inner;
  }
  if (!args.is_object()) return false;
  out.calls.push_back(ParsedToolCall{next_index_++, v["name"].get<std::string>(), args.dump()});
  return true;
}

ToolCallParser::Delta ToolCallParser::feed(std::string_view text) {
  Delta out;
  buf_.append(text);
  step(out, false);
  if (pos_ > 4096) {  // keep the buffer bounded by what is still undecided
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return out;
}

ToolCallParser::Delta ToolCallParser::finish() {
  Delta out;
  step(out, true);
  return out;
}

const std::vector<std::string>& ToolCallParser::names() {
  static const std::vector<std::string> n = {"qwen25", "llama3", "mistral", "deepseekv3"};
  return n;
}

std::unique_ptr<ToolCallParser> ToolCallParser::create(const std::string& name) {
  if (name == "qwen25") return std::make_unique<Qwen25Parser>();
  if (name == "llama3") return std::make_unique<Llama3Parser>();
  if (name == "mistral") return std::make_unique<MistralParser>();
  if (name == "deepseekv3") return std::make_unique<DeepSeekV3Parser>();
  SGL_THROW(Status::kInvalidArgument, "unknown tool-call parser '{}' (qwen25, llama3, mistral, deepseekv3)", name);
}

}  // namespace sgl::server
