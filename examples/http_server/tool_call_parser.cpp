#include "tool_call_parser.hpp"

#include <nlohmann/json.hpp>

#include "core/support/check.hpp"
#include "json_scanner.hpp"

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

// Whether `s` starts with `tag` (kYes), could still become it (kMaybe: s is a proper prefix of
// it), or cannot (kNo).
enum class Match { kYes, kMaybe, kNo };
Match match_at(std::string_view s, std::string_view tag) {
  if (s.substr(0, tag.size()) == tag) return Match::kYes;
  if (s.size() < tag.size() && tag.substr(0, s.size()) == s) return Match::kMaybe;
  return Match::kNo;
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

// Moves whitespace at buf[pos...] into `held`; true when a non-space byte follows.
bool hold_ws(const std::string& buf, size_t& pos, std::string& held) {
  while (pos < buf.size() && is_ws(buf[pos])) held += buf[pos++];
  return pos < buf.size();
}

}  // namespace

// The call being read: its scanner, and what of it was sent.
struct ToolCallParser::Call {
  JsonScanner scan;
  std::string known_name;    // the object is the arguments (deepseekv3, a named tool_choice)
  bool started = false;      // the first piece (name) was sent
  int index = 0;
  size_t sent = 0;           // bytes of the arguments text sent
  std::string string_args;   // "arguments" written as a JSON string: its object, compact
};

ToolCallParser::ToolCallParser() = default;
ToolCallParser::~ToolCallParser() = default;

void ToolCallParser::begin_call(std::string known_name) {
  call_ = std::make_unique<Call>();
  call_->known_name = std::move(known_name);
}

// The arguments text as far as it is decided: a prefix of the final text that only grows.
static std::string_view arguments_of(const JsonScanner& scan, const std::string& string_args, bool args_only) {
  if (args_only) return scan.compact();
  const JsonScanner::Member* a = scan.member("arguments");
  if (!a) a = scan.member("parameters");
  if (!a) return scan.status() == JsonScanner::Status::kDone ? std::string_view("{}") : std::string_view();
  std::string_view v = scan.value(*a);
  if (!v.empty() && v[0] == '{') return v;
  return string_args;
}

// The first piece goes out once the name is known and the arguments are known to be an object
// (begun with '{', a string holding one, or absent from a finished object). Decided per byte, so
// where the chunks ended cannot matter.
bool ToolCallParser::try_start(Delta& out) {
  Call& c = *call_;
  std::string name = c.known_name;
  if (name.empty()) {
    const JsonScanner::Member* n = c.scan.member("name");
    if (!n || !n->closed) return false;
    json v = json::parse(c.scan.value(*n), nullptr, false);
    if (!v.is_string() || v.get<std::string>().empty()) return false;
    const JsonScanner::Member* a = c.scan.member("arguments");
    if (!a) a = c.scan.member("parameters");
    if (a) {
      std::string_view av = c.scan.value(*a);
      if (av.empty()) return false;
      if (av[0] == '"') {  // some models write the arguments as a JSON string
        if (!a->closed) return false;
        json s = json::parse(av, nullptr, false);
        JsonScanner inner;
        for (char ch : s.get<std::string>())
          if (inner.push(ch) != JsonScanner::Status::kMore) break;
        if (inner.status() != JsonScanner::Status::kDone || inner.compact()[0] != '{') return false;
        c.string_args = inner.compact();
      } else if (av[0] != '{') {
        return false;
      }
    } else if (c.scan.status() != JsonScanner::Status::kDone) {
      return false;
    }
    name = v.get<std::string>();
  }
  c.started = true;
  c.index = next_index_++;
  out.calls.push_back(ToolCallPiece{c.index, name, ""});
  return true;
}

void ToolCallParser::send_arguments(Delta& out) {
  Call& c = *call_;
  std::string_view args = arguments_of(c.scan, c.string_args, !c.known_name.empty());
  if (args.size() <= c.sent) return;
  out.calls.push_back(ToolCallPiece{c.index, "", std::string(args.substr(c.sent))});
  c.sent = args.size();
}

