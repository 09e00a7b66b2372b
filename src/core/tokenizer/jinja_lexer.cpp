#include "core/tokenizer/jinja_lexer.hpp"

#include <charconv>
#include <cstring>

#include "core/support/check.hpp"

namespace sgl::jinja {

std::string describe_position(std::string_view source, size_t offset) {
  if (offset > source.size()) offset = source.size();
  size_t line = 1, col = 1;
  for (size_t k = 0; k < offset; ++k) {
    if (source[k] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

void throw_syntax_error(std::string_view source, size_t offset, const std::string& msg) {
  throw Error(Status::kParseError,
              "chat template syntax error at " + describe_position(source, offset) + " (byte " +
                  std::to_string(offset) + "): " + msg,
              static_cast<int64_t>(offset));
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Template text keeps its bytes, except that line endings become "\n" as Jinja does.
std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '\r') {
      out += '\n';
      if (k + 1 < s.size() && s[k + 1] == '\n') ++k;
    } else {
      out += s[k];
    }
  }
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& opts) : src_(src), opts_(opts) {
    if (!opts_.keep_trailing_newline) {
      if (src_.ends_with("\r\n")) src_.remove_suffix(2);
      else if (src_.ends_with("\n") || src_.ends_with("\r")) src_.remove_suffix(1);
    }
  }

  std::vector<Token> run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      size_t tag = find_tag(pos);
      std::string_view text = src_.substr(pos, tag - pos);
      if (strip_next_) {
        while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
        strip_next_ = false;
      }
      if (tag < src_.size()) {
        char type = src_[tag + 1];
        char mod = tag + 2 < src_.size() ? src_[tag + 2] : 0;
        if (mod == '-') {
          while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
        } else if (mod != '+' && type != '{' && opts_.lstrip_blocks) {
          size_t nl = text.rfind('\n');
          size_t start = nl == std::string_view::npos ? 0 : nl + 1;
          if (nl != std::string_view::npos || line_starting_) {
            bool blank = true;
            for (size_t k = start; k < text.size(); ++k)
              if (text[k] != ' ' && text[k] != '\t') blank = false;
            if (blank) text = text.substr(0, start);
          }
        }
      }
      if (!text.empty()) push_text(std::string(text), pos);
      if (tag >= src_.size()) break;
      pos = lex_tag(tag);
    }
    Token eof;
    eof.kind = Token::Kind::kEof;
    eof.pos = src_.size();
    toks_.push_back(eof);
    return std::move(toks_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t k = from; k + 1 < src_.size(); ++k) {
      if (src_[k] == '{' && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#')) return k;
    }
    return src_.size();
  }

  void push_text(std::string text, size_t pos) {
    Token t;
    t.kind = Token::Kind::kText;
    t.text = normalize_newlines(text);
    t.pos = pos;
    toks_.push_back(std::move(t));
  }

  void push(Token::Kind kind, std::string text, size_t pos) {
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    t.pos = pos;
    toks_.push_back(std::move(t));
  }

  // After a block or comment end: trim_blocks drops one newline. Returns the new position.
  size_t after_block_end(size_t pos, char mod) {
    line_starting_ = false;
    if (mod == '-') {
      strip_next_ = true;
      return pos;
    }
    if (mod != '+' && opts_.trim_blocks) {
      if (src_.substr(pos).starts_with("\r\n")) {
        line_starting_ = true;
        return pos + 2;
      }
      if (pos < src_.size() && (src_[pos] == '\n' || src_[pos] == '\r')) {
        line_starting_ = true;
        return pos + 1;
      }
    }
    return pos;
  }

  size_t lex_tag(size_t tag) {
    char type = src_[tag + 1];
    size_t pos = tag + 2;
    if (pos < src_.size() && (src_[pos] == '-' || src_[pos] == '+')) ++pos;
    if (type == '#') {
      size_t end = src_.find("#}", pos);
      if (end == std::string_view::npos) throw_syntax_error(src_, tag, "unterminated comment '{#'");
      char mod = end > pos && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
      return after_block_end(end + 2, mod);
    }
    bool block = type == '%';
    size_t first_tok = toks_.size() + 1;
    push(block ? Token::Kind::kBlockBegin : Token::Kind::kVarBegin, "", tag);
    for (;;) {
      while (pos < src_.size() && is_space(src_[pos])) ++pos;
      if (pos >= src_.size())
        throw_syntax_error(src_, tag, block ? "unterminated block tag '{%'" : "unterminated expression '{{'");
      std::string_view rest = src_.substr(pos);
      const char* close = block ? "%}" : "}}";
      char mod = 0;
      size_t len = 0;
      if (rest.starts_with(close)) len = 2;
      else if ((rest[0] == '-' || rest[0] == '+') && rest.substr(1).starts_with(close)) mod = rest[0], len = 3;
      if (len) {
        push(block ? Token::Kind::kBlockEnd : Token::Kind::kVarEnd, "", pos);
        pos += len;
        if (!block) {
          line_starting_ = false;
          if (mod == '-') strip_next_ = true;
          return pos;
        }
        if (toks_.size() == first_tok + 2 && toks_[first_tok].kind == Token::Kind::kName &&
            toks_[first_tok].text == "raw")
          return lex_raw(tag, pos, mod);
        return after_block_end(pos, mod);
      }
      if (!block && rest.starts_with("%}")) throw_syntax_error(src_, pos, "expected '}}' to close '{{', found '%}'");
      if (block && rest.starts_with("}}")) throw_syntax_error(src_, pos, "expected '%}' to close '{%', found '}}'");
      pos = lex_expr_token(pos);
    }
  }

