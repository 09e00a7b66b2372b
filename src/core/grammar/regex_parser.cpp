// Recursive-descent regex parser (alternation > concatenation > quantified atom).
#include "core/grammar/regex_parser.hpp"

#include <fmt/format.h>

#include "core/grammar/utf8_ranges.hpp"
#include "sgl/error.hpp"

namespace sgl::grammar {
namespace {

CpSet digit_set() { return {{'0', '9'}}; }
CpSet word_set() { return normalize({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}); }
CpSet space_set() { return normalize({{'\t', '\r'}, {' ', ' '}}); }

class Parser {
 public:
  Parser(std::string_view p, uint32_t max_repeat) : p_(p), max_repeat_(max_repeat) {}

  ParsedRegex run() {
    ParsedRegex r;
    if (!p_.empty() && p_[0] == '^') {
      r.anchored_start = true;
      ++i_;
    }
    r.expr = parse_alt(0);
    if (i_ < p_.size()) {
      if (p_[i_] == ')') fail("unbalanced ')'", i_);
      fail("unexpected character", i_);
    }
    r.anchored_end = anchored_end_;
    return r;
  }

 private:
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw Error(Status::kParseError, fmt::format("regex: {} at offset {}", what, at),
                static_cast<int64_t>(at));
  }

  bool eof() const { return i_ >= p_.size(); }
  char peek() const { return p_[i_]; }

  Expr parse_alt(int depth) {
    if (depth > 200) fail("groups nested too deeply", i_);
    std::vector<Expr> alts;
    alts.push_back(parse_seq(depth));
    while (!eof() && peek() == '|') {
      ++i_;
      alts.push_back(parse_seq(depth));
    }
    return Expr::alt(std::move(alts));
  }

  Expr parse_seq(int depth) {
    std::vector<Expr> items;
    while (!eof() && peek() != '|' && peek() != ')') {
      if (peek() == '$') {
        size_t at = i_;
        ++i_;
        if (!eof() || depth != 0) fail("anchor '$' is only supported at the end of the pattern", at);
        anchored_end_ = true;
        break;
      }
      if (peek() == '^') fail("anchor '^' is only supported at the start of the pattern", i_);
      size_t atom_at = i_;
      Expr atom = parse_atom(depth);
      atom = parse_quantifiers(std::move(atom), atom_at);
      items.push_back(std::move(atom));
    }
    return Expr::seq(std::move(items));
  }

  // Returns true and fills m/n if a well-formed {m}, {m,}, {m,n} starts at i_.
  bool counted(size_t& j, uint32_t& m, uint32_t& n) {
    j = i_ + 1;
    auto num = [&](uint64_t& v) {
      size_t s = j;
      v = 0;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') {
        v = v * 10 + (p_[j] - '0');
        if (v > 1000000) v = 1000000;
        ++j;
      }
      return j > s;
    };
    uint64_t a = 0, b = 0;
    if (!num(a)) return false;
    if (j < p_.size() && p_[j] == '}') {
      m = n = static_cast<uint32_t>(a);
      ++j;
      return true;
    }
    if (j >= p_.size() || p_[j] != ',') return false;
    ++j;
    if (j < p_.size() && p_[j] == '}') {
      m = static_cast<uint32_t>(a);
      n = kUnbounded;
      ++j;
      return true;
    }
    if (!num(b) || j >= p_.size() || p_[j] != '}') return false;
    ++j;
    m = static_cast<uint32_t>(a);
    n = static_cast<uint32_t>(b);
    return true;
  }

  Expr parse_quantifiers(Expr atom, size_t atom_at) {
    bool quantified = false;
    while (!eof()) {
      char c = peek();
      uint32_t m, n;
      size_t at = i_;
      if (c == '*') {
        m = 0, n = kUnbounded, ++i_;
      } else if (c == '+') {
        m = 1, n = kUnbounded, ++i_;
      } else if (c == '?') {
        m = 0, n = 1, ++i_;
      } else if (c == '{') {
        size_t j;
        if (!counted(j, m, n)) break;  // a literal '{', as Python treats it
        if (n != kUnbounded && m > n) fail("repetition {m,n} with m > n", at);
        if (m > max_repeat_ || (n != kUnbounded && n > max_repeat_))
          fail(fmt::format("repetition bound above the limit of {}", max_repeat_), at);
        i_ = j;
      } else {
        break;
      }
      if (quantified) fail("nothing to repeat (a quantifier follows a quantifier)", at);
      quantified = true;
      // Lazy forms match the same language under full-match semantics.
      if (!eof() && peek() == '?') ++i_;
      else if (!eof() && peek() == '+') fail("possessive quantifiers are not supported", i_);
      atom = Expr::repeat(std::move(atom), m, n);
    }
    (void)atom_at;
    return atom;
  }