ToolCallParser::CallStatus ToolCallParser::read_call(Delta& out, bool final) {
  Call& c = *call_;
  while (pos_ < buf_.size() && c.scan.status() == JsonScanner::Status::kMore) {
    if (c.scan.push(buf_[pos_]) == JsonScanner::Status::kInvalid) break;  // that byte is not the call's
    held_ += buf_[pos_++];
    if (!c.started) try_start(out);
  }
  if (c.started) send_arguments(out);
  const bool more = c.scan.status() == JsonScanner::Status::kMore && !final;
  if (more) return CallStatus::kMore;
  CallStatus st = c.started ? CallStatus::kDone : CallStatus::kNotACall;
  call_.reset();
  return st;
}

void ToolCallParser::give_back(Delta& out) {
  out.content += held_;
  held_.clear();
}

namespace {

// qwen25: <tool_call> JSON </tool_call>
class Qwen25Parser : public ToolCallParser {
  static constexpr std::string_view kOpen = "<tool_call>", kClose = "</tool_call>";
  enum class State { kContent, kOpened, kCall, kClosing } state_ = State::kContent;
  void step(Delta& out, bool final) override {
    for (;;) {
      switch (state_) {
        case State::kContent:
          if (!scan_to_marker(buf_, pos_, kOpen, out.content, final)) return;
          held_ = kOpen;
          state_ = State::kOpened;
          break;
        case State::kOpened:
          if (!hold_ws(buf_, pos_, held_)) {
            if (final) give_back(out);
            return;
          }
          if (buf_[pos_] == '{') {
            begin_call();
            state_ = State::kCall;
          } else {
            give_back(out);
            state_ = State::kContent;
          }
          break;
        case State::kCall: {
          CallStatus st = read_call(out, final);
          if (st == CallStatus::kMore) return;
          if (st == CallStatus::kNotACall) give_back(out);
          held_.clear();
          state_ = st == CallStatus::kDone ? State::kClosing : State::kContent;
          break;
        }
        case State::kClosing: {  // whitespace and the closing tag end the call; other text is content
          std::string_view rest = std::string_view(buf_).substr(pos_);
          size_t i = skip_ws(rest, 0);
          Match m = match_at(rest.substr(i), kClose);
          if (m == Match::kMaybe && !final) return;
          pos_ += i + (m == Match::kYes ? kClose.size() : 0);
          state_ = State::kContent;
          if (final && pos_ == buf_.size()) return;
          break;
        }
      }
    }
  }
};

// llama3: <|python_tag|> or a leading '{'; objects separated by ';'.
class Llama3Parser : public ToolCallParser {
  static constexpr std::string_view kTag = "<|python_tag|>";
  enum class State { kStart, kText, kBefore, kCall, kAfter } state_ = State::kStart;
  void step(Delta& out, bool final) override {
    for (;;) {
      std::string_view rest = std::string_view(buf_).substr(pos_);
      switch (state_) {
        case State::kStart: {
          size_t i = skip_ws(rest, 0);
          if (i == rest.size() && !final) return;
          if (i < rest.size() && rest[i] == '{') {
            pos_ += i;
            held_.clear();
            begin_call();
            state_ = State::kCall;
          } else {
            state_ = State::kText;
          }
          break;
        }
        case State::kText:
          if (!scan_to_marker(buf_, pos_, kTag, out.content, final)) return;
          held_ = kTag;
          state_ = State::kBefore;
          break;
        case State::kBefore:
          if (!hold_ws(buf_, pos_, held_)) {
            if (final) give_back(out);
            return;
          }
          if (buf_[pos_] == '{') {
            begin_call();
            state_ = State::kCall;
          } else {
            give_back(out);
            state_ = State::kText;
          }
          break;
        case State::kCall: {
          CallStatus st = read_call(out, final);
          if (st == CallStatus::kMore) return;
          if (st == CallStatus::kNotACall) give_back(out);
          held_.clear();
          state_ = st == CallStatus::kDone ? State::kAfter : State::kText;
          break;
        }
        case State::kAfter: {  // ';' continues the list, anything else is text
          size_t i = skip_ws(rest, 0);
          if (i == rest.size()) {
            if (final) pos_ = buf_.size();
            return;
          }
          if (rest[i] == ';') {
            held_ = rest.substr(0, i + 1);
            pos_ += i + 1;
            state_ = State::kBefore;
          } else {
            pos_ += i;
            state_ = State::kText;
          }
          break;
        }
      }
    }
  }
};

// mistral: [TOOL_CALLS] followed by a JSON array of calls (or one object). Tagless, it reads the
// array a forced tool_choice "required" makes the model write.
class ListParser : public ToolCallParser {
 public:
  explicit ListParser(bool tagless) : tagless_(tagless) {
    if (tagless) state_ = State::kOpened;
  }