  // `{% raw %}` was just closed at `pos`; its body runs to the matching `{% endraw %}`.
  size_t lex_raw(size_t tag, size_t pos, char begin_mod) {
    toks_.resize(toks_.size() - 3);  // drop BlockBegin, Name(raw), BlockEnd
    size_t search = pos;
    for (;;) {
      size_t open = src_.find("{%", search);
      if (open == std::string_view::npos) throw_syntax_error(src_, tag, "'{% raw %}' without '{% endraw %}'");
      size_t k = open + 2;
      char open_mod = 0;
      if (k < src_.size() && (src_[k] == '-' || src_[k] == '+')) open_mod = src_[k++];
      while (k < src_.size() && is_space(src_[k])) ++k;
      if (src_.substr(k).starts_with("endraw")) {
        k += 6;
        while (k < src_.size() && is_space(src_[k])) ++k;
        char end_mod = 0;
        if (k < src_.size() && (src_[k] == '-' || src_[k] == '+')) end_mod = src_[k++];
        if (src_.substr(k).starts_with("%}")) {
          std::string_view body = src_.substr(pos, open - pos);
          if (begin_mod == '-')
            while (!body.empty() && is_space(body.front())) body.remove_prefix(1);
          if (open_mod == '-')
            while (!body.empty() && is_space(body.back())) body.remove_suffix(1);
          if (!body.empty()) push_text(std::string(body), pos);
          return after_block_end(k + 2, end_mod);
        }
      }
      search = open + 2;
    }
  }

  size_t lex_expr_token(size_t pos) {
    char c = src_[pos];
    if (is_name_start(c)) {
      size_t e = pos;
      while (e < src_.size() && is_name_char(src_[e])) ++e;
      push(Token::Kind::kName, std::string(src_.substr(pos, e - pos)), pos);
      return e;
    }
    if (is_digit(c)) return lex_number(pos);
    if (c == '\'' || c == '"') return lex_string(pos);
    static const char* const kOps2[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kOps2) {
      if (src_.substr(pos).starts_with(op)) {
        push(Token::Kind::kOp, op, pos);
        return pos + 2;
      }
    }
    if (c != 0 && std::strchr("+-*/%~<>=.,:|()[]{}", c)) {
      push(Token::Kind::kOp, std::string(1, c), pos);
      return pos + 1;
    }
    std::string shown = (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f)
                            ? std::string("'") + c + "'"
                            : "byte " + std::to_string(static_cast<unsigned char>(c));
    throw_syntax_error(src_, pos, "unexpected character " + shown + " in tag");
  }

  size_t lex_number(size_t pos) {
    size_t e = pos;
    auto digits = [&] {
      while (e < src_.size() && (is_digit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && is_digit(src_[e + 1])))) ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
      is_float = true;
      ++e;
      digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t k = e + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        e = k;
        digits();
      }
    }
    std::string text;
    for (size_t k = pos; k < e; ++k)
      if (src_[k] != '_') text += src_[k];
    Token t;
    t.pos = pos;
    t.text = text;
    if (is_float) {
      t.kind = Token::Kind::kFloat;
      auto r = std::from_chars(text.data(), text.data() + text.size(), t.f);
      if (r.ec != std::errc()) throw_syntax_error(src_, pos, "bad float literal '" + text + "'");
    } else {
      t.kind = Token::Kind::kInt;
      auto r = std::from_chars(text.data(), text.data() + text.size(), t.i);
      if (r.ec != std::errc()) throw_syntax_error(src_, pos, "integer literal out of range '" + text + "'");
    }
    toks_.push_back(std::move(t));
    return e;
  }

  size_t lex_string(size_t pos) {
    char q = src_[pos];
    std::string out;
    size_t k = pos + 1;
    for (;;) {
      if (k >= src_.size()) throw_syntax_error(src_, pos, "unterminated string literal");
      char c = src_[k];
      if (c == q) break;
      if (c == '\r') {  // source line endings inside literals become "\n", as in text
        out += '\n';
        k += (k + 1 < src_.size() && src_[k + 1] == '\n') ? 2 : 1;
        continue;
      }
      if (c != '\\') {
        out += c;
        ++k;
        continue;
      }
      if (k + 1 >= src_.size()) throw_syntax_error(src_, pos, "unterminated string literal");
      char e = src_[k + 1];
      k += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          if (k + n > src_.size()) throw_syntax_error(src_, k - 2, "truncated \\" + std::string(1, e) + " escape");
          auto r = std::from_chars(src_.data() + k, src_.data() + k + n, cp, 16);
          if (r.ec != std::errc() || r.ptr != src_.data() + k + n || cp > 0x10ffff)
            throw_syntax_error(src_, k - 2, "bad \\" + std::string(1, e) + " escape");
          append_utf8(out, cp);
          k += n;
          break;
        }
        default:  // Python keeps unknown escapes as written
          out += '\\';
          out += e;
      }
    }
    push(Token::Kind::kString, std::move(out), pos);
    return k + 1;
  }

  std::string_view src_;
  LexOptions opts_;
  std::vector<Token> toks_;
  bool strip_next_ = false;
  bool line_starting_ = true;
};

}  // namespace

std::vector<Token> lex(std::string_view source, const LexOptions& opts) { return Lexer(source, opts).run(); }

}  // namespace sgl::jinja