  Expr parse_atom(int depth) {
    size_t at = i_;
    char c = peek();
    switch (c) {
      case '(': {
        ++i_;
        if (!eof() && peek() == '?') {
          if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
            i_ += 2;
          } else if (p_.substr(i_, 2) == "?=" || p_.substr(i_, 2) == "?!") {
            fail("lookahead is not supported", at);
          } else if (p_.substr(i_, 3) == "?<=" || p_.substr(i_, 3) == "?<!") {
            fail("lookbehind is not supported", at);
          } else if (p_.substr(i_, 2) == "?<" || p_.substr(i_, 2) == "?P" ||
                     p_.substr(i_, 2) == "?'") {
            fail("named groups are not supported", at);
          } else {
            fail("inline flags and other (?...) groups are not supported", at);
          }
        }
        Expr inner = parse_alt(depth + 1);
        if (eof() || peek() != ')') fail("missing ')' for the group opened", at);
        ++i_;
        return inner;
      }
      case '[':
        return utf8_expr(parse_class());
      case '.':
        ++i_;
        return utf8_expr(complement({{'\n', '\n'}}));
      case '*':
      case '+':
      case '?':
        fail("nothing to repeat", at);
      case '\\':
        return utf8_expr(parse_escape(false));
      default: {
        uint32_t cp;
        if (!decode_utf8(p_, i_, cp)) fail("invalid UTF-8", at);
        return utf8_expr({{cp, cp}});
      }
    }
  }

  uint32_t hex(size_t digits, size_t at) {
    if (i_ + digits > p_.size()) fail("truncated hex escape", at);
    uint32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      char h = p_[i_++];
      int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
              : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
      if (d < 0) fail("invalid hex digit in escape", at);
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return v;
  }

  // After a backslash. Returns the set the escape stands for.
  CpSet parse_escape(bool in_class) {
    size_t at = i_;
    ++i_;
    if (eof()) fail("pattern ends with a backslash", at);
    char c = p_[i_++];
    auto one = [](uint32_t cp) { return CpSet{{cp, cp}}; };
    switch (c) {
      case 'd': return digit_set();
      case 'D': return complement(digit_set());
      case 'w': return word_set();
      case 'W': return complement(word_set());
      case 's': return space_set();
      case 'S': return complement(space_set());
      case 'n': return one('\n');
      case 't': return one('\t');
      case 'r': return one('\r');
      case 'f': return one('\f');
      case 'v': return one('\v');
      case '0': return one(0);
      case 'a': return one(7);
      case 'e': return one(0x1B);
      case 'x': {
        if (!eof() && peek() == '{') {
          ++i_;
          size_t s = i_;
          while (!eof() && peek() != '}') ++i_;
          if (eof()) fail("unterminated \\x{...} escape", at);
          size_t e = i_;
          i_ = s;
          uint32_t v = hex(e - s, at);
          ++i_;
          if (v > kMaxCodePoint) fail("code point out of range", at);
          return one(v);
        }
        return one(hex(2, at));
      }
      case 'u': {
        uint32_t v = hex(4, at);
        return one(v);
      }
      case 'U': return one(hex(8, at));
      case 'b':
        if (in_class) return one(8);
        fail("word boundary \\b is not supported", at);
      case 'B': fail("word boundary \\B is not supported", at);
      case 'A':
      case 'z':
      case 'Z':
      case 'G': fail(fmt::format("anchor \\{} is not supported", c), at);
      case 'p':
      case 'P': fail("Unicode property classes \\p{...} are not supported", at);
      case 'k': fail("backreferences are not supported", at);
      default:
        break;
    }
    if (c >= '1' && c <= '9') fail("backreferences are not supported", at);
    if (static_cast<unsigned char>(c) >= 0x80 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
    {
      // An escaped punctuation or other non-letter stands for itself.
      --i_;
      uint32_t cp;
      if (!decode_utf8(p_, i_, cp)) fail("invalid UTF-8", at);
      return one(cp);
    }
    fail(fmt::format("unknown escape \\{}", c), at);
  }

  CpSet parse_class() {
    size_t at = i_;
    ++i_;
    bool negate = false;
    if (!eof() && peek() == '^') {
      negate = true;
      ++i_;
    }
    if (p_.substr(i_, 2) == "[:") fail("POSIX classes [[:...:]] are not supported", i_);
    CpSet set;
    bool first = true;
    for (;;) {
      if (eof()) fail("missing ']' for the class opened", at);
      char c = peek();
      if (c == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      size_t item_at = i_;
      CpSet lo_set;
      if (c == '\\') {
        lo_set = parse_escape(true);
      } else if (c == '[' && p_.substr(i_, 2) == "[:") {
        fail("POSIX classes [[:...:]] are not supported", i_);
      } else {
        uint32_t cp;
        if (!decode_utf8(p_, i_, cp)) fail("invalid UTF-8", item_at);
        lo_set = {{cp, cp}};
      }
      // A range a-b (a '-' before ']' is literal).
      if (i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        if (lo_set.size() != 1 || lo_set[0].lo != lo_set[0].hi)
          fail("a class escape cannot start a range", item_at);
        ++i_;
        CpSet hi_set;
        if (peek() == '\\') {
          hi_set = parse_escape(true);
        } else {
          uint32_t cp;
          size_t hat = i_;
          if (!decode_utf8(p_, i_, cp)) fail("invalid UTF-8", hat);
          hi_set = {{cp, cp}};
        }
        if (hi_set.size() != 1 || hi_set[0].lo != hi_set[0].hi)
          fail("a class escape cannot end a range", item_at);
        if (hi_set[0].lo < lo_set[0].lo) fail("class range out of order", item_at);
        set.push_back({lo_set[0].lo, hi_set[0].lo});
      } else {
        set.insert(set.end(), lo_set.begin(), lo_set.end());
      }
    }
    set = normalize(std::move(set));
    return negate ? complement(set) : set;
  }

  std::string_view p_;
  uint32_t max_repeat_;
  size_t i_ = 0;
  bool anchored_end_ = false;
};

}  // namespace

ParsedRegex parse_regex(std::string_view pattern, uint32_t max_repeat) {
  return Parser(pattern, max_repeat).run();
}

}  // namespace sgl::grammar