 private:
  static constexpr std::string_view kTag = "[TOOL_CALLS]";
  enum class State { kContent, kOpened, kItem, kCall, kSep } state_ = State::kContent;
  bool tagless_;
  bool in_list_ = false;
  void step(Delta& out, bool final) override {
    for (;;) {
      switch (state_) {
        case State::kContent:
          if (tagless_) {
            out.content.append(buf_, pos_);
            pos_ = buf_.size();
            return;
          }
          if (!scan_to_marker(buf_, pos_, kTag, out.content, final)) return;
          held_ = kTag;
          state_ = State::kOpened;
          break;
        case State::kOpened:
        case State::kItem:
          if (!hold_ws(buf_, pos_, held_)) {
            if (final) give_back(out);
            return;
          }
          if (buf_[pos_] == '{') {
            if (state_ == State::kOpened) in_list_ = false;
            begin_call();
            state_ = State::kCall;
          } else if (buf_[pos_] == '[' && state_ == State::kOpened) {
            held_ += buf_[pos_++];
            in_list_ = true;
            state_ = State::kItem;
          } else if (buf_[pos_] == ']' && state_ == State::kItem) {
            ++pos_;
            held_.clear();
            state_ = State::kContent;
          } else {
            give_back(out);
            state_ = State::kContent;
          }
          break;
        case State::kCall: {
          CallStatus st = read_call(out, final);
          if (st == CallStatus::kMore) return;
          if (st == CallStatus::kNotACall) give_back(out);
          held_.clear();
          state_ = st == CallStatus::kDone && in_list_ ? State::kSep : State::kContent;
          break;
        }
        case State::kSep: {
          std::string_view rest = std::string_view(buf_).substr(pos_);
          size_t i = skip_ws(rest, 0);
          if (i == rest.size()) {
            if (final) pos_ = buf_.size();
            return;
          }
          pos_ += i;
          if (rest[i] == ',') {
            ++pos_;
            state_ = State::kItem;
          } else {
            if (rest[i] == ']') ++pos_;
            state_ = State::kContent;
          }
          break;
        }
      }
    }
  }
};

// A named tool_choice: the output is the function's arguments object.
class NamedParser : public ToolCallParser {
 public:
  explicit NamedParser(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
  enum class State { kStart, kCall, kContent } state_ = State::kStart;
  void step(Delta& out, bool final) override {
    for (;;) {
      if (state_ == State::kStart) {
        if (!hold_ws(buf_, pos_, held_)) {
          if (final) give_back(out);
          return;
        }
        if (buf_[pos_] == '{') {
          begin_call(name_);
          state_ = State::kCall;
        } else {
          give_back(out);
          state_ = State::kContent;
        }
      } else if (state_ == State::kCall) {
        CallStatus st = read_call(out, final);
        if (st == CallStatus::kMore) return;
        if (st == CallStatus::kNotACall) give_back(out);
        held_.clear();
        state_ = State::kContent;
      } else {
        out.content.append(buf_, pos_);
        pos_ = buf_.size();
        return;
      }
    }
  }
};

// deepseekv3: calls between <｜tool▁calls▁begin｜> and <｜tool▁calls▁end｜>, each
// <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>.
class DeepSeekV3Parser : public ToolCallParser {
  static constexpr std::string_view kBegin = "<｜tool▁calls▁begin｜>", kEnd = "<｜tool▁calls▁end｜>";
  static constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>", kCallEnd = "<｜tool▁call▁end｜>";
  static constexpr std::string_view kSep = "<｜tool▁sep｜>";
  enum class State { kContent, kRegion, kHeader, kFence, kCall, kCallTail } state_ = State::kContent;
  std::string name_;

