#include "core/grammar/ebnf.hpp"

#include <fmt/format.h>

#include "core/grammar/utf8_ranges.hpp"
#include "sgl/error.hpp"

namespace sgl::grammar {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

class EbnfParser {
 public:
  explicit EbnfParser(std::string_view s) : s_(s) {}

  Grammar run(const std::string& root) {
    skip_ws();
    while (i_ < s_.size()) {
      size_t at = i_;
      std::string name = parse_name();
      if (name.empty()) fail("expected a rule name", at);
      skip_ws();
      if (!eat_define()) fail(fmt::format("expected '::=' after rule name '{}'", name), i_);
      uint32_t id = b_.declare(name, static_cast<int64_t>(at));
      if (b_.defined(id)) fail(fmt::format("rule '{}' is defined twice", name), at);
      Expr body = parse_alt(0);
      b_.define(id, std::move(body));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ')') fail("unbalanced ')'", i_);
      if (i_ < s_.size() && !starts_rule()) fail("unexpected character", i_);
    }
    auto r = b_.find(root);
    if (!r || !b_.defined(*r))
      throw Error(Status::kParseError, fmt::format("ebnf: the grammar has no '{}' rule", root), 0);
    try {
      return b_.build(*r);
    } catch (const Error& e) {
      if (e.offset() >= 0)
        throw Error(e.code(), fmt::format("ebnf: {} ({})", e.what(), where(e.offset())), e.offset());
      throw;
    }
  }

