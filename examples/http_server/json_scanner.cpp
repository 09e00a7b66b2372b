#include "json_scanner.hpp"

namespace sgl::server {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

JsonScanner::Status JsonScanner::push(char c) {
  if (status_ != Status::kMore) return status_;
  if (!step(c)) status_ = Status::kInvalid;
  return status_;
}

const JsonScanner::Member* JsonScanner::member(std::string_view key) const {
  for (size_t i = members_.size(); i-- > 0;)
    if (members_[i].key == key) return &members_[i];
  return nullptr;
}

std::string_view JsonScanner::value(const Member& m) const {
  if (!m.begun) return {};
  size_t end = m.closed ? m.value_end : out_.size();
  return std::string_view(out_).substr(m.value_begin, end - m.value_begin);
}

bool JsonScanner::begin_value(char c) {
  // A value directly inside the top-level object is a member's value (the key came first).
  if (in_top_object() && !members_.empty()) {
    members_.back().value_begin = out_.size();
    members_.back().begun = true;
  }
  switch (c) {
    case '{':
      out_ += c;
      stack_ += c;
      state_ = State::kKeyOrEnd;
      return true;
    case '[':
      out_ += c;
      stack_ += c;
      state_ = State::kValueOrEnd;
      return true;
    case '"':
      out_ += c;
      string_is_key_ = false;
      state_ = State::kString;
      return true;
    case 't': literal_ = "rue"; break;
    case 'f': literal_ = "alse"; break;
    case 'n': literal_ = "ull"; break;
    case '-':
      out_ += c;
      state_ = State::kNumMinus;
      return true;
    default:
      if (!is_digit(c)) return false;
      out_ += c;
      state_ = c == '0' ? State::kNumZero : State::kNumInt;
      return true;
  }
  out_ += c;
  state_ = State::kLiteral;
  return true;
}

void JsonScanner::end_value() {
  if (stack_.empty()) {
    status_ = Status::kDone;
    return;
  }
  if (in_top_object() && !members_.empty() && !members_.back().closed) {
    members_.back().value_end = out_.size();
    members_.back().closed = true;
  }
  state_ = State::kCommaOrEnd;
}

bool JsonScanner::step(char c) {
  const bool ws = is_ws(c);
  auto close = [&] {
    out_ += c;
    stack_.pop_back();
    end_value();
    return true;
  };
  // A number ends at the first byte that cannot continue it; that byte is then read again.
  auto end_number = [&] {
    end_value();
    return status_ == Status::kDone || step(c);
  };
  switch (state_) {
    case State::kStart:
      if (ws) return true;
      return (c == '{' || c == '[') && begin_value(c);
    case State::kValue:
      if (ws) return true;
      return begin_value(c);
    case State::kValueOrEnd:
      if (ws) return true;
      if (c == ']') return close();
      return begin_value(c);
    case State::kKeyOrEnd:
    case State::kKey:
      if (ws) return true;
      if (c == '}' && state_ == State::kKeyOrEnd) return close();
      if (c != '"') return false;
      out_ += c;
      string_is_key_ = true;
      key_.clear();
      state_ = State::kString;
      return true;
    case State::kColon:
      if (ws) return true;
      if (c != ':') return false;
      out_ += c;
      state_ = State::kValue;
      return true;
    case State::kCommaOrEnd:
      if (ws) return true;
      if (c == ',') {
        out_ += c;
        state_ = stack_.back() == '{' ? State::kKey : State::kValue;
        return true;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) return close();
      return false;
    case State::kString:
      if (static_cast<unsigned char>(c) < 0x20) return false;  // control bytes must be escaped
      out_ += c;
      if (c == '\\') {
        state_ = State::kEscape;
      } else if (c == '"') {
        if (!string_is_key_) {
          end_value();
        } else {
          if (in_top_object()) members_.push_back(Member{key_});
          state_ = State::kColon;
        }
      } else if (string_is_key_) {
        key_ += c;
      }
      return true;
    case State::kEscape:
      if (c == 'u') {
        unicode_left_ = 4;
        state_ = State::kUnicode;
      } else if (std::string_view("\"\\/bfnrt").find(c) != std::string_view::npos) {
        state_ = State::kString;
      } else {
        return false;
      }
      out_ += c;
      if (string_is_key_) key_.append("\\").push_back(c);
      return true;
    case State::kUnicode:
      if (!is_hex(c)) return false;
      out_ += c;
      if (string_is_key_) key_ += c;
      if (--unicode_left_ == 0) state_ = State::kString;
      return true;
    case State::kLiteral:
      if (c != literal_[0]) return false;
      out_ += c;
      literal_.remove_prefix(1);
      if (literal_.empty()) end_value();
      return true;
    case State::kNumMinus:
      if (!is_digit(c)) return false;
      out_ += c;
      state_ = c == '0' ? State::kNumZero : State::kNumInt;
      return true;
    case State::kNumZero:
    case State::kNumInt:
    case State::kNumFrac:
      if (is_digit(c) && state_ != State::kNumZero) {
        out_ += c;
        return true;
      }
      if (c == '.' && state_ != State::kNumFrac) {
        out_ += c;
        state_ = State::kNumDot;
        return true;
      }
      if (c == 'e' || c == 'E') {
        out_ += c;
        state_ = State::kNumE;
        return true;
      }
      return end_number();
    case State::kNumDot:
      if (!is_digit(c)) return false;
      out_ += c;
      state_ = State::kNumFrac;
      return true;
    case State::kNumE:
      if (c == '+' || c == '-') {
        out_ += c;
        state_ = State::kNumESign;
        return true;
      }
      [[fallthrough]];
    case State::kNumESign:
      if (!is_digit(c)) return false;
      out_ += c;
      state_ = State::kNumExp;
      return true;
    case State::kNumExp:
      if (is_digit(c)) {
        out_ += c;
        return true;
      }
      return end_number();
  }
  return false;
}

}  // namespace sgl::server