  void step(Delta& out, bool final) override {
    for (;;) {
      std::string_view rest = std::string_view(buf_).substr(pos_);
      switch (state_) {
        case State::kContent:
          if (!scan_to_marker(buf_, pos_, kBegin, out.content, final)) return;
          state_ = State::kRegion;
          break;
        case State::kRegion: {
          size_t i = skip_ws(rest, 0);
          std::string_view r = rest.substr(i);
          Match end = match_at(r, kEnd), call = match_at(r, kCallBegin);
          if (end == Match::kYes) {
            pos_ += i + kEnd.size();
            state_ = State::kContent;
          } else if (call == Match::kYes) {
            pos_ += i + kCallBegin.size();
            held_ = kCallBegin;
            state_ = State::kHeader;
          } else if (end == Match::kMaybe || call == Match::kMaybe) {
            if (!final) return;
            pos_ = buf_.size();  // an unfinished marker at the very end
            return;
          } else {
            pos_ += i;  // anything else ends the call region; it is plain text
            state_ = State::kContent;
          }
          break;
        }
        case State::kHeader: {  // "function<｜tool▁sep｜>NAME\n"
          size_t nl = rest.find('\n');
          if (nl == std::string_view::npos) {
            if (!final) return;
            give_back(out);
            state_ = State::kContent;
            break;
          }
          std::string_view line = rest.substr(0, nl);
          size_t s = line.find(kSep);
          std::string name(s == std::string_view::npos ? std::string_view() : line.substr(s + kSep.size()));
          while (!name.empty() && is_ws(name.back())) name.pop_back();
          if (name.empty()) {
            give_back(out);
            state_ = State::kContent;
            break;
          }
          held_.append(rest.substr(0, nl + 1));
          pos_ += nl + 1;
          name_ = std::move(name);
          state_ = State::kFence;
          break;
        }
        case State::kFence: {  // "```json\n" before the arguments object
          while (pos_ < buf_.size() && std::string_view(" \t\r\n`json").find(buf_[pos_]) != std::string_view::npos)
            held_ += buf_[pos_++];
          if (pos_ == buf_.size()) {
            if (final) give_back(out);
            return;
          }
          if (buf_[pos_] == '{') {
            begin_call(name_);
            state_ = State::kCall;
          } else {
            give_back(out);
            state_ = State::kContent;
          }
          break;
        }
        case State::kCall: {
          CallStatus st = read_call(out, final);
          if (st == CallStatus::kMore) return;
          if (st == CallStatus::kNotACall) give_back(out);
          held_.clear();
          state_ = st == CallStatus::kDone ? State::kCallTail : State::kContent;
          break;
        }
        case State::kCallTail: {  // the closing fence and <｜tool▁call▁end｜>
          size_t p = rest.find(kCallEnd);
          if (p != std::string_view::npos) {
            pos_ += p + kCallEnd.size();
            state_ = State::kRegion;
            break;
          }
          pos_ += rest.size() - (final ? 0 : partial_suffix(rest, kCallEnd));
          return;
        }
      }
    }
  }
};

}  // namespace

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
  if (name == "mistral") return std::make_unique<ListParser>(false);
  if (name == "deepseekv3") return std::make_unique<DeepSeekV3Parser>();
  SGL_THROW(Status::kInvalidArgument, "unknown tool-call parser '{}' (qwen25, llama3, mistral, deepseekv3)", name);
}

std::unique_ptr<ToolCallParser> ToolCallParser::create_forced(const std::string& name) {
  if (name.empty()) return std::make_unique<ListParser>(true);
  return std::make_unique<NamedParser>(name);
}

}  // namespace sgl::server