 private:
  std::string where(size_t at) const {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < at && k < s_.size(); ++k) {
      if (s_[k] == '\n') ++line, col = 1;
      else ++col;
    }
    return fmt::format("line {}:{}", line, col);
  }
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw Error(Status::kParseError, fmt::format("ebnf: {} at {} (offset {})", what, where(at), at),
                static_cast<int64_t>(at));
  }

  void skip_ws() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i_;
      } else if (c == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    size_t st = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    return std::string(s_.substr(st, i_ - st));
  }

  bool eat_define() {
    if (s_.substr(i_, 3) == "::=") {
      i_ += 3;
      return true;
    }
    if (i_ < s_.size() && s_[i_] == '=' && s_.substr(i_, 2) != "==") {
      ++i_;
      return true;
    }
    return false;
  }

  // Lookahead: does a `name ::=` start here?
  bool starts_rule() {
    size_t save = i_;
    std::string n = parse_name();
    bool yes = false;
    if (!n.empty()) {
      skip_ws();
      yes = s_.substr(i_, 3) == "::=" || (i_ < s_.size() && s_[i_] == '=' && s_.substr(i_, 2) != "==");
    }
    i_ = save;
    return yes;
  }

  Expr parse_alt(int depth) {
    if (depth > 200) fail("parentheses nested too deeply", i_);
    std::vector<Expr> alts;
    alts.push_back(parse_seq(depth));
    skip_ws();
    while (i_ < s_.size() && s_[i_] == '|') {
      ++i_;
      alts.push_back(parse_seq(depth));
      skip_ws();
    }
    return Expr::alt(std::move(alts));
  }

  Expr parse_seq(int depth) {
    std::vector<Expr> items;
    for (;;) {
      skip_ws();
      if (i_ >= s_.size()) break;
      char c = s_[i_];
      if (c == '|' || c == ')') break;
      if (name_char(c) && starts_rule()) break;
      Expr atom = parse_atom(depth);
      items.push_back(parse_postfix(std::move(atom)));
    }
    return Expr::seq(std::move(items));
  }

  uint32_t number(size_t at) {
    size_t st = i_;
    uint64_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      v = v * 10 + (s_[i_++] - '0');
      if (v > 1000000) fail("repetition bound too large", at);
    }
    if (i_ == st) fail("expected a number in {m,n}", i_);
    return static_cast<uint32_t>(v);
  }

  Expr parse_postfix(Expr atom) {
    for (;;) {
      if (i_ >= s_.size()) return atom;
      char c = s_[i_];
      size_t at = i_;
      if (c == '*') {
        ++i_;
        atom = Expr::star(std::move(atom));
      } else if (c == '+') {
        ++i_;
        atom = Expr::plus(std::move(atom));
      } else if (c == '?') {
        ++i_;
        atom = Expr::opt(std::move(atom));
      } else if (c == '{') {
        ++i_;
        skip_ws();
        uint32_t m = number(at), n = m;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          skip_ws();
          if (i_ < s_.size() && s_[i_] == '}') n = kUnbounded;
          else n = number(at);
          skip_ws();
        }
        if (i_ >= s_.size() || s_[i_] != '}') fail("expected '}' to close {m,n}", at);
        ++i_;
        if (n != kUnbounded && m > n) fail("repetition {m,n} with m > n", at);
        atom = Expr::repeat(std::move(atom), m, n);
      } else {
        return atom;
      }
    }
  }

  uint32_t hex(size_t digits, size_t at) {
    uint32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      if (i_ >= s_.size()) fail("truncated escape", at);
      char h = s_[i_++];
      int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
              : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
      if (d < 0) fail("invalid hex digit in escape", at);
      v = v * 16 + static_cast<uint32_t>(d);
    }
    if (v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF)) fail("escape is not a Unicode scalar value", at);
    return v;
  }

  // One character of a string or class (after escapes), as a code point.
  uint32_t parse_char(size_t open_at, char close) {
    if (i_ >= s_.size()) fail(fmt::format("missing closing '{}'", close), open_at);
    size_t at = i_;
    if (s_[i_] == '\\') {
      ++i_;
      if (i_ >= s_.size()) fail("truncated escape", at);
      char c = s_[i_++];
      switch (c) {
        case 'n': return '\n';
        case 't': return '\t';
        case 'r': return '\r';
        case 'f': return '\f';
        case 'v': return '\v';
        case '0': return 0;
        case 'x': return hex(2, at);
        case 'u': return hex(4, at);
        case 'U': return hex(8, at);
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/':
          return static_cast<uint8_t>(c);
        default: fail(fmt::format("unknown escape \\{}", c), at);
      }
    }
    uint32_t cp;
    if (!decode_utf8(s_, i_, cp)) fail("invalid UTF-8", at);
    return cp;
  }

  Expr parse_atom(int depth) {
    size_t at = i_;
    char c = s_[i_];
    if (c == '"' || c == '\'') {
      ++i_;
      std::string bytes;
      while (true) {
        if (i_ >= s_.size()) fail("unterminated string", at);
        if (s_[i_] == c) {
          ++i_;
          break;
        }
        if (s_[i_] == '\n') fail("newline inside a string", at);
        append_utf8(bytes, parse_char(at, c));
      }
      return bytes.empty() ? Expr::empty() : Expr::literal(bytes);
    }
    if (c == '[') {
      ++i_;
      bool neg = false;
      if (i_ < s_.size() && s_[i_] == '^') neg = true, ++i_;
      CpSet set;
      while (true) {
        if (i_ >= s_.size()) fail("missing ']' for the class", at);
        if (s_[i_] == ']') {
          ++i_;
          break;
        }
        uint32_t lo = parse_char(at, ']'), hi = lo;
        if (i_ + 1 < s_.size() && s_[i_] == '-' && s_[i_ + 1] != ']') {
          ++i_;
          hi = parse_char(at, ']');
          if (hi < lo) fail("class range out of order", at);
        }
        set.push_back({lo, hi});
      }
      set = normalize(std::move(set));
      if (neg) set = complement(set);
      if (set.empty()) fail("character class matches nothing", at);
      return utf8_expr(set);
    }
    if (c == '.') {
      ++i_;
      return utf8_expr(complement({}));
    }
    if (c == '(') {
      ++i_;
      skip_ws();
      if (i_ < s_.size() && s_[i_] == '=') fail("lookahead assertions (= ...) are not supported", at);
      Expr inner = parse_alt(depth + 1);
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ')') fail("missing ')' for the group", at);
      ++i_;
      return inner;
    }
    if (name_char(c)) {
      std::string name = parse_name();
      return Expr::ref(b_.declare(name, static_cast<int64_t>(at)));
    }
    fail(fmt::format("unexpected character '{}'", c), at);
  }

  std::string_view s_;
  size_t i_ = 0;
  GrammarBuilder b_;
};

}  // namespace

Grammar ebnf_to_grammar(std::string_view source, const std::string& root) {
  return EbnfParser(source).run(root);
}

}  // namespace sgl::grammar
