// EBNF (GBNF / SGLang dialect): parsing, generation of arithmetic expressions, JSON and
// balanced parentheses checked by independent checkers, and clear errors with positions.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/grammar/ebnf.hpp"
#include "core/grammar/grammar_matcher.hpp"
#include "sgl/error.hpp"
#include "unit/grammar_test_walk.hpp"

using namespace sgl::grammar;

namespace {

// Independent recursive-descent checker for  e := t (('+'|'-') t)*, t := f (('*'|'/') f)*,
// f := digits | '(' e ')'.
struct Arith {
  const std::string& s;
  size_t i = 0;
  bool num() {
    size_t st = i;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > st;
  }
  bool f() {
    if (i < s.size() && s[i] == '(') {
      ++i;
      if (!e() || i >= s.size() || s[i] != ')') return false;
      ++i;
      return true;
    }
    return num();
  }
  bool t() {
    if (!f()) return false;
    while (i < s.size() && (s[i] == '*' || s[i] == '/')) {
      ++i;
      if (!f()) return false;
    }
    return true;
  }
  bool e() {
    if (!t()) return false;
    while (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
      if (!t()) return false;
    }
    return true;
  }
};
bool arith_ok(const std::string& s) {
  Arith a{s};
  return a.e() && a.i == s.size();
}
bool balanced(const std::string& s) {
  int d = 0;
  for (char c : s) {
    if (c == '(') ++d;
    else if (c == ')') { if (--d < 0) return false; }
    else return false;
  }
  return d == 0;
}

const char* kArith = R"G(
# arithmetic expressions
root   ::= expr
expr   ::= term (("+" | "-") term)*
term   ::= factor (("*" | "/") factor)*
factor ::= number | "(" expr ")"
number ::= [0-9]+
)G";

const char* kJson = R"G(
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null")
object ::= "{" ( string ":" value ("," string ":" value)* )? "}"
array  ::= "[" ( value ("," value)* )? "]"
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\""
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,2})?
)G";

const char* kParens = "root ::= ( \"(\" root \")\" root )?";

void expect_error(const std::string& src, const std::string& what, sgl::Status code, int64_t offset) {
  try {
    ebnf_to_grammar(src);
    FAIL_CHECK("accepted: " << src);
  } catch (const sgl::Error& e) {
    CHECK_MESSAGE(e.code() == code, e.what());
    CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
    if (offset >= 0) CHECK_MESSAGE(e.offset() == offset, e.what());
  }
}

template <class Check>
void generate(const char* grammar, Check ok, int min_done) {
  Vocab v = sgl::test::synthetic_vocab();
  auto cg = compile_grammar(GrammarKind::kEbnf, grammar, v);
  int done = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    GrammarMatcher m(cg);
    auto r = sgl::test::random_walk(m, v, seed, 200);
    if (!r.completed) continue;
    ++done;
    CHECK_MESSAGE(ok(r.text), "invalid output: " << r.text);
  }
  CHECK(done >= min_done);
}

}  // namespace

TEST_CASE("ebnf: generations are valid (arithmetic, JSON, balanced parentheses)") {
  generate(kArith, arith_ok, 6);
  generate(kJson, [](const std::string& s) {
    try {
      return nlohmann::json::parse(s).is_object();
    } catch (...) {
      return false;
    }
  }, 6);
  generate(kParens, balanced, 6);
}

TEST_CASE("ebnf: syntax accepted by the matcher") {
  Vocab v = sgl::test::synthetic_vocab();
  auto accepts = [&](const char* g, const std::string& s) {
    GrammarMatcher m(compile_grammar(GrammarKind::kEbnf, g, v));
    return m.accept_bytes(s) && m.can_terminate();
  };
  CHECK(accepts(kArith, "(1+2)*30-4/5"));
  CHECK_FALSE(accepts(kArith, "1+"));
  CHECK(accepts(kJson, R"({"a":[1,2.5e3,{"b":null}],"c":"x\n\u00e9"})"));
  CHECK_FALSE(accepts(kJson, R"({"a":})"));
  CHECK(accepts(kParens, "(()())()"));
  CHECK_FALSE(accepts(kParens, "(()"));
  CHECK(accepts("root ::= 'héllo' [α-ω]{2} \"\\x41\\u00e9\"", "hélloλμAé"));
  CHECK(accepts("root ::= [^a-z]+ .", "AB9ж"));
  CHECK(accepts("root = \"a\" b\nb = \"b\"", "ab"));  // `=` also defines
  CHECK(accepts("root ::= x{2,3} y{2,}\nx ::= \"x\"\ny ::= \"y\"", "xxxyyyy"));
  CHECK_FALSE(accepts("root ::= x{2,3}\nx ::= \"x\"", "xxxx"));
}

TEST_CASE("ebnf: errors with positions") {
  expect_error("root ::= foo", "undefined rule 'foo'", sgl::Status::kParseError, 9);
  expect_error("root ::= \"a\"\nroot ::= \"b\"", "defined twice", sgl::Status::kParseError, 13);
  expect_error("start ::= \"a\"", "no 'root' rule", sgl::Status::kParseError, -1);
  expect_error("root ::= \"abc", "unterminated string", sgl::Status::kParseError, 9);
  expect_error("root ::= [abc", "missing ']'", sgl::Status::kParseError, 9);
  expect_error("root ::= (\"a\"", "missing ')'", sgl::Status::kParseError, 9);
  expect_error("root ::= \"a\" )", "unbalanced ')'", sgl::Status::kParseError, 13);
  expect_error("root ::= \"\\q\"", "unknown escape", sgl::Status::kParseError, 10);
  expect_error("root \"a\"", "expected '::='", sgl::Status::kParseError, 5);
  expect_error("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"", "left recursion", sgl::Status::kInvalidArgument, -1);
  expect_error("root ::= a\na ::= b? a \"x\" | \"y\"\nb ::= \"b\"", "left recursion", sgl::Status::kInvalidArgument, -1);
  expect_error("root ::= (\"a\"?)*", "left recursion", sgl::Status::kInvalidArgument, -1);
  expect_error("root ::= \"a\"{5,2}", "m > n", sgl::Status::kParseError, 12);
  expect_error("root ::= \"a\" (= \"b\")", "lookahead", sgl::Status::kParseError, 13);
}

TEST_CASE("ebnf: the stack depth bound gives a clear error and leaves the state unchanged") {
  Vocab v = sgl::test::synthetic_vocab();
  GrammarOptions opt;
  opt.max_stack_depth = 16;
  GrammarMatcher m(compile_grammar(GrammarKind::kEbnf, kParens, v, opt));
  CHECK(m.accept_bytes("(((("));
  try {
    m.accept_bytes(std::string(40, '('));
    FAIL_CHECK("depth bound not enforced");
  } catch (const sgl::Error& e) {
    CHECK(e.code() == sgl::Status::kOutOfMemory);
    CHECK(std::string(e.what()).find("max_stack_depth") != std::string::npos);
  }
  CHECK(m.accept_bytes("))))"));
  CHECK(m.can_terminate());
}
